import { randomBytes } from 'node:crypto';
import { bytesToHex, getAddress, hashTypedData } from 'viem';
import { describe, expect, it } from 'vitest';
import { type ReceiptDomain, workBatchReceiptTypes, workReceiptTypes } from '../src/protocol/receipt.ts';
import { batchReceiptDigest, receiptDigest } from './receipts.ts';
import { staticStructDigest } from './typed-data-digest.ts';

const domain: ReceiptDomain = { name: 'Surge', version: '1', chainId: 31337, verifyingContract: getAddress(bytesToHex(randomBytes(20))) };
const hex = (bytes: number) => bytesToHex(randomBytes(bytes));
const uint = (bits: number) => BigInt(hex(bits / 8));

describe('EIP-712 digests of static structs', () => {
  it("equal viem's hashTypedData for receipts and batch receipts, at random and at the edges of each range", () => {
    for (let i = 0; i < 200; i++) {
      const edge = i % 4;
      const receipt = {
        owner: getAddress(hex(20)),
        session: hex(20),
        lease: hex(32),
        resultHash: hex(32),
        units: String(edge === 1 ? 2n ** 256n - 1n : edge === 2 ? 0n : uint(256)),
        seq: String(edge === 1 ? 2n ** 64n - 1n : edge === 2 ? 0n : uint(64)),
      };
      const viaViem = hashTypedData({
        domain,
        types: workReceiptTypes,
        primaryType: 'WorkReceipt',
        message: { ...receipt, units: BigInt(receipt.units), seq: BigInt(receipt.seq) },
      });
      expect(receiptDigest(domain, receipt)).toBe(viaViem);

      const batch = { owner: receipt.owner, session: receipt.session, resultsRoot: hex(32), count: edge === 1 ? 2 ** 32 - 1 : 1 + i, seq: receipt.seq };
      expect(batchReceiptDigest(domain, batch)).toBe(
        hashTypedData({ domain, types: workBatchReceiptTypes, primaryType: 'WorkBatchReceipt', message: { ...batch, seq: BigInt(batch.seq) } }),
      );
    }
  });

  it('count an address by its bytes, whatever the case of its letters', () => {
    const owner = '0xAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAa';
    const batch = { owner, session: hex(20), resultsRoot: hex(32), count: 3, seq: '7' };
    const lower = hashTypedData({
      domain,
      types: workBatchReceiptTypes,
      primaryType: 'WorkBatchReceipt',
      message: { ...batch, owner: owner.toLowerCase() as `0x${string}`, seq: 7n },
    });
    expect(batchReceiptDigest(domain, batch as never)).toBe(lower);
  });

  it('refuse values outside their type, naming the field', () => {
    const digest = staticStructDigest(domain, 'WorkBatchReceipt', workBatchReceiptTypes.WorkBatchReceipt);
    const good = { owner: hex(20), session: hex(20), resultsRoot: hex(32), count: 1, seq: '1' };
    expect(() => digest({ ...good, seq: String(2n ** 64n) })).toThrow('seq is not a uint64: 18446744073709551616');
    expect(() => digest({ ...good, count: -1 })).toThrow('count is not a uint32: -1');
    expect(() => digest({ ...good, seq: ' 12' })).toThrow('seq is not a uint64');
    expect(() => digest({ ...good, owner: '0x1234' })).toThrow('owner is not a 20-byte hex address: 0x1234');
    expect(() => digest({ ...good, resultsRoot: hex(31) })).toThrow('resultsRoot is not 32 bytes of hex');
    expect(() => staticStructDigest(domain, 'Named', [{ name: 'label', type: 'string' }])).toThrow('not string');
  });
});
