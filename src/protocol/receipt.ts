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
export function batchResultsRoot(entries: readonly BatchEntry[], hash: (data: Uint8Array) => Hex = keccak256): Hex {
  // Written straight into bytes: the coordinator computes this twice for every batch, and
  // building it as one long hex string (then decoding it) made a tenth of its garbage. viem's
  // hexToBytes and numberToBytes make the same bytes at twice the CPU and a small array each.
  const encoded = new Uint8Array(entries.length * 96);
  for (const [i, entry] of entries.entries()) {
    if (!putBytes32(encoded, i * 96, entry.lease)) throw new Error(`entry ${i}'s lease is not 32 bytes of 0x-hex: ${entry.lease}`);
    if (!putBytes32(encoded, i * 96 + 32, entry.resultHash)) throw new Error(`entry ${i}'s resultHash is not 32 bytes of 0x-hex: ${entry.resultHash}`);
    if (!putUint256(encoded, i * 96 + 64, BigInt(entry.units))) throw new Error(`entry ${i}'s units are outside the uint256 range: ${entry.units}`);
  }
  return hash(encoded);
}

/** The value of each ASCII hex digit, -1 for any other character. */
const hexDigitValues = new Int8Array(128).fill(-1);
for (let digit = 0; digit < 16; digit++) {
  hexDigitValues['0123456789abcdef'.charCodeAt(digit)] = digit;
  hexDigitValues['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}

/** Writes the 32 bytes of a 0x-hex word at `offset`; false if `hex` is not one. */
function putBytes32(target: Uint8Array, offset: number, hex: string): boolean {
  if (hex.length !== 66 || !hex.startsWith('0x')) return false;
  for (let i = 0; i < 32; i++) {
    const high = hexDigitValues[hex.charCodeAt(2 + 2 * i)] ?? -1;
    const low = hexDigitValues[hex.charCodeAt(3 + 2 * i)] ?? -1;
    if (high < 0 || low < 0) return false;
    target[offset + i] = (high << 4) | low;
  }
  return true;
}

const kUint256Limit = 2n ** 256n;

/** Writes a uint256 big-endian at `offset`, where the bytes are zero; false if `value` is outside the range. */
function putUint256(target: Uint8Array, offset: number, value: bigint): boolean {
  if (value < 0n || value >= kUint256Limit) return false;
  for (let i = 31; i >= 0 && value > 0n; i--) {
    target[offset + i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return true;
}

/** The batch receipt in the shape viem's typed-data functions take. */
export function batchReceiptMessage(receipt: WorkBatchReceipt) {
  return { owner: receipt.owner, session: receipt.session, resultsRoot: receipt.resultsRoot, count: receipt.count, seq: BigInt(receipt.seq) };
}
