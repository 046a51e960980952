import { KernelError } from '../errors/kernel-error.ts';
import type { PrimesParams } from '../protocol/schemas.ts';
import type { KernelDefinition, WorkEstimate } from './kernel.ts';

/**
 * primes: a PrimeGrid-style exact count over [lo, hi). The range is cut into blocks of
 * `blockSize` numbers (the last one shorter); for each block the unit reports two u32
 * (little-endian): the primes p in the block, and the twin primes, the p in the block with
 * p + 2 also prime (p + 2 may lie past the block or past hi). Per-block counts let the
 * coordinator validate a unit by recomputing a few sampled blocks.
 *
 * Every backend sieves with the same base primes, 2 ≤ p ≤ ⌊√(hi + 1)⌋: the largest number
 * whose primality a unit needs is hi + 1 (the partner of p = hi − 1), which is at most 2⁵³,
 * so the base primes stay below 2²⁷ (the WGSL kernel relies on that).
 */

/** The widest unit: 2³⁴ numbers, 10 to 40 s on one WASM core (0.5 to 1.5·10⁹ numbers/s, slower near 2⁵³). */
export const kMaxPrimesSpan = 2 ** 34;
/** At most 2²⁰ blocks, so the output is at most 8 MiB. */
export const kMaxPrimesBlocks = 2 ** 20;
/** Bytes per block in the output: primes, then twins, u32 little-endian. */
export const kPrimesBlockBytes = 8;

/** Mertens' constant M: Σ_{p ≤ x} 1/p = ln ln x + M + o(1) (Mertens' second theorem). */
const kMertens = 0.2614972128;

/** The number of blocks of a unit. */
export function primesBlockCount({ lo, hi, blockSize }: PrimesParams): number {
  return Math.ceil((hi - lo) / blockSize);
}

/** The numbers [start, end) of block `block`. */
export function primesBlockRange({ lo, hi, blockSize }: PrimesParams, block: number): { start: number; end: number } {
  const start = lo + block * blockSize;
  return { start, end: Math.min(hi, start + blockSize) };
}

/** The largest base prime a unit needs: ⌊√(hi + 1)⌋. */
export function primesSieveLimit(hi: number): number {
  // Math.sqrt is correctly rounded, but of hi + 1 rounded to a double; fix up exactly.
  let root = Math.floor(Math.sqrt(hi + 1));
  while (root * root > hi + 1) root--;
  while ((root + 1) * (root + 1) <= hi + 1) root++;
  return root;
}

/** Throws a KernelError that names the parameter when a unit is malformed or too large. */
export function assertPrimesFits(params: PrimesParams): void {
  const { lo, hi, blockSize } = params;
  const bad = (message: string) => new KernelError('SURGE_E_KERNEL_BAD_PARAMS', `primes: ${message}`);
  if (!Number.isSafeInteger(lo) || lo < 0) throw bad(`lo must be an integer in [0, 2^53 − 1), not ${lo}.`);
  if (!Number.isSafeInteger(hi) || hi <= lo) throw bad(`hi must be an integer above lo (${lo}) and at most 2^53 − 1, not ${hi}.`);
  if (!Number.isInteger(blockSize) || blockSize < 1024 || blockSize > 2 ** 24 || blockSize % 1024 !== 0) {
    throw bad(`blockSize must be a multiple of 1024 in [1024, 2^24], not ${blockSize}.`);
  }
  if (hi - lo > kMaxPrimesSpan) throw bad(`hi − lo is ${hi - lo}, over the limit of 2^34 numbers per unit.`);
  const blocks = primesBlockCount(params);
  if (blocks > kMaxPrimesBlocks) throw bad(`(hi − lo) / blockSize gives ${blocks} blocks, over the limit of 2^20; raise blockSize.`);
}

/**
 * The work of a unit, in the sieve's elementary steps: about Σ_{3 ≤ p ≤ √hi} (hi − lo)/(2p)
 * crossings of odd multiples (≈ (hi − lo)·(ln ln √hi + M − ½)/2 by Mertens' theorem), one
 * step per number to clear and count the bitmap, and the base sieve up to √hi.
 */
