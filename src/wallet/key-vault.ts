import type { Hex } from 'viem';
import type { SealedKey, SessionKeyRecord, StoredKey, StoredSession, SurgeDb } from '../storage/surge-db.ts';

/**
 * Private keys at rest: each is encrypted with AES-GCM by one wrapping key that WebCrypto
 * made non-extractable, kept in IndexedDB as a CryptoKey object (structured-cloneable). A
 * script can still ask the browser to decrypt while the page is open, but the key bytes
 * never exist in JavaScript or on disk in the clear, so a copied profile folder or a dump
 * of IndexedDB yields ciphertext only. See docs/decisions/0006-session-keys.md.
 */

const kAlgorithm = 'AES-GCM';

/** The browser's wrapping key, made on first use. */
export async function wrappingKey(db: SurgeDb): Promise<CryptoKey> {
  const existing = await db.get('vault', 'wrapping');
  if (existing) return existing;
  const key = await crypto.subtle.generateKey({ name: kAlgorithm, length: 256 }, false, ['encrypt', 'decrypt']);
  try {
    await db.add('vault', key, 'wrapping');
    return key;
  } catch {
    // Another tab made one first: use it, or keys sealed there could not be opened here.
    return (await db.get('vault', 'wrapping'))!;
  }
}

function addressBytes(address: Hex): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(address.toLowerCase());
}

/** Encrypts a private key; its address is authenticated with it, so records cannot be swapped. */
export async function sealPrivateKey(db: SurgeDb, privateKey: Hex, address: Hex): Promise<SealedKey> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const plain = new TextEncoder().encode(privateKey);
  const ciphertext = await crypto.subtle.encrypt({ name: kAlgorithm, iv, additionalData: addressBytes(address) }, await wrappingKey(db), plain);
  return { address, iv, ciphertext };
}

/** Decrypts a sealed key; throws when it was sealed by another browser's wrapping key or altered. */
export async function openSealedKey(db: SurgeDb, sealed: SealedKey): Promise<Hex> {
  const plain = await crypto.subtle.decrypt(
    { name: kAlgorithm, iv: sealed.iv, additionalData: addressBytes(sealed.address) },
    await wrappingKey(db),
    sealed.ciphertext,
  );
  return new TextDecoder().decode(plain) as Hex;
}

/** First receipt sequence number of a session key carried over from version 2 (which shared one counter). */
const kLegacySeqBase = 2 ** 32;

type LegacySession = StoredKey & Omit<StoredSession, 'address'> & { nextSeq: number };

/**
 * Seals the raw keys that database versions 1 and 2 stored (owner key, session key, and the
 * session key copied into each lease), and removes the raw copies. Runs on every open; it
 * does nothing once no raw key is left.
 */
export async function sealLegacyKeys(db: SurgeDb): Promise<void> {
  const owner = await db.get('keys', 'owner');
  if (owner && 'privateKey' in owner) await db.put('keys', await sealPrivateKey(db, owner.privateKey, owner.address), 'owner');
  const session = (await db.get('keys', 'session')) as LegacySession | StoredSession | undefined;
  if (session && 'privateKey' in session) {
    const { privateKey, nextSeq, ...current } = session;
    const record: SessionKeyRecord = { ...(await sealPrivateKey(db, privateKey, session.address)), owner: session.owner, nextSeq };
    await db.put('sessionKeys', record);
    await db.put('keys', current, 'session');
  }
  for (const lease of await db.getAll('leases')) {
    const legacy = lease.session as { address: Hex; privateKey?: Hex };
    if (!legacy.privateKey) continue;
    if (!(await db.getKey('sessionKeys', legacy.address)) && session) {
      // Version 2 numbered every key's receipts from the newest session's counter: start far above it.
      const record = { ...(await sealPrivateKey(db, legacy.privateKey, legacy.address)), owner: session.owner, nextSeq: kLegacySeqBase };
      await db.put('sessionKeys', record);
    }
    await db.put('leases', { ...lease, session: { address: legacy.address } });
  }
}
