import { describe, expect, it } from 'vitest';
import { primesReference } from '../../src/kernels/primes.ts';
import { seeded } from '../../test/helpers/seeded.ts';
import { countPrimesBlock } from './primes-block-count.ts';

/** The counts the reference gives for [start, start + length) as one block. */
function referenceCounts(start: number, length: number): { primes: number; twins: number } {
  const output = primesReference({ lo: start, hi: start + length, blockSize: 1024 * Math.ceil(length / 1024) });
  const view = new DataView(output.buffer);
  return { primes: view.getUint32(0, true), twins: view.getUint32(4, true) };
}

function expectSameAsReference(start: number, length: number): void {
  expect(countPrimesBlock(start, start + length), `[${start}, ${start + length})`).toEqual(referenceCounts(start, length));
}

describe('countPrimesBlock', () => {
  it('counts the primes below 100 and the twins among them', () => {
    // 2, 3, 5, …, 97; twins (3, 5), (5, 7), (11, 13), (17, 19), (29, 31), (41, 43), (59, 61), (71, 73).
    expect(countPrimesBlock(0, 100)).toEqual({ primes: 25, twins: 8 });
    // 97 and 101; 97 is no twin (99 = 9 · 11), 101 is one with 103, which lies past the block.
    expect(countPrimesBlock(97, 102)).toEqual({ primes: 2, twins: 1 });
    expect(countPrimesBlock(98, 101)).toEqual({ primes: 0, twins: 0 });
  });

  it('agrees with the reference on every block that starts below 3,000, odd or even, short or long', () => {
    for (let start = 0; start < 3000; start++) for (const length of [1, 2, 3, 1024, 1025 + (start % 5)]) expectSameAsReference(start, length);
  });

  it('agrees with the reference on random blocks up to 2⁵³, and on the last numbers below it', () => {
    const next = seeded(7);
    for (let i = 0; i < 300; i++) {
      const magnitude = 2 ** (10 + Math.floor(next() * 43));
      expectSameAsReference(Math.floor(next() * magnitude), 1024 * (1 + Math.floor(next() * 4)));
    }
    for (let i = 0; i < 5; i++) expectSameAsReference(2 ** 53 - 1 - 1024 - i, 1024);
  });

  it('agrees with the reference on a block of 2²⁰ numbers near 10¹², after a smaller one has shrunk nothing', () => {
    expectSameAsReference(10 ** 12 + 1, 1024);
    expectSameAsReference(10 ** 12, 2 ** 20);
    expectSameAsReference(10 ** 12 + 3, 1024);
  });
});
