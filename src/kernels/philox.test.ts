import { describe, expect, it } from 'vitest';
import vectors from '../../test/vectors/philox.json' with { type: 'json' };
import { philox4x32, seedToKey, u32ToUnitF32 } from './philox.ts';

const hex = (words: Uint32Array) => Array.from(words, (w) => w.toString(16).padStart(8, '0'));

describe('philox4x32-10', () => {
  it.each(vectors.cases)('matches the Random123 known answer for $name', (vector) => {
    const counter = vector.counter.map((w) => Number.parseInt(w, 16));
    const [key0, key1] = vector.key.map((w) => Number.parseInt(w, 16));
    expect(hex(philox4x32(key0!, key1!, counter))).toEqual(vector.expected);
  });

  it('maps u32 to [-1, 1) exactly at both ends', () => {
    expect(u32ToUnitF32(0)).toBe(-1);
    expect(u32ToUnitF32(0xffffffff)).toBe(1 - 2 ** -23);
    expect(Math.fround(u32ToUnitF32(0x12345678))).toBe(u32ToUnitF32(0x12345678));
  });

  it('splits a 64-bit seed into low and high key words', () => {
    expect(seedToKey('0x0000000100000002')).toEqual([2, 1]);
  });
});
