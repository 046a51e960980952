// mandelbrot: escape counts in exact Q4.92 fixed point, following the definition in
// src/kernels/fixed-point.ts bit for bit (the BigInt reference is src/kernels/mandelbrot.ts).
//
// A number here is its raw value (value × 2⁹²) as a 128-bit two's-complement integer in two
// u64 locals, lo (bits 0..63) and hi (bits 64..127). That is the definition's sign and
// 96-bit magnitude with room to spare (every intermediate is below 16 = 2⁹⁶ raw), and it
// makes addition an add with a carry. Products are taken of the magnitudes, 32 bits at a
// time in u64, and the sign applied afterwards, which truncates toward zero as the
// definition says. Everything stays in scalar locals: a v128 used as a pair of u64 measured
// half as fast in V8, for the lane moves.

/** The high words (bits 64..127) of 2 = 2⁹³ and 4 = 2⁹⁴ in raw units. */
const kTwoHigh: u64 = 1 << 29;
const kFourHigh: u64 = 1 << 30;
const kLow32: u64 = 0xffff_ffff;

// The high word of the last product, the second result of `mulShift92` (AssemblyScript has
// no multi-value returns). Read it right after the call.
let productHigh: u64 = 0;

/**
 * floor(a·b / 2⁹²) for magnitudes a, b < 2⁹⁶ given as (lo, hi) words: the exact 192-bit
 * product, column by column of 32-bit limbs (each partial product < 2⁶⁴; a column's low
 * halves are summed with the carry and its high halves go into the next carry, so no sum
 * overflows u64), then its bits 92..191. Returns the low word; the high word is in
 * `productHigh`.
 */
@inline
function mulShift92(alo: u64, ahi: u64, blo: u64, bhi: u64): u64 {
  const a0 = alo & kLow32;
  const a1 = alo >> 32;
  const b0 = blo & kLow32;
  const b1 = blo >> 32;
  // Column 0 (bits 0..31): only its carry matters.
  let carry = (a0 * b0) >> 32;
  // Column 1.
  let t = a0 * b1;
  let u = a1 * b0;
  let sum = carry + (t & kLow32) + (u & kLow32);
  carry = (sum >> 32) + (t >> 32) + (u >> 32);
  // Column 2 (bits 64..95).
  t = a0 * bhi;
  u = a1 * b1;
  const v = ahi * b0;
  sum = carry + (t & kLow32) + (u & kLow32) + (v & kLow32);
  const r2 = sum & kLow32;
  carry = (sum >> 32) + (t >> 32) + (u >> 32) + (v >> 32);
  // Column 3.
  t = a1 * bhi;
  u = ahi * b1;
  sum = carry + (t & kLow32) + (u & kLow32);
  const r3 = sum & kLow32;
  carry = (sum >> 32) + (t >> 32) + (u >> 32);
  // Columns 4 and 5.
  t = ahi * bhi;
  sum = carry + (t & kLow32);
  const r4 = sum & kLow32;
  const r5 = (sum >> 32) + (t >> 32);
  productHigh = (r4 >> 28) | (r5 << 4);
  return (r2 >> 28) | (r3 << 4) | (r4 << 36);
}

/** The high word of −(lo, hi); the low word is 0 − lo. */
@inline
function negateHigh(lo: u64, hi: u64): u64 {
  return ~hi + u64(lo == 0);
}

/** (lo, hi) > limitHigh · 2⁶⁴, for a non-negative (lo, hi). */
@inline
function above(lo: u64, hi: u64, limitHigh: u64): bool {
  return hi > limitHigh || (hi == limitHigh && lo != 0);
}

// The run's state block, which the host allocates (`mandelbrotStateBytes`) and zeroes, and
// sets `pixel` in when it resumes from a checkpoint: the next unfinished pixel, its count so
// far, and its x and y as (lo, hi).
const kStatePixel = 0;
const kStateIterations = 4;
const kStateX = 16;
const kStateY = 32;

/** The size of `mandelbrotRun`'s state block. */
export function mandelbrotStateBytes(): u32 {
  return 48;
}

