import { randomFillSync } from 'node:crypto';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul-f32.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { freivaldsCheckF32 } from './freivalds-f32.ts';

export type Verdict = { valid: true } | { valid: false; reason: string };

/** Uniforms in [0, 1) from the operating system's randomness, which clients cannot predict. */
function secureUniforms(): () => number {
  const words = new Uint32Array(1024);
  let next = words.length;
  return () => {
    if (next === words.length) {
      randomFillSync(words);
      next = 0;
    }
    return words[next++]! / 2 ** 32;
  };
}

/**
 * The validator for matmul-f32: regenerates the unit's inputs from its seed (O(mk + kn))
 * and runs Freivalds' check on the claimed block; it never recomputes the product.
 */
export function validateMatmulF32(params: MatmulParams, output: Uint8Array, trials: number): Verdict {
  const { m, n, k } = params;
  if (output.byteLength !== m * n * 4) {
    return { valid: false, reason: `the output has ${output.byteLength} bytes; a ${m}×${n} f32 block has ${m * n * 4}` };
  }
  const c = new Float32Array(output.buffer.slice(output.byteOffset, output.byteOffset + output.byteLength));
  const outcome = freivaldsCheckF32(matmulInputA(params), matmulInputB(params), c, { m, n, k }, trials, secureUniforms());
  return outcome.valid ? { valid: true } : { valid: false, reason: `Freivalds' check failed at row ${outcome.failedRow} of the block` };
}
