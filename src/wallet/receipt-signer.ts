import type { Hex, LocalAccount } from 'viem';
import { hashTypedData, keccak256 } from 'viem';
import { type ReceiptDomain, receiptMessage, type WorkReceipt, workReceiptPrimaryType, workReceiptTypes } from '../protocol/receipt.ts';
import type { Lease } from '../protocol/schemas.ts';

/** A receipt signed by the session key, with the digest that keys duplicates. */
export interface SignedReceipt {
  receipt: WorkReceipt;
  signature: Hex;
  digest: Hex;
}

/** Signs the EIP-712 `WorkReceipt` for one result with the session key: no prompt. */
export async function signWorkReceipt(options: {
  session: LocalAccount;
  owner: Hex;
  domain: ReceiptDomain;
  lease: Lease;
  output: Uint8Array;
  seq: number;
}): Promise<SignedReceipt> {
  const receipt: WorkReceipt = {
    owner: options.owner,
    session: options.session.address,
    lease: options.lease.id as Hex,
    resultHash: keccak256(options.output),
    units: options.lease.units,
    seq: String(options.seq),
  };
  const typedData = { domain: options.domain, types: workReceiptTypes, primaryType: workReceiptPrimaryType, message: receiptMessage(receipt) } as const;
  const signature = await options.session.signTypedData(typedData);
  return { receipt, signature, digest: hashTypedData(typedData) };
}
