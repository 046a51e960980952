import { KernelError } from '../errors/kernel-error.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';
import { fixedMul, kOne, parseFixed, toLimbs } from './fixed-point.ts';
import type { KernelDefinition } from './kernel.ts';

/**
 * mandelbrot: the escape counts of a tile of a deep zoom, in the exact Q4.92 arithmetic of
 * fixed-point.ts, so every backend and device gives the same bytes. Output: width × height
 * u32 little-endian, row-major (row j, column i).
 */

/**
 * Word operations per iteration, for the work estimate: three 96 × 96-bit products of
 * 32-bit limbs (9 limb products and about 18 additions and shifts to gather the columns,
 * each), four 96-bit additions or subtractions (3 words each) and three comparisons.
 */
export const kMandelbrotOpsPerIteration = 100;

const kTwo = 2n * kOne;
const kFour = 4n * kOne;

/** The raw coordinates of a tile, parsed. */
export interface MandelbrotTile {
  x0: bigint;
  y0: bigint;
  step: bigint;
}

/**
 * Throws a KernelError naming the parameter when some pixel of the tile lies outside
 * [−4, 4]², where the arithmetic is no longer sure to fit 96 bits, or when step ≤ 0.
 * Returns the parsed coordinates.
 */
export function assertMandelbrotFits(params: MandelbrotParams): MandelbrotTile {
  const x0 = parseFixed(params.x0, 'x0');
  const y0 = parseFixed(params.y0, 'y0');
  const step = parseFixed(params.step, 'step');
  const outside = (value: bigint) => value > kFour || value < -kFour;
  const fail = (message: string) => {
    throw new KernelError('SURGE_E_KERNEL_BAD_PARAMS', `mandelbrot: ${message}`);
  };
  if (step <= 0n) fail(`step must be positive (it is ${params.step}).`);
  if (outside(x0)) fail('x0 must lie in [−4, 4].');
  if (outside(y0)) fail('y0 must lie in [−4, 4].');
  if (outside(x0 + BigInt(params.width - 1) * step)) fail('x0 + (width − 1)·step, the last column, must lie in [−4, 4].');
  if (outside(y0 + BigInt(params.height - 1) * step)) fail('y0 + (height − 1)·step, the last row, must lie in [−4, 4].');
  return { x0, y0, step };
}

export const mandelbrot: KernelDefinition<MandelbrotParams> = {
  name: 'mandelbrot',
  version: 1,
  /** An upper bound: every pixel running to maxIterations. */
  plan: ({ width, height, maxIterations }) => ({ operations: width * height * maxIterations * kMandelbrotOpsPerIteration, bytes: width * height * 4 }),
  outputBytes: ({ width, height }) => width * height * 4,
};

/**
 * The escape count of c = (cx, cy), line for line the definition in fixed-point.ts, with
 * `limit` in place of maxIterations. BigInt: slow and obviously right.
 */
export function escapeCount(cx: bigint, cy: bigint, limit: number): number {
  const abs = (v: bigint) => (v < 0n ? -v : v);
  let x = 0n;
  let y = 0n;
  let i = 0;
  while (i < limit) {
    if (abs(x) > kTwo || abs(y) > kTwo) break;
    const x2 = fixedMul(x, x);
    const y2 = fixedMul(y, y);
    if (x2 + y2 > kFour) break;
    const xy = fixedMul(x, y);
    x = x2 - y2 + cx;
    y = 2n * xy + cy;
    i++;
  }
  return i;
}

/** The escape count of pixel (i, j): column i, row j. */
export function mandelbrotPixel(params: MandelbrotParams, i: number, j: number, tile = assertMandelbrotFits(params)): number {
  return escapeCount(tile.x0 + BigInt(i) * tile.step, tile.y0 + BigInt(j) * tile.step, params.maxIterations);
}

/** The counts of pixels [firstPixel, firstPixel + pixelCount) in row-major order. */
export function mandelbrotReference(params: MandelbrotParams, firstPixel = 0, pixelCount = params.width * params.height - firstPixel): Uint32Array {
  const tile = assertMandelbrotFits(params);
  const out = new Uint32Array(pixelCount);
  for (let k = 0; k < pixelCount; k++) {
    const p = firstPixel + k;
    out[k] = mandelbrotPixel(params, p % params.width, Math.floor(p / params.width), tile);
  }
  return out;
}

/**
 * The coordinates the WASM and WGSL kernels read, computed here once and exactly: cx of
 * each column, then cy of each row, four u32 each (magnitude limbs little-endian, then 1
 * when negative).
 */
export function mandelbrotCoordinates(params: MandelbrotParams): Uint32Array {
  const { x0, y0, step } = assertMandelbrotFits(params);
  const { width, height } = params;
  const out = new Uint32Array((width + height) * 4);
  const put = (index: number, raw: bigint) => {
    const { limbs, negative } = toLimbs(raw);
    out.set([...limbs, negative ? 1 : 0], index * 4);
  };
  for (let i = 0; i < width; i++) put(i, x0 + BigInt(i) * step);
  for (let j = 0; j < height; j++) put(width + j, y0 + BigInt(j) * step);
  return out;
}

/**
 * A mandelbrot checkpoint: the number of finished pixels in row-major order (u32,
 * little-endian), then their counts. Every backend writes and reads it, so a unit started
 * on the GPU can resume on WASM.
 */
export function encodeMandelbrotCheckpoint(pixelsDone: number, counts: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + counts.byteLength);
  new DataView(bytes.buffer).setUint32(0, pixelsDone, true);
  bytes.set(counts, 4);
  return bytes;
}

/** Throws `SURGE_E_KERNEL_CHECKPOINT` when the bytes cannot be a checkpoint of this unit. */
export function decodeMandelbrotCheckpoint(bytes: Uint8Array, { width, height, maxIterations }: MandelbrotParams): { pixelsDone: number; counts: Uint8Array } {
  if (bytes.byteLength < 4) throw new KernelError('SURGE_E_KERNEL_CHECKPOINT', 'mandelbrot: the checkpoint is shorter than its header.');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const pixelsDone = view.getUint32(0, true);
  if (pixelsDone > width * height || bytes.byteLength !== 4 + pixelsDone * 4) {
    throw new KernelError(
      'SURGE_E_KERNEL_CHECKPOINT',
      `mandelbrot: the checkpoint claims ${pixelsDone} pixels but holds ${bytes.byteLength - 4} bytes for a tile of ${width}×${height}.`,
    );
  }
  for (let p = 0; p < pixelsDone; p++) {
    const count = view.getUint32(4 + p * 4, true);
    if (count < 1 || count > maxIterations) {
      throw new KernelError('SURGE_E_KERNEL_CHECKPOINT', `mandelbrot: the checkpoint's pixel ${p} has count ${count}, outside [1, ${maxIterations}].`);
    }
  }
  return { pixelsDone, counts: bytes.subarray(4, 4 + pixelsDone * 4) };
}
