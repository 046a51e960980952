import { f32DotErrorFactor } from '../../src/kernels/matmul-f32.ts';

/**
 * The largest ratio, over all elements, of a backend's error against the f64 reference to
 * the worst-case f32 bound γ_k·Σ|a||b| (≤ 1 means every element is as right as f32 allows).
 */
export function worstErrorRatio(a: Float32Array, b: Float32Array, c: Float32Array, reference: Float64Array, m: number, n: number, k: number): number {
  const gamma = f32DotErrorFactor(k + 1);
  let worst = 0;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let scale = 0;
      for (let p = 0; p < k; p++) scale += Math.abs(a[i * k + p]! * b[p * n + j]!);
      const error = Math.abs(c[i * n + j]! - reference[i * n + j]!);
      const ratio = error / (gamma * scale + Number.MIN_VALUE);
      if (!(ratio <= worst)) worst = ratio;
    }
  }
  return worst;
}
