import type { MatmulParams } from '../protocol/schemas.ts';
import type { KernelDefinition } from './kernel.ts';
import { matmulPlan } from './matmul.ts';

/** matmul-u32: a block of a wrapping (mod 2³²) integer product; the same bytes on every backend. */
export const matmulU32: KernelDefinition<MatmulParams> = { name: 'matmul-u32', version: 1, plan: matmulPlan, outputBytes: ({ m, n }) => m * n * 4 };

/** The reference product mod 2³², for tests, benchmarks and known answers. */
export function matmulU32Reference(a: Uint32Array, b: Uint32Array, m: number, n: number, k: number): Uint32Array {
  const c = new Uint32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) c[i * n + j] = (c[i * n + j]! + Math.imul(aip, b[p * n + j]!)) >>> 0;
    }
  }
  return c;
}