export function primesPlan(params: PrimesParams): WorkEstimate {
  const { lo, hi } = params;
  const root = primesSieveLimit(hi);
  const crossingsPerNumber = root >= 3 ? Math.max(0, 0.5 * (Math.log(Math.log(root)) + kMertens - 0.5)) : 0;
  const baseSieve = root * (1 + crossingsPerNumber);
  return { operations: Math.ceil((hi - lo) * (1 + crossingsPerNumber) + baseSieve), bytes: primesOutputBytes(params) };
}

function primesOutputBytes(params: PrimesParams): number {
  return primesBlockCount(params) * kPrimesBlockBytes;
}

export const primes: KernelDefinition<PrimesParams> = { name: 'primes', version: 1, plan: primesPlan, outputBytes: primesOutputBytes };

let cachedBasePrimes = new Uint32Array([2, 3, 5, 7]);
let cachedLimit = 10;

/**
 * All primes ≤ limit (limit < 2³²), by a segmented sieve of Eratosthenes over odd numbers.
 * The largest list made so far is kept, so the coordinator sieves √hi once, not per unit
 * (at most about 5.4 million primes, 22 MB, for hi near 2⁵³).
 */
export function basePrimes(limit: number): Uint32Array {
  if (limit <= cachedLimit) return cachedBasePrimes.subarray(0, countAtMost(cachedBasePrimes, limit));
  // Sieve a quarter further than asked: units come in increasing order, each needing a little
  // more than the last, and a validator that checks one block of each would otherwise sieve
  // the base primes again for every unit (a third of a small unit's whole cost).
  const wanted = limit;
  limit = Math.min(2 ** 32 - 1, Math.ceil(limit * 1.25));
  const small: number[] = [];
  const root = Math.floor(Math.sqrt(limit));
  const tiny = new Uint8Array(root + 1);
  for (let i = 3; i <= root; i += 2) {
    if (tiny[i]) continue;
    small.push(i);
    for (let j = i * i; j <= root; j += 2 * i) tiny[j] = 1;
  }
  // π(x) < 1.25506 x / ln x for x > 1 (Rosser and Schoenfeld, 1962).
  const out = new Uint32Array(Math.ceil((1.25506 * limit) / Math.log(Math.max(limit, 3))) + 4);
  let count = 0;
  if (limit >= 2) out[count++] = 2;
  // Odd numbers only: index i of a segment stands for start + 2i.
  const segment = new Uint8Array(1 << 16);
  for (let start = 3; start <= limit; start += 2 * segment.length) {
    const length = Math.min(segment.length, Math.floor((limit - start) / 2) + 1);
    segment.fill(0, 0, length);
    const end = start + 2 * length;
    for (const p of small) {
      if (p * p >= end) break;
      let first = Math.max(p * p, start + ((p - (start % p)) % p));
      if (first % 2 === 0) first += p;
      for (let j = (first - start) / 2; j < length; j += p) segment[j] = 1;
    }
    for (let i = 0; i < length; i++) if (!segment[i]) out[count++] = start + 2 * i;
  }
  cachedBasePrimes = out.slice(0, count);
  cachedLimit = limit;
  return cachedBasePrimes.subarray(0, countAtMost(cachedBasePrimes, wanted));
}

