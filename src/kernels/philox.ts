/**
 * Philox-4x32-10, the counter-based generator of Salmon et al., "Parallel random numbers:
 * as easy as 1, 2, 3" (SC'11), as in Random123. A value is a pure function of a 64-bit key
 * and a 128-bit counter, so a work unit travels as a seed, and a validator can recompute
 * any element without generating the ones before it.
 */

const kMul0 = 0xd2511f53;
const kMul1 = 0xcd9e8d57;
const kWeyl0 = 0x9e3779b9;
const kWeyl1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (the low half is `Math.imul`). */
function mulhi(a: number, b: number): number {
  // Split both in 16-bit halves so each partial product is exact in a double.
  const aHi = a >>> 16;
  const aLo = a & 0xffff;
  const bHi = b >>> 16;
  const bLo = b & 0xffff;
  const mid1 = aHi * bLo;
  const mid2 = aLo * bHi;
  const carry = ((aLo * bLo) >>> 16) + (mid1 & 0xffff) + (mid2 & 0xffff);
  return (aHi * bHi + (mid1 >>> 16) + (mid2 >>> 16) + (carry >>> 16)) >>> 0;
}

/**
 * One Philox-4x32-10 block. Writes four u32 into `out` (default: a fresh array).
 *
 * @example philox4x32(0, 0, [0, 0, 0, 0]) // [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
 */
export function philox4x32(key0: number, key1: number, counter: ArrayLike<number>, out: Uint32Array = new Uint32Array(4)): Uint32Array {
  let c0 = counter[0]! >>> 0;
  let c1 = counter[1]! >>> 0;
  let c2 = counter[2]! >>> 0;
  let c3 = counter[3]! >>> 0;
  let k0 = key0 >>> 0;
  let k1 = key1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulhi(kMul0, c0);
    const lo0 = Math.imul(kMul0, c0) >>> 0;
    const hi1 = mulhi(kMul1, c2);
    const lo1 = Math.imul(kMul1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
    k0 = (k0 + kWeyl0) >>> 0;
    k1 = (k1 + kWeyl1) >>> 0;
  }
  out[0] = c0;
  out[1] = c1;
  out[2] = c2;
  out[3] = c3;
  return out;
}

/**
 * Maps a u32 to an f32 in [-1, 1) with 24 random bits. Every result is exactly
 * representable in f32, so all languages and devices agree on it bit for bit.
 */
export function u32ToUnitF32(x: number): number {
  return (x >>> 8) * 2 ** -23 - 1;
}

/** Splits a `0x`-prefixed 64-bit hex seed into the two u32 words of a Philox key. */
export function seedToKey(seed: string): [key0: number, key1: number] {
  const value = BigInt(seed);
  return [Number(value & 0xffff_ffffn), Number((value >> 32n) & 0xffff_ffffn)];
}