/**
 * Runs the tile's pixels in row-major order, from the state block's pixel up to `end`, for
 * about `budget` units of work (one per iteration and one per pixel), and writes each
 * finished pixel's count to out[p]. A pixel left unfinished keeps its x, y and count in the
 * state block and the next call resumes it mid-orbit, so a pixel of a million iterations
 * holds the thread no longer than the budget. Returns the units of work done.
 *
 * coords: cx of each of the `width` columns, then cy of each row, 16 bytes each: three
 * magnitude limbs (little-endian u32), then 1 when negative.
 */
export function mandelbrotRun(coords: usize, width: u32, maxIterations: u32, out: usize, state: usize, end: u32, budget: u32): u32 {
  let p = load<u32>(state, kStatePixel);
  let i = load<u32>(state, kStateIterations);
  let xlo = load<u64>(state, kStateX);
  let xhi = load<u64>(state, kStateX + 8);
  let ylo = load<u64>(state, kStateY);
  let yhi = load<u64>(state, kStateY + 8);
  let used: u32 = 0;
  while (p < end && used < budget) {
    const row = p / width;
    const cxAt = coords + (<usize>(p - row * width) << 4);
    const cyAt = coords + (<usize>(width + row) << 4);
    let cxlo = load<u64>(cxAt);
    let cxhi = <u64>load<u32>(cxAt, 8);
    if (load<u32>(cxAt, 12) != 0) {
      cxhi = negateHigh(cxlo, cxhi);
      cxlo = 0 - cxlo;
    }
    let cylo = load<u64>(cyAt);
    let cyhi = <u64>load<u32>(cyAt, 8);
    if (load<u32>(cyAt, 12) != 0) {
      cyhi = negateHigh(cylo, cyhi);
      cylo = 0 - cylo;
    }
    const start = i;
    const limit = min(maxIterations, i + (budget - used));
    let escaped = false;
    while (i < limit) {
      const xNegative = <i64>xhi < 0;
      const yNegative = <i64>yhi < 0;
      const axlo = xNegative ? 0 - xlo : xlo;
      const axhi = xNegative ? negateHigh(xlo, xhi) : xhi;
      const aylo = yNegative ? 0 - ylo : ylo;
      const ayhi = yNegative ? negateHigh(ylo, yhi) : yhi;
      if (above(axlo, axhi, kTwoHigh) || above(aylo, ayhi, kTwoHigh)) {
        escaped = true;
        break;
      }
      const x2lo = mulShift92(axlo, axhi, axlo, axhi);
      const x2hi = productHigh;
      const y2lo = mulShift92(aylo, ayhi, aylo, ayhi);
      const y2hi = productHigh;
      const sumlo = x2lo + y2lo;
      if (above(sumlo, x2hi + y2hi + u64(sumlo < x2lo), kFourHigh)) {
        escaped = true;
        break;
      }
      let xylo = mulShift92(axlo, axhi, aylo, ayhi);
      let xyhi = productHigh;
      if (xNegative != yNegative) {
        xyhi = negateHigh(xylo, xyhi);
        xylo = 0 - xylo;
      }
      // x = x2 − y2 + cx
      const dlo = x2lo - y2lo;
      const dhi = x2hi - y2hi - u64(x2lo < y2lo);
      xlo = dlo + cxlo;
      xhi = dhi + cxhi + u64(xlo < dlo);
      // y = 2·xy + cy
      const tlo = xylo << 1;
      const thi = (xyhi << 1) | (xylo >> 63);
      ylo = tlo + cylo;
      yhi = thi + cyhi + u64(ylo < tlo);
      i++;
    }
    used += i - start + 1;
    if (!escaped && i < maxIterations) break;
    store<u32>(out + (<usize>p << 2), i);
    p++;
    i = 0;
    xlo = 0;
    xhi = 0;
    ylo = 0;
    yhi = 0;
  }
  store<u32>(state, p, kStatePixel);
  store<u32>(state, i, kStateIterations);
  store<u64>(state, xlo, kStateX);
  store<u64>(state, xhi, kStateX + 8);
  store<u64>(state, ylo, kStateY);
  store<u64>(state, yhi, kStateY + 8);
  return used;
}
