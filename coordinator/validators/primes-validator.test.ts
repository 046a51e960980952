import { describe, expect, it } from 'vitest';
import { primesPlan, primesReference } from '../../src/kernels/primes.ts';
import type { PrimesParams } from '../../src/protocol/schemas.ts';
import { seeded } from '../../test/helpers/seeded.ts';
import { kPrimesCheckShare, primesSampleCount, validatePrimes } from './primes-validator.ts';

/** The output with block `block`'s prime count changed by `delta`. */
function tampered(output: Uint8Array, block: number, delta: number): Uint8Array {
  const copy = output.slice();
  const view = new DataView(copy.buffer);
  view.setUint32(block * 8, view.getUint32(block * 8, true) + delta, true);
  return copy;
}

describe('the primes validator', () => {
  it.each([
    { lo: 0, hi: 100_000, blockSize: 4096 },
    { lo: 1, hi: 10_000, blockSize: 1024 },
    { lo: 2 ** 32 - 30_000, hi: 2 ** 32 + 30_001, blockSize: 3072 },
    { lo: 2 ** 53 - 50_000, hi: 2 ** 53 - 1, blockSize: 16_384 },
  ])('accepts the reference output for %j', (params) => {
    const output = primesReference(params);
    for (let seed = 1; seed <= 5; seed++) expect(validatePrimes(params, output, seeded(seed))).toEqual({ valid: true });
  });

  it('rejects any changed block of a small unit, naming it', () => {
    const params = { lo: 0, hi: 25 * 1024, blockSize: 1024 };
    const output = primesReference(params);
    expect(primesSampleCount(params)).toBe(25);
    for (let block = 0; block < 25; block++) {
      const verdict = validatePrimes(params, tampered(output, block, block % 2 ? 1 : -1), seeded(block));
      expect(verdict).toEqual({ valid: false, reason: expect.stringContaining(`block ${block} `) });
    }
  });

  it('rejects a larger unit whose blocks are all slightly off', () => {
    const params = { lo: 1e12, hi: 1e12 + 2 ** 25, blockSize: 1 << 15 };
    let output = primesReference(params);
    for (let block = 0; block < 1024; block++) output = tampered(output, block, 1);
    expect(primesSampleCount(params)).toBeLessThan(1024);
    expect(validatePrimes(params, output, seeded(7))).toMatchObject({ valid: false, reason: expect.stringMatching(/^block \d+ .*recomputing gives/) });
  });

  it('catches one changed block in as many draws as the sample size allows', () => {
    const params = { lo: 0, hi: 2 ** 21, blockSize: 1024 };
    const output = tampered(primesReference(params), 700, 1);
    const samples = primesSampleCount(params);
    let caught = 0;
    for (let seed = 1; seed <= 40; seed++) if (!validatePrimes(params, output, seeded(seed)).valid) caught++;
    // Each draw recomputes `samples` distinct blocks of 2048: caught with probability samples / 2048.
    const expected = (40 * samples) / 2048;
    expect(caught).toBeGreaterThan(expected / 3);
    expect(caught).toBeLessThanOrEqual(40);
  });

  it('rejects counts no block can have without recomputing', () => {
    const params = { lo: 0, hi: 4096, blockSize: 1024 };
    const output = primesReference(params);
    const view = new DataView(output.buffer);
    view.setUint32(2 * 8 + 4, view.getUint32(2 * 8, true) + 1, true);
    expect(validatePrimes(params, output, () => 0)).toEqual({ valid: false, reason: expect.stringMatching(/^block 2 .*impossible/) });
  });

  it.each([
    ['empty', 0],
    ['one block short', -8],
    ['four bytes long', 4],
  ])('rejects an output that is %s', (_, change) => {
    const params = { lo: 0, hi: 10_000, blockSize: 1024 };
    const reference = primesReference(params);
    const output = new Uint8Array(change === 0 ? 0 : reference.byteLength + change);
    output.set(reference.subarray(0, Math.min(output.byteLength, reference.byteLength)));
    expect(validatePrimes(params, output, seeded(1))).toEqual({ valid: false, reason: expect.stringMatching(/bytes, not the 80 of 10 blocks/) });
  });

  it('rejects malformed parameters with the parameter named', () => {
    const params: PrimesParams = { lo: 5, hi: 5, blockSize: 1024 };
    expect(validatePrimes(params, new Uint8Array(0), seeded(1))).toEqual({ valid: false, reason: expect.stringContaining('hi must be') });
  });

  it.each([
    { lo: 0, hi: 2 ** 34, blockSize: 2 ** 24 },
    { lo: 2 ** 53 - 1 - 2 ** 34, hi: 2 ** 53 - 1, blockSize: 2 ** 24 },
    { lo: 2 ** 53 - 1 - 2 ** 34, hi: 2 ** 53 - 1, blockSize: 2 ** 14 },
    { lo: 1e15, hi: 1e15 + 2 ** 30, blockSize: 1024 },
  ])('spends at most 2% of a large unit on recomputing, at least one block: %j', (params) => {
    const samples = primesSampleCount(params);
    const blockCost = primesPlan({ lo: params.hi - params.blockSize, hi: params.hi, blockSize: params.blockSize }).operations;
    expect(samples).toBeGreaterThanOrEqual(1);
    if (samples > 1) expect(samples * blockCost).toBeLessThanOrEqual(kPrimesCheckShare * primesPlan(params).operations);
  });
});
