import { type Hex, hashTypedData, type PrivateKeyAccount, recoverTypedDataAddress } from 'viem';
import { type ReceiptDomain, receiptMessage, type WorkReceipt, workReceiptPrimaryType, workReceiptTypes } from '../src/protocol/receipt.ts';

function typedData(domain: ReceiptDomain, receipt: WorkReceipt) {
  return { domain, types: workReceiptTypes, primaryType: workReceiptPrimaryType, message: receiptMessage(receipt) } as const;
}

/** The EIP-712 digest of a receipt under this coordinator's domain: the key of duplicates. */
export function receiptDigest(domain: ReceiptDomain, receipt: WorkReceipt): Hex {
  return hashTypedData(typedData(domain, receipt));
}

/** The address that signed a receipt, or undefined when the signature is not a valid one. */
export async function receiptSigner(domain: ReceiptDomain, receipt: WorkReceipt, signature: Hex): Promise<string | undefined> {
  try {
    return (await recoverTypedDataAddress({ ...typedData(domain, receipt), signature })).toLowerCase();
  } catch {
    return undefined;
  }
}

/** The coordinator's countersignature: its key signs the receipt's digest, as proof of validated work. */
export function countersign(coordinator: PrivateKeyAccount, digest: Hex): Promise<Hex> {
  return coordinator.sign({ hash: digest });
}
