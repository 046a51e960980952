import { basePrimes, primesSieveLimit, residue } from '../../src/kernels/primes.ts';

/** The sieve's window, kept between calls and grown to the largest block asked for (at most 2²³ + 2 bytes). */
let window = new Uint8Array(1 << 11);

/**
 * The primes in [start, end) and the twins among them (p with p + 2 also prime), as the
 * primes output counts one block; the same counts as `primesReference(params, block, 1)`,
 * for a validator that recomputes sampled blocks.
 *
 * The reference is kept plain, a byte for every number; this sieves odd numbers only: half
 * the window to clear, cross and count. A block of 1,024 numbers near 10⁹ (the coordinator
 * benchmark's unit, checked whole) took 44 µs instead of 70 on this project's 2-core VM. For
 * such a block the cost is one residue per base prime up to √end, which both pay: branches
 * on the parity of a multiple mispredict half the time and cost more than the division, so
 * the odd multiple is found with arithmetic instead.
 */
export function countPrimesBlock(start: number, end: number): { primes: number; twins: number } {
  const base = basePrimes(primesSieveLimit(end));
  // Odd numbers from the first at or after start, through end + 1 (the partner of end − 1):
  // index k stands for firstOdd + 2k.
  const firstOdd = start % 2 === 1 ? start : start + 1;
  const size = Math.floor((end + 1 - firstOdd) / 2) + 1;
  if (window.length < size) window = new Uint8Array(size);
  const composite = window.subarray(0, size);
  composite.fill(0);
  // Base prime 2 is left out: no odd number is a multiple of it.
  for (let i = 1; i < base.length; i++) {
    const p = base[i]!;
    if (p * p > end + 1) break;
    let k: number;
    if (p * p >= firstOdd) {
      // p² is odd: the first multiple to cross, so a base prime in the window stays prime.
      k = (p * p - firstOdd) / 2;
    } else {
      // The first multiple of p at or after firstOdd is firstOdd + d; when d is odd that
      // multiple is even, and the next one, d + p, is the odd one.
      const r = residue(firstOdd, p);
      let d = r === 0 ? 0 : p - r;
      d += p * (d & 1);
      k = d >> 1;
    }
    for (; k < size; k += p) composite[k] = 1;
  }
  if (firstOdd === 1) composite[0] = 1;
  // Odd numbers below end are the block's; 2 is its only even prime.
  const inBlock = Math.max(0, Math.floor((end - 1 - firstOdd) / 2) + 1);
  let primes = start <= 2 && end > 2 ? 1 : 0;
  let twins = 0;
  for (let k = 0; k < inBlock; k++) {
    if (composite[k] !== 0) continue;
    primes++;
    if (composite[k + 1] === 0) twins++;
  }
  return { primes, twins };
}
