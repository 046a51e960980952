import { matmulInputs } from '../../src/kernels/matmul.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { type FreivaldsOutcome, freivaldsCheckF32 } from './freivalds-f32.ts';
import { WasmFreivaldsF32 } from './freivalds-wasm.ts';
import { cachedMatmulInputs } from './input-cache.ts';
import type { Verdict } from './verdict.ts';

/** Units of at least this many multiply-adds are checked on surge.wasm; smaller ones cost little either way. */
const kWasmFromOperations = 2 ** 24;

/** This thread's check on surge.wasm, made at its first large unit. */
let wasmCheck: WasmFreivaldsF32 | undefined;

/**
 * The validator for matmul-f32: Freivalds' check on the claimed block; it never recomputes the
 * product. A large seeded unit is checked on surge.wasm with its job's column projections and
 * row blocks kept between units (`WasmFreivaldsF32`, three trials); a small one, or one whose
 * inputs are data, regenerates or reads its inputs and runs `trials` trials in JavaScript.
 */
export async function validateMatmulF32(params: MatmulParams, output: Uint8Array, trials: number, random: () => number): Promise<Verdict> {
  const { m, n, k } = params;
  if (!params.inputs && m * n * k >= kWasmFromOperations) {
    wasmCheck ??= new WasmFreivaldsF32();
    return verdictOf(wasmCheck.check(params, output, random));
  }
  const c = new Float32Array(output.buffer.slice(output.byteOffset, output.byteOffset + output.byteLength));
  const { a, b } = params.inputs ? await matmulInputs(params, 'f32') : cachedMatmulInputs(params, 'f32');
  return verdictOf(freivaldsCheckF32(a, b, c, { m, n, k }, trials, random));
}

function verdictOf(outcome: FreivaldsOutcome): Verdict {
  return outcome.valid ? { valid: true } : { valid: false, reason: `Freivalds' check failed at row ${outcome.failedRow} of the block` };
}
