import type { Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { SealedKey, SurgeDb } from '../storage/surge-db.ts';
import { openSealedKey, sealPrivateKey } from './key-vault.ts';

/**
 * The browser's own owner key, used when no wallet is connected: made once, kept in
 * IndexedDB sealed by the non-extractable wrapping key (`key-vault.ts`), and the address
 * credit is paid to until the visitor links it to a wallet.
 */
export async function loadOrCreateOwnerKey(db: SurgeDb): Promise<SealedKey> {
  const existing = await db.get('keys', 'owner');
  if (existing) return existing as SealedKey;
  const privateKey = generatePrivateKey();
  const key = await sealPrivateKey(db, privateKey, privateKeyToAccount(privateKey).address);
  // `add` fails if another tab stored a key first; then that one is the owner key.
  try {
    await db.add('keys', key, 'owner');
    return key;
  } catch {
    return (await db.get('keys', 'owner')) as SealedKey;
  }
}

/** The owner key as an account that signs (grants, links) with no prompt. */
export async function ownerAccount(db: SurgeDb): Promise<LocalAccount> {
  return privateKeyToAccount(await exportOwnerKey(db));
}

/**
 * The owner key's private key, for the visitor to keep (export). Whoever holds it can
 * claim what it earned: the page says so before showing it.
 */
export async function exportOwnerKey(db: SurgeDb): Promise<Hex> {
  return openSealedKey(db, await loadOrCreateOwnerKey(db));
}
