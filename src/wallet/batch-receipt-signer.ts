import type { Hex, LocalAccount } from 'viem';
import { hashTypedData, keccak256 } from 'viem';
import {
  type BatchEntry,
  batchReceiptMessage,
  batchResultsRoot,
  type ReceiptDomain,
  type WorkBatchReceipt,
  workBatchReceiptPrimaryType,
  workBatchReceiptTypes,
} from '../protocol/receipt.ts';
import type { Lease } from '../protocol/schemas.ts';

/** A batch receipt signed by the session key, with its entries in the order the root commits to. */
export interface SignedBatchReceipt {
  receipt: WorkBatchReceipt;
  signature: Hex;
  digest: Hex;
  entries: BatchEntry[];
}

/**
 * Signs one EIP-712 `WorkBatchReceipt` over many results with the session key (no prompt):
 * one signature for the coordinator to check instead of one per result.
 *
 * @example
 * const signed = await signWorkBatchReceipt({ session, owner, domain, seq, results: [{ lease, output }] });
 * // POST /v1/results/batch { receipt: signed.receipt, signature: signed.signature,
 * //   results: signed.entries.map((entry, i) => ({ ...entry, output: base64(outputs[i]) })) }
 */
export async function signWorkBatchReceipt(options: {
  session: LocalAccount;
  owner: Hex;
  domain: ReceiptDomain;
  results: readonly { lease: Pick<Lease, 'id' | 'units'>; output: Uint8Array }[];
  seq: number;
  /** keccak-256 (viem's by default; a Node client may pass a faster one giving the same bytes). */
  hash?: (data: Uint8Array | Hex) => Hex;
  /** The receipt's EIP-712 digest under `domain` (viem's `hashTypedData` by default; likewise replaceable by one giving the same bytes). */
  digest?: (receipt: WorkBatchReceipt) => Hex;
}): Promise<SignedBatchReceipt> {
  const hash = options.hash ?? keccak256;
  const entries: BatchEntry[] = options.results.map(({ lease, output }) => ({ lease: lease.id as Hex, resultHash: hash(output), units: lease.units }));
  const receipt: WorkBatchReceipt = {
    owner: options.owner,
    session: options.session.address,
    resultsRoot: batchResultsRoot(entries, hash),
    count: entries.length,
    seq: String(options.seq),
  };
  const typedData = {
    domain: options.domain,
    types: workBatchReceiptTypes,
    primaryType: workBatchReceiptPrimaryType,
    message: batchReceiptMessage(receipt),
  } as const;
  const digest = options.digest ? options.digest(receipt) : hashTypedData(typedData);
  // An EIP-712 signature is the signature of the digest: a key that can sign a hash signs the one
  // already made instead of hashing the typed data again.
  const signature = options.session.sign ? await options.session.sign({ hash: digest }) : await options.session.signTypedData(typedData);
  return { receipt, signature, digest, entries };
}
