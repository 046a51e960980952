import { matmulInputs } from '../../src/kernels/matmul.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { cachedMatmulInputs } from './input-cache.ts';
import type { Verdict } from './verdict.ts';

/**
 * Exact Freivalds' check mod 2³² for matmul-u32: A·(B·r) ≡ C·r for random r. Over the ring
 * ℤ/2³² a nonzero error e survives one trial only if e·r_j cancels, which happens with
 * probability at most 1/2 (when e = 2³¹), so `trials` trials miss a wrong result with
 * probability at most 2^−trials; each costs O(mk + kn + mn).
 */
export async function validateMatmulU32(params: MatmulParams, output: Uint8Array, trials: number, random: () => number): Promise<Verdict> {
  const { m, n, k } = params;
  const { a, b } = params.inputs ? await matmulInputs(params, 'u32') : cachedMatmulInputs(params, 'u32');
  const c = new Uint32Array(output.buffer.slice(output.byteOffset, output.byteOffset + output.byteLength));
  const r = new Uint32Array(n);
  const br = new Uint32Array(k);
  for (let trial = 0; trial < trials; trial++) {
    for (let j = 0; j < n; j++) r[j] = Math.floor(random() * 2 ** 32);
    for (let p = 0; p < k; p++) {
      let sum = 0;
      for (let j = 0; j < n; j++) sum = (sum + Math.imul(b[p * n + j]!, r[j]!)) | 0;
      br[p] = sum;
    }
    for (let i = 0; i < m; i++) {
      let expected = 0;
      for (let p = 0; p < k; p++) expected = (expected + Math.imul(a[i * k + p]!, br[p]!)) | 0;
      let claimed = 0;
      for (let j = 0; j < n; j++) claimed = (claimed + Math.imul(c[i * n + j]!, r[j]!)) | 0;
      if (expected !== claimed) return { valid: false, reason: `exact Freivalds' check failed at row ${i} of the block` };
    }
  }
  return { valid: true };
}
