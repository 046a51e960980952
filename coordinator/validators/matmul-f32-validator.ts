import { matmulInputs } from '../../src/kernels/matmul.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { freivaldsCheckF32 } from './freivalds-f32.ts';
import { cachedMatmulInputs } from './input-cache.ts';
import type { Verdict } from './verdict.ts';

/**
 * The validator for matmul-f32: regenerates the unit's inputs from its seed (O(mk + kn)),
 * or reads its data inputs, and runs Freivalds' check on the claimed block; it never
 * recomputes the product.
 */
export async function validateMatmulF32(params: MatmulParams, output: Uint8Array, trials: number, random: () => number): Promise<Verdict> {
  const { m, n, k } = params;
  const c = new Float32Array(output.buffer.slice(output.byteOffset, output.byteOffset + output.byteLength));
  const { a, b } = params.inputs ? await matmulInputs(params, 'f32') : cachedMatmulInputs(params, 'f32');
  const outcome = freivaldsCheckF32(a, b, c, { m, n, k }, trials, random);
  return outcome.valid ? { valid: true } : { valid: false, reason: `Freivalds' check failed at row ${outcome.failedRow} of the block` };
}