/** The number of entries ≤ limit in a sorted list (the index of the first one above). */
export function countAtMost(list: Uint32Array, limit: number): number {
  let low = 0;
  let high = list.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (list[mid]! <= limit) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Counts primes and twins in blocks [firstBlock, firstBlock + blockCount) of a unit, in the
 * output format. Plain and obviously right, to check the backends against and as the
 * benchmark baseline: each block is a window [start, end + 2) of bytes, one per number,
 * whose multiples of every base prime p from max(p², first multiple in the window) are
 * crossed out. All arithmetic is on offsets within the window, so Numbers stay exact up
 * to 2⁵³.
 */
export function primesReference(params: PrimesParams, firstBlock = 0, blockCount = primesBlockCount(params) - firstBlock): Uint8Array {
  assertPrimesFits(params);
  const out = new Uint8Array(blockCount * kPrimesBlockBytes);
  const view = new DataView(out.buffer);
  const base = basePrimes(primesSieveLimit(params.hi));
  const window = new Uint8Array(params.blockSize + 2);
  for (let b = 0; b < blockCount; b++) {
    const { start, end } = primesBlockRange(params, firstBlock + b);
    // The window holds start … end + 1: the partner of p = end − 1 is end + 1 ≤ 2⁵³.
    const length = end - start + 2;
    const composite = window.subarray(0, length);
    composite.fill(0);
    for (let i = 0; i < base.length; i++) {
      const p = base[i]!;
      if (p * p > end + 1) break;
      for (let j = p * p >= start ? p * p - start : firstMultipleOffset(start, p); j < length; j += p) composite[j] = 1;
    }
    const isPrime = (j: number) => start + j >= 2 && composite[j] === 0;
    let primeCount = 0;
    let twinCount = 0;
    for (let j = 0; j < end - start; j++) {
      if (!isPrime(j)) continue;
      primeCount++;
      if (isPrime(j + 2)) twinCount++;
    }
    view.setUint32(b * kPrimesBlockBytes, primeCount, true);
    view.setUint32(b * kPrimesBlockBytes + 4, twinCount, true);
  }
  return out;
}

/** How far past `start` the first multiple of p at or after it lies. */
function firstMultipleOffset(start: number, p: number): number {
  const offset = residue(start, p);
  return offset === 0 ? 0 : p - offset;
}

/**
 * n mod p for integers 0 ≤ n < 2⁵³ − 1 and p ≥ 1, exactly. Past 2³¹ V8 cannot take `%` on
 * integers and calls fmod, which made a block near 10¹² five times slower (a block visits
 * every base prime); a division is not. Write n = kp + r: n/p lies below k + 1 by
 * (p − r)/p ≥ 1/p, and half the spacing of doubles near k + 1 is at most
 * (k + 1)·2⁻⁵³ = (n + p − r)/(p·2⁵³), so rounding could reach k + 1 only if
 * (p − r)(2⁵³ − 1) ≤ n. Below 2⁵³ − 1 it cannot; and k is a double, so the rounded
 * quotient is not below it either. Its floor is k, and kp ≤ n and n − kp are exact (n and
 * p being integers below 2⁵³, as Numbers hold exactly).
 */
export function residue(n: number, p: number): number {
  return n - Math.floor(n / p) * p;
}

/**
 * A primes checkpoint: the number of finished blocks (u32, little-endian) followed by their
 * counts in the output format. Every backend writes and reads it, so a unit started on the
 * GPU can resume on WASM.
 */
export function encodePrimesCheckpoint(blocksDone: number, finishedCounts: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + blocksDone * kPrimesBlockBytes);
  new DataView(bytes.buffer).setUint32(0, blocksDone, true);
  bytes.set(finishedCounts.subarray(0, blocksDone * kPrimesBlockBytes), 4);
  return bytes;
}

export function decodePrimesCheckpoint(bytes: Uint8Array, params: PrimesParams): { blocksDone: number; counts: Uint8Array } {
  if (bytes.byteLength < 4) throw new KernelError('SURGE_E_KERNEL_CHECKPOINT', 'primes: the checkpoint is shorter than its header.');
  const blocksDone = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  const blocks = primesBlockCount(params);
  if (blocksDone > blocks || bytes.byteLength !== 4 + blocksDone * kPrimesBlockBytes) {
    throw new KernelError(
      'SURGE_E_KERNEL_CHECKPOINT',
      `primes: the checkpoint claims ${blocksDone} blocks but holds ${bytes.byteLength - 4} bytes for a unit of ${blocks} blocks.`,
    );
  }
  return { blocksDone, counts: bytes.subarray(4) };
}
