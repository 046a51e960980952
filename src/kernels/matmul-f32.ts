import type { MatmulParams } from '../protocol/schemas.ts';
import type { KernelDefinition } from './kernel.ts';
import { matmulPlan } from './matmul.ts';

/** matmul-f32: a block of an f32 matrix product; validated with Freivalds' check and a tolerance. */
export const matmulF32: KernelDefinition<MatmulParams> = { name: 'matmul-f32', version: 1, plan: matmulPlan, outputBytes: ({ m, n }) => m * n * 4 };

/**
 * The reference product in f64, for tests and benchmarks: plain, obviously right, slow.
 * Returns C in f64 so tests can measure a backend's rounding error against it.
 */
export function matmulF32Reference(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) c[i * n + j]! += aip * b[p * n + j]!;
    }
  }
  return c;
}

/**
 * The worst-case rounding error of an f32 dot product of length k, as a factor of
 * Σ|a||b|: γ_k = k·u / (1 − k·u) with u = 2⁻²⁴ (Higham, "Accuracy and Stability of
 * Numerical Algorithms", §3.1). It holds for any summation order and with or without fused
 * multiply-add. Doubled for margin.
 */
export function f32DotErrorFactor(k: number): number {
  const ku = k * 2 ** -24;
  return (2 * ku) / (1 - ku);
}
