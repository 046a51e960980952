import { type Hex, hashTypedData, recoverTypedDataAddress, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount, toAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { batchReceiptDigest } from '../../coordinator/receipts.ts';
import { batchReceiptMessage, type ReceiptDomain, workBatchReceiptPrimaryType, workBatchReceiptTypes } from '../protocol/receipt.ts';
import { signWorkBatchReceipt } from './batch-receipt-signer.ts';

const domain: ReceiptDomain = { name: 'Surge', version: '1', chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' };
const owner = privateKeyToAccount(generatePrivateKey()).address;
const results = [0, 1, 2].map((i) => ({
  lease: { id: toHex(i + 1, { size: 32 }), units: String(1000 * (i + 1)) },
  output: new Uint8Array([i, i + 1, i + 2]),
}));

describe('signWorkBatchReceipt', () => {
  it('signs the EIP-712 digest the same whether the key signs hashes or only typed data', async () => {
    const key = generatePrivateKey();
    const hashing = privateKeyToAccount(key);
    // A key that can only sign typed data (as some wallets' accounts): the signer falls back to it.
    const typedOnly = toAccount({
      address: hashing.address,
      signMessage: hashing.signMessage,
      signTransaction: hashing.signTransaction,
      signTypedData: hashing.signTypedData,
    });
    const signed = await signWorkBatchReceipt({ session: hashing, owner, domain, results, seq: 7 });
    const fallback = await signWorkBatchReceipt({ session: typedOnly, owner, domain, results, seq: 7 });
    expect(fallback.signature).toBe(signed.signature);

    const typedData = { domain, types: workBatchReceiptTypes, primaryType: workBatchReceiptPrimaryType, message: batchReceiptMessage(signed.receipt) } as const;
    expect(signed.digest).toBe(hashTypedData(typedData));
    expect(await recoverTypedDataAddress({ ...typedData, signature: signed.signature })).toBe(hashing.address);
  });

  it('takes a faster digest function that gives the same bytes', async () => {
    const session = privateKeyToAccount(generatePrivateKey());
    const viaViem = await signWorkBatchReceipt({ session, owner, domain, results, seq: 3 });
    const viaCoordinator = await signWorkBatchReceipt({
      session,
      owner,
      domain,
      results,
      seq: 3,
      digest: (receipt) => batchReceiptDigest(domain, receipt),
    });
    expect(viaCoordinator.digest).toBe(viaViem.digest);
    expect(viaCoordinator.signature).toBe(viaViem.signature);
    // A digest function that is wrong shows: the signature no longer recovers to the session for the real receipt.
    const wrong = await signWorkBatchReceipt({ session, owner, domain, results, seq: 3, digest: () => `0x${'11'.repeat(32)}` as Hex });
    expect(wrong.signature).not.toBe(viaViem.signature);
  });
});
