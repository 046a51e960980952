import { concatHex, encodeAbiParameters, type Hex, keccak256 } from 'viem';
import { describe, expect, it } from 'vitest';
import { fastKeccak256 } from '../../coordinator/keccak.ts';
import { type BatchEntry, batchResultsRoot } from './receipt.ts';

const randomWord = (): Hex => `0x${Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString('hex')}`;

/** What a Solidity contract computes: keccak256 of each entry's abi.encode, concatenated. */
function solidityRoot(entries: readonly BatchEntry[]): Hex {
  const words = entries.map((entry) =>
    encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }, { type: 'uint256' }], [entry.lease, entry.resultHash, BigInt(entry.units)]),
  );
  return keccak256(concatHex(words));
}

describe('the results root a batch receipt signs', () => {
  it('is keccak256 of the entries abi-encoded in order, with either keccak and hex in either case', () => {
    const entries: BatchEntry[] = Array.from({ length: 33 }, (_, i) => ({
      lease: i % 2 === 0 ? randomWord() : (randomWord().toUpperCase().replace('0X', '0x') as Hex),
      resultHash: randomWord(),
      units: String(i === 0 ? 2n ** 256n - 1n : i === 1 ? 0n : BigInt(i) * 4096n),
    }));
    const expected = solidityRoot(entries);
    expect(batchResultsRoot(entries)).toBe(expected);
    expect(batchResultsRoot(entries, fastKeccak256)).toBe(expected);
    expect(batchResultsRoot([])).toBe(keccak256('0x'));
  });

  it('changes when an entry is changed, dropped or moved', () => {
    const entries: BatchEntry[] = Array.from({ length: 4 }, () => ({ lease: randomWord(), resultHash: randomWord(), units: '4096' }));
    const root = batchResultsRoot(entries);
    expect(batchResultsRoot([entries[1]!, entries[0]!, ...entries.slice(2)])).not.toBe(root);
    expect(batchResultsRoot(entries.slice(1))).not.toBe(root);
    expect(batchResultsRoot([{ ...entries[0]!, units: '4097' }, ...entries.slice(1)])).not.toBe(root);
  });

  it('refuses an entry that is not words and a uint256, naming it', () => {
    const good: BatchEntry = { lease: randomWord(), resultHash: randomWord(), units: '1' };
    expect(() => batchResultsRoot([good, { ...good, lease: good.lease.slice(0, 64) as Hex }])).toThrow("entry 1's lease is not 32 bytes of 0x-hex");
    expect(() => batchResultsRoot([{ ...good, resultHash: `${good.resultHash.slice(0, 65)}g` as Hex }])).toThrow(
      "entry 0's resultHash is not 32 bytes of 0x-hex",
    );
    expect(() => batchResultsRoot([{ ...good, lease: `00${good.lease.slice(2)}` as Hex }])).toThrow("entry 0's lease");
    expect(() => batchResultsRoot([{ ...good, units: String(2n ** 256n) }])).toThrow("entry 0's units are outside the uint256 range");
    expect(() => batchResultsRoot([{ ...good, units: '-1' }])).toThrow("entry 0's units are outside the uint256 range");
  });
});
