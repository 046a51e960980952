import type { Address, Hex, TypedDataDomain } from 'viem';

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
