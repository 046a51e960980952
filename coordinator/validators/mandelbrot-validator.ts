import { assertMandelbrotFits, escapeCount } from '../../src/kernels/mandelbrot.ts';
import type { MandelbrotParams } from '../../src/protocol/schemas.ts';
import type { Verdict } from './verdict.ts';

/** At least this many pixels are recomputed, however cheap the unit. */
export const kMinSamplePixels = 8;
/** The sample's recomputation costs at most this share of the unit's claimed work... */
export const kSampleShare = 0.02;
/**
 * ...or this many iterations when that is more (about 50 ms of BigInt), so that a small
 * unit is checked in full.
 */
export const kMinSampleIterations = 100_000;

/**
 * Spot-checks a mandelbrot output: every count must lie in [1, maxIterations], then a
 * random sample of pixels is recomputed with the BigInt reference and must match exactly
 * (the arithmetic is exact, so an honest backend never differs).
 *
 * The sample is drawn until its cost reaches 2% of the unit's claimed work (the sum of the
 * counts, which the range check bounds by the unit's plan), with at least 8 pixels and at
 * least 100 000 iterations, so that a small unit is checked in full. A pixel's recomputation
 * stops one iteration past its claimed count, which is enough to refute it, so a lying
 * client cannot make the check expensive. An output with a fraction f of wrong pixels
 * passes a sample of s pixels with probability about (1 − f)^s: this catches made-up
 * output, not a single wrong pixel in a large unit.
 */
export function validateMandelbrot(params: MandelbrotParams, output: Uint8Array, random: () => number): Verdict {
  const { width, height, maxIterations } = params;
  const pixels = width * height;
  if (output.byteLength !== pixels * 4) {
    return { valid: false, reason: `the output has ${output.byteLength} bytes; a ${width}×${height} tile has ${pixels * 4}` };
  }
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength);
  const count = (p: number) => view.getUint32(p * 4, true);
  let claimedWork = 0;
  for (let p = 0; p < pixels; p++) {
    const c = count(p);
    if (c < 1 || c > maxIterations)
      return { valid: false, reason: `pixel (${p % width}, ${Math.floor(p / width)}) has count ${c}, outside [1, ${maxIterations}]` };
    claimedWork += c;
  }
  const tile = assertMandelbrotFits(params);
  const budget = Math.max(kSampleShare * claimedWork, kMinSampleIterations);
  // A partial Fisher–Yates shuffle of the pixel indices, kept sparse: distinct pixels, in
  // O(sample) memory, whatever `random` returns.
  const moved = new Map<number, number>();
  let spent = 0;
  for (let k = 0; k < pixels && (k < kMinSamplePixels || spent < budget); k++) {
    const r = k + Math.min(pixels - k - 1, Math.floor(random() * (pixels - k)));
    const p = moved.get(r) ?? r;
    moved.set(r, moved.get(k) ?? k);
    const i = p % width;
    const j = Math.floor(p / width);
    const claimed = count(p);
    // One iteration past the claim settles it either way.
    const actual = escapeCount(tile.x0 + BigInt(i) * tile.step, tile.y0 + BigInt(j) * tile.step, Math.min(maxIterations, claimed + 1));
    spent += actual;
    if (actual !== claimed) {
      return {
        valid: false,
        reason: `pixel (${i}, ${j}) has count ${claimed}; the reference gives ${actual > claimed && actual < maxIterations ? 'at least ' : ''}${actual}`,
      };
    }
  }
  return { valid: true };
}
