import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { StoredKey, SurgeDb } from '../storage/surge-db.ts';

/**
 * The browser's own owner key, used when no wallet is connected: made once, kept in
 * IndexedDB, and the address credit is paid to. (Wrapping it with a non-extractable
 * WebCrypto key, export and linking to a wallet come with the wallet issue.)
 */
export async function loadOrCreateOwnerKey(db: SurgeDb): Promise<StoredKey> {
  const existing = await db.get('keys', 'owner');
  if (existing) return existing;
  const privateKey = generatePrivateKey();
  const key = { privateKey, address: privateKeyToAccount(privateKey).address };
  // `add` fails if another tab stored a key first; then that one is the owner key.
  try {
    await db.add('keys', key, 'owner');
    return key;
  } catch {
    return (await db.get('keys', 'owner'))!;
  }
}
