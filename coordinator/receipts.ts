import type { Hex, PrivateKeyAccount } from 'viem';
import {
  type ReceiptDomain,
  type WorkBatchReceipt,
  type WorkReceipt,
  workBatchReceiptPrimaryType,
  workBatchReceiptTypes,
  workReceiptPrimaryType,
  workReceiptTypes,
} from '../src/protocol/receipt.ts';
import { staticStructDigest } from './typed-data-digest.ts';

/** Each domain's digest functions, made once (a coordinator has one domain). */
const digesters = new WeakMap<ReceiptDomain, { receipt: (message: Record<string, unknown>) => Hex; batch: (message: Record<string, unknown>) => Hex }>();

function digestersOf(domain: ReceiptDomain) {
  let made = digesters.get(domain);
  if (!made) {
    made = {
      receipt: staticStructDigest(domain, workReceiptPrimaryType, workReceiptTypes.WorkReceipt),
      batch: staticStructDigest(domain, workBatchReceiptPrimaryType, workBatchReceiptTypes.WorkBatchReceipt),
    };
    digesters.set(domain, made);
  }
  return made;
}

/** The EIP-712 digest of a receipt under this coordinator's domain: the key of duplicates. */
export function receiptDigest(domain: ReceiptDomain, receipt: WorkReceipt): Hex {
  return digestersOf(domain).receipt({ ...receipt });
}

/** The EIP-712 digest of a batch receipt under this coordinator's domain: the key of resent batches. */
export function batchReceiptDigest(domain: ReceiptDomain, receipt: WorkBatchReceipt): Hex {
  return digestersOf(domain).batch({ ...receipt });
}

/** The coordinator's countersignature: its key signs the receipt's digest, as proof of validated work. */
export function countersign(coordinator: PrivateKeyAccount, digest: Hex): Promise<Hex> {
  return coordinator.sign({ hash: digest });
}

/** secp256k1's group order n; EIP-2 accepts only s ≤ n/2. */
const kSecp256k1N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

/**
 * Why a 65-byte signature is non-canonical, or undefined when it is canonical. For every
 * valid (r, s, v) there is a twin (r, n − s, v ^ 1) that recovers the same signer: a
 * "malleated" copy. Refusing s > n/2 (EIP-2, as OpenZeppelin's ECDSA does) leaves one
 * signature per receipt; duplicates are still keyed on the digest, so a twin never earns twice.
 */
export function nonCanonicalSignature(signature: Hex): string | undefined {
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  if (s === 0n || s > kSecp256k1N / 2n) return 'its s value is in the upper half of the curve order (s > n/2): the malleated twin of a signature';
  if (v !== 27 && v !== 28 && v !== 0 && v !== 1) return `its v value is ${v}, not 27 or 28`;
  return undefined;
}
