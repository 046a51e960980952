import { randomBytes } from 'node:crypto';
import { bytesToHex, keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { fastKeccak256 } from './keccak.ts';

describe("the coordinator's keccak-256", () => {
  it("gives viem's hash for bytes and for hex, at every length around the sponge's rate", () => {
    for (const length of [0, 1, 8, 31, 32, 33, 135, 136, 137, 272, 3072, 100_003]) {
      const bytes = new Uint8Array(randomBytes(length));
      expect(fastKeccak256(bytes)).toBe(keccak256(bytes));
      expect(fastKeccak256(bytesToHex(bytes))).toBe(keccak256(bytesToHex(bytes)));
    }
  });

  it('knows the empty input', () => {
    expect(fastKeccak256(new Uint8Array())).toBe('0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470');
  });
});
