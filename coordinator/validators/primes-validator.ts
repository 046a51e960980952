import { errorMessage } from '../../src/errors/surge-error.ts';
import { assertPrimesFits, kPrimesBlockBytes, primes, primesBlockCount, primesBlockRange, primesPlan } from '../../src/kernels/primes.ts';
import type { PrimesParams } from '../../src/protocol/schemas.ts';
import { countPrimesBlock } from './primes-block-count.ts';
import type { Verdict } from './verdict.ts';

/** The share of a large unit's work the validator spends recomputing sampled blocks. */
export const kPrimesCheckShare = 0.02;
/**
 * Below this many operations (a few ms of the reference) a unit is checked whole. It was 2²²;
 * replicas that must agree by hash and canaries now catch a wrong block the sample misses, so
 * mid-sized units keep to kPrimesCheckShare (docs/decisions/0004-adaptive-replication.md).
 */
const kPrimesCheckFloor = 2 ** 16;

/**
 * How many blocks the validator recomputes: as many as fit in kPrimesCheckShare of the
 * unit's planned work (or the floor, for small units), at least one, at most all. A
 * block's cost is the plan of a one-block unit, whose base-sieve term bounds the
 * reference's pass over the base primes (the base primes themselves are cached).
 */
export function primesSampleCount(params: PrimesParams): number {
  const blocks = primesBlockCount(params);
  const blockLength = Math.min(params.blockSize, params.hi - params.lo);
  const blockCost = primesPlan({ lo: params.hi - blockLength, hi: params.hi, blockSize: params.blockSize }).operations;
  const budget = Math.max(kPrimesCheckShare * primesPlan(params).operations, kPrimesCheckFloor);
  return Math.max(1, Math.min(blocks, Math.floor(budget / blockCost)));
}

/**
 * The validator for primes. The counts are exact, so a wrong block is wrong for certain;
 * but recomputing is the whole cost of the unit, so only a random sample of blocks is
 * recomputed (by countPrimesBlock, whose tests hold it to the reference), drawn from the
 * coordinator's randomness, which the client cannot predict. A client that fakes a fraction
 * f of the blocks passes with probability about (1 − f)^samples; canaries (units with known
 * totals, in test/vectors/primes.json) and replication catch the rest, as in BOINC.
 */
export function validatePrimes(params: PrimesParams, output: Uint8Array, random: () => number): Verdict {
  try {
    assertPrimesFits(params);
  } catch (error) {
    return { valid: false, reason: errorMessage(error) };
  }
  const blocks = primesBlockCount(params);
  const expectedBytes = primes.outputBytes(params);
  if (output.byteLength !== expectedBytes) {
    return { valid: false, reason: `the output has ${output.byteLength} bytes, not the ${expectedBytes} of ${blocks} blocks` };
  }
  const view = new DataView(output.buffer, output.byteOffset, output.byteLength);
  const claimed = (block: number) => [view.getUint32(block * kPrimesBlockBytes, true), view.getUint32(block * kPrimesBlockBytes + 4, true)] as const;

  // Free checks on every block: a block of n numbers has at most ⌈n/2⌉ + 1 primes (the odd
  // ones, and 2), and every twin is a prime.
  for (let block = 0; block < blocks; block++) {
    const [primeCount, twinCount] = claimed(block);
    const { start, end } = primesBlockRange(params, block);
    if (primeCount > Math.ceil((end - start) / 2) + 1 || twinCount > primeCount) {
      return { valid: false, reason: `block ${block} claims ${primeCount} primes and ${twinCount} twins, impossible for ${end - start} numbers` };
    }
  }

  const samples = primesSampleCount(params);
  const chosen = new Set<number>();
  for (let tries = 0; chosen.size < samples && tries < 64 * samples; tries++) {
    chosen.add(Math.min(blocks - 1, Math.floor(random() * blocks)));
  }
  for (const block of chosen) {
    const { start, end } = primesBlockRange(params, block);
    const [primeCount, twinCount] = claimed(block);
    const { primes: truePrimes, twins: trueTwins } = countPrimesBlock(start, end);
    if (primeCount !== truePrimes || twinCount !== trueTwins) {
      return {
        valid: false,
        reason: `block ${block} ([${start}, ${end})) claims ${primeCount} primes and ${twinCount} twins; recomputing gives ${truePrimes} and ${trueTwins}`,
      };
    }
  }
  return { valid: true };
}
