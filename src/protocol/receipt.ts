import { type Address, type Hex, keccak256, type TypedDataDomain } from 'viem';

/**
 * The EIP-712 `WorkReceipt` a session key signs for every result (see DESIGN.md, Wallet
 * and rewards). It binds the owner who earns, the session key that signed, the lease the
 * work was done under, the keccak-256 of the output bytes, the credit units the lease
 * offered, and a per-session sequence number. Duplicates are keyed on the typed-data
 * digest, never on signature bytes (signatures are malleable; digests are not).
 */
export const workReceiptTypes = {
  WorkReceipt: [
    { name: 'owner', type: 'address' },
    { name: 'session', type: 'address' },
    { name: 'lease', type: 'bytes32' },
    { name: 'resultHash', type: 'bytes32' },
    { name: 'units', type: 'uint256' },
    { name: 'seq', type: 'uint64' },
  ],
} as const;

export const workReceiptPrimaryType = 'WorkReceipt';

/** A receipt as it travels in JSON: `units` and `seq` as decimal strings. */
export interface WorkReceipt {
  owner: Address;
  session: Address;
  lease: Hex;
  resultHash: Hex;
  units: string;
  seq: string;
}

/** The receipt in the shape viem's typed-data functions take. */
export function receiptMessage(receipt: WorkReceipt) {
  return {
    owner: receipt.owner,
    session: receipt.session,
    lease: receipt.lease,
    resultHash: receipt.resultHash,
    units: BigInt(receipt.units),
    seq: BigInt(receipt.seq),
  };
}

export interface ReceiptDomain extends TypedDataDomain {
  name: string;
  version: string;
  chainId: number;
  verifyingContract: Address;
}

/** The resource URI in a Sign-In with Ethereum message that names the session key. */
export function sessionResource(session: Address): string {
  return `urn:surge:session:${session.toLowerCase()}`;
}

/**
 * The EIP-712 `WorkBatchReceipt`: one signature by the session key over many results, so the
 * coordinator recovers one signer per batch instead of one per result (about 1.5 ms each in
 * JavaScript). `resultsRoot` commits to the ordered list of (lease, resultHash, units), see
 * `batchResultsRoot`; `count` is that list's length; `seq` comes from the same per-session
 * sequence as single receipts. Same domain as `WorkReceipt`. See docs/decisions/0010-result-batches.md.
 */
export const workBatchReceiptTypes = {
  WorkBatchReceipt: [
    { name: 'owner', type: 'address' },
    { name: 'session', type: 'address' },
    { name: 'resultsRoot', type: 'bytes32' },
    { name: 'count', type: 'uint32' },
    { name: 'seq', type: 'uint64' },
  ],
} as const;

export const workBatchReceiptPrimaryType = 'WorkBatchReceipt';

/** A batch receipt as it travels in JSON: `seq` as a decimal string. */
export interface WorkBatchReceipt {
  owner: Address;
  session: Address;
  resultsRoot: Hex;
  count: number;
  seq: string;
}

/** One result a batch receipt commits to. */
export interface BatchEntry {
  lease: Hex;
  resultHash: Hex;
  /** Credit units the lease offered, in decimal. */
  units: string;
}

/**
 * keccak256 of the entries' `abi.encode(bytes32 lease, bytes32 resultHash, uint256 units)`,
 * concatenated in order: a Solidity contract can recompute it, and changing, dropping,
 * adding or reordering an entry changes it.
 */
export function batchResultsRoot(entries: readonly BatchEntry[], hash: (data: Hex) => Hex = keccak256): Hex {
  const words = entries.map((entry) => `${entry.lease.slice(2)}${entry.resultHash.slice(2)}${BigInt(entry.units).toString(16).padStart(64, '0')}`);
  return hash(`0x${words.join('')}` as Hex);
}

/** The batch receipt in the shape viem's typed-data functions take. */
export function batchReceiptMessage(receipt: WorkBatchReceipt) {
  return { owner: receipt.owner, session: receipt.session, resultsRoot: receipt.resultsRoot, count: receipt.count, seq: BigInt(receipt.seq) };
}
