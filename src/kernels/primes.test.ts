import { describe, expect, it } from 'vitest';
import vectors from '../../test/vectors/primes.json' with { type: 'json' };
import { KernelError } from '../errors/kernel-error.ts';
import type { PrimesParams } from '../protocol/schemas.ts';
import {
  assertPrimesFits,
  basePrimes,
  decodePrimesCheckpoint,
  encodePrimesCheckpoint,
  primes,
  primesBlockCount,
  primesReference,
  primesSieveLimit,
  residue,
} from './primes.ts';

/** Per-block [primes, twins] from the output bytes. */
function blocksOf(output: Uint8Array): [number, number][] {
  const words = new Uint32Array(output.buffer, output.byteOffset, output.byteLength / 4);
  return Array.from({ length: words.length / 2 }, (_, b) => [words[2 * b]!, words[2 * b + 1]!]);
}

function totals(output: Uint8Array): { primes: number; twins: number } {
  return blocksOf(output).reduce((sum, [p, t]) => ({ primes: sum.primes + p, twins: sum.twins + t }), { primes: 0, twins: 0 });
}

/** Trial division: slow and independent of the sieve. */
function isPrimeByDivision(n: number): boolean {
  if (n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/** Deterministic Miller–Rabin for n < 3.3·10²⁴ (bases: the primes to 41; Sorenson and Webster, 2015). */
function isPrimeByMillerRabin(n: bigint): boolean {
  if (n < 2n) return false;
  const bases = [2n, 3n, 5n, 7n, 11n, 13n, 17n, 19n, 23n, 29n, 31n, 37n, 41n];
  for (const p of bases) if (n % p === 0n) return n === p;
  let d = n - 1n;
  let s = 0;
  while (d % 2n === 0n) {
    d /= 2n;
    s++;
  }
  const power = (base: bigint, exponent: bigint) => {
    let result = 1n;
    for (let b = base % n, e = exponent; e > 0n; e >>= 1n, b = (b * b) % n) if (e & 1n) result = (result * b) % n;
    return result;
  };
  witness: for (const a of bases) {
    let x = power(a, d);
    if (x === 1n || x === n - 1n) continue;
    for (let r = 1; r < s; r++) {
      x = (x * x) % n;
      if (x === n - 1n) continue witness;
    }
    return false;
  }
  return true;
}

/** Per-block counts by a primality test of every number: what the output must say. */
function countByTest(params: PrimesParams, isPrime: (n: number) => boolean): [number, number][] {
  const { lo, hi, blockSize } = params;
  return Array.from({ length: primesBlockCount(params) }, (_, b) => {
    let primeCount = 0;
    let twinCount = 0;
    for (let n = lo + b * blockSize; n < Math.min(hi, lo + (b + 1) * blockSize); n++) {
      if (!isPrime(n)) continue;
      primeCount++;
      if (isPrime(n + 2)) twinCount++;
    }
    return [primeCount, twinCount];
  });
}

describe('the primes reference', () => {
  it.for(vectors.published.filter((c) => c.params.hi <= 1e7))('counts the published π(x) and twins for "$name"', ({ params, primes, twins }) => {
    expect(totals(primesReference(params))).toEqual({ primes, twins });
  });

  it.for(vectors.computed)('gives the pinned totals for "$name"', ({ params, primes, twins }) => {
    // Larger blocks: the reference passes over all base primes once per block.
    expect(totals(primesReference({ ...params, blockSize: 1 << 20 }))).toEqual({ primes, twins });
  });

  it.each([
    { lo: 0, hi: 1 },
    { lo: 0, hi: 2 },
    { lo: 0, hi: 3 },
    { lo: 1, hi: 3 },
    { lo: 2, hi: 3 },
    { lo: 3, hi: 4 },
    { lo: 0, hi: 5000 },
    { lo: 1, hi: 5000 },
    { lo: 2, hi: 4097 },
    { lo: 7, hi: 3079 },
    { lo: 1021, hi: 9000 },
  ])('matches trial division block by block on [$lo, $hi)', ({ lo, hi }) => {
    const params = { lo, hi, blockSize: 1024 };
    expect(blocksOf(primesReference(params))).toEqual(countByTest(params, isPrimeByDivision));
  });

  it('counts a twin whose partner lies in the next block or past hi in the block of its lower member', () => {
    // 1031 and 1033 are twins; block 0 of [8, …) is [8, 1032).
    expect(blocksOf(primesReference({ lo: 8, hi: 2056, blockSize: 1024 }))).toEqual(countByTest({ lo: 8, hi: 2056, blockSize: 1024 }, isPrimeByDivision));
    const [[, twinsToHi]] = blocksOf(primesReference({ lo: 1024, hi: 1032, blockSize: 1024 })) as [[number, number]];
    expect(twinsToHi).toBe(1);
  });

  it('matches Miller–Rabin just below 2^53', () => {
    const params = { lo: 2 ** 53 - 20_000, hi: 2 ** 53 - 1, blockSize: 4096 };
    const isPrime = (n: number) => n % 2 !== 0 && n % 3 !== 0 && n % 5 !== 0 && isPrimeByMillerRabin(BigInt(n));
    expect(blocksOf(primesReference(params))).toEqual(countByTest(params, isPrime));
  });

  it('takes exact remainders of numbers below 2^53 − 1 by divisors up to 2^27', () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const numbers = [0, 1, 2 ** 31, 2 ** 52 + 1, 2 ** 53 - 2 ** 27, 2 ** 53 - 3, 2 ** 53 - 2];
    for (let i = 0; i < 2000; i++) numbers.push(Math.floor(next() * (2 ** 53 - 1)), 2 ** 53 - 2 - Math.floor(next() * 2 ** 27));
    const divisors = [2, 3, 94906249, 94906263, 2 ** 27 - 39, ...Array.from({ length: 200 }, () => 2 + Math.floor(next() * (2 ** 27 - 2)))];
    for (const n of numbers) {
      for (const p of divisors) if (residue(n, p) !== Number(BigInt(n) % BigInt(p))) expect.fail(`${n} mod ${p}: ${residue(n, p)}`);
    }
  });

  it('can count a range of blocks alone', () => {
    const params = { lo: 2 ** 32 - 5000, hi: 2 ** 32 + 7000, blockSize: 1024 };
    const whole = primesReference(params);
    expect(primesReference(params, 3, 5)).toEqual(whole.slice(3 * 8, 8 * 8));
  });

  it('sieves the base primes once, up to ⌊√(hi + 1)⌋', () => {
    expect(basePrimes(1e6).length).toBe(78498);
    expect(primesSieveLimit(2 ** 53 - 1)).toBe(94906265);
    expect(primesSieveLimit(8)).toBe(3);
    expect(primesSieveLimit(7)).toBe(2);
  });
});

describe('the primes kernel definition', () => {
  it('sizes the output at two u32 per block, the last block shorter', () => {
    expect(primes.outputBytes({ lo: 0, hi: 1024, blockSize: 1024 })).toBe(8);
    expect(primes.outputBytes({ lo: 5, hi: 1030, blockSize: 1024 })).toBe(16);
  });

  it('plans more work for a wider range and for larger numbers', () => {
    const near0 = primes.plan({ lo: 0, hi: 1e9, blockSize: 1 << 20 });
    expect(near0.operations).toBeGreaterThan(1e9);
    expect(primes.plan({ lo: 0, hi: 2e9, blockSize: 1 << 20 }).operations).toBeGreaterThan(near0.operations);
    expect(primes.plan({ lo: 2 ** 52, hi: 2 ** 52 + 1e9, blockSize: 1 << 20 }).operations).toBeGreaterThan(near0.operations);
  });

  it.each([
    [{ lo: 10, hi: 10, blockSize: 1024 }, /hi must be/],
    [{ lo: -1, hi: 10, blockSize: 1024 }, /lo must be/],
    [{ lo: 0, hi: 2 ** 53, blockSize: 1024 }, /hi must be/],
    [{ lo: 0, hi: 1e6, blockSize: 1000 }, /blockSize/],
    [{ lo: 0, hi: 1e6, blockSize: 2 ** 25 }, /blockSize/],
    [{ lo: 0, hi: 2 ** 34 + 1, blockSize: 2 ** 24 }, /hi − lo/],
    [{ lo: 0, hi: 2 ** 30 + 1, blockSize: 1024 }, /blocks/],
  ])('refuses %j with a message naming the parameter', (params, message) => {
    const error = (() => {
      try {
        assertPrimesFits(params);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(KernelError);
    expect((error as KernelError).code).toBe('SURGE_E_KERNEL_BAD_PARAMS');
    expect((error as KernelError).shortMessage).toMatch(message);
  });

  it('accepts the largest unit', () => {
    expect(() => assertPrimesFits({ lo: 2 ** 53 - 1 - 2 ** 34, hi: 2 ** 53 - 1, blockSize: 2 ** 14 })).not.toThrow();
  });
});

describe('primes checkpoints', () => {
  const params = { lo: 100, hi: 100 + 5 * 1024 - 3, blockSize: 1024 };

  it('round-trips the finished blocks', () => {
    const counts = primesReference(params);
    const checkpoint = encodePrimesCheckpoint(3, counts);
    expect(checkpoint.byteLength).toBe(4 + 3 * 8);
    const { blocksDone, counts: restored } = decodePrimesCheckpoint(checkpoint, params);
    expect(blocksDone).toBe(3);
    expect(restored).toEqual(counts.subarray(0, 24));
  });

  it.each([
    ['shorter than its header', new Uint8Array(3)],
    ['with more blocks than the unit', encodePrimesCheckpoint(6, new Uint8Array(48))],
    ['with bytes missing', encodePrimesCheckpoint(2, new Uint8Array(16)).subarray(0, 19)],
  ])('refuses one %s', (_, bytes) => {
    expect(() => decodePrimesCheckpoint(bytes, params)).toThrow(expect.objectContaining({ code: 'SURGE_E_KERNEL_CHECKPOINT' }));
  });
});
