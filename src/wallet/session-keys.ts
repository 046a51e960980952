import type { Address, Hex, LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { CoordinatorClient } from '../contributor/coordinator-client.ts';
import { revocationMessage } from '../protocol/wallet-messages.ts';
import type { SessionKeyRecord, StoredSession, SurgeDb } from '../storage/surge-db.ts';
import { openSealedKey, sealPrivateKey } from './key-vault.ts';
import { sessionGrantMessage } from './session-grant.ts';

/** Whoever authorises a session: the browser's own owner key, or a connected wallet (one prompt). */
export interface SessionOwner {
  address: Address;
  signMessage(message: string): Promise<Hex>;
  /** The wallet's name, shown on the page; absent for the browser's own key. */
  wallet?: string;
}

/**
 * Makes a fresh session key, seals it in IndexedDB, has the owner sign one Sign-In with
 * Ethereum grant naming it, registers it with the coordinator, and makes it the current
 * session. Every receipt after that is signed by the session key, with no prompt.
 */
export async function createSession(options: {
  db: SurgeDb;
  client: CoordinatorClient;
  owner: SessionOwner;
  chainId: number;
  /** The partner site whose widget asked, credited with the session's work. */
  partner?: string;
}): Promise<StoredSession> {
  const { db, client, owner, partner } = options;
  const privateKey = generatePrivateKey();
  const address = privateKeyToAccount(privateKey).address;
  await db.put('sessionKeys', { ...(await sealPrivateKey(db, privateKey, address)), owner: owner.address, nextSeq: 0 });
  const url = new URL(client.baseUrl);
  const message = sessionGrantMessage({ owner: owner.address, session: address, domain: url.host, uri: url.origin, chainId: options.chainId });
  const granted = await client.createSession({ message, signature: await owner.signMessage(message), ...(partner ? { partner } : {}) });
  const session: StoredSession = {
    address,
    owner: owner.address,
    coordinator: client.baseUrl,
    expiresAt: granted.expiresAt,
    ...(owner.wallet ? { wallet: owner.wallet } : {}),
    ...(partner ? { partner } : {}),
  };
  const previous = await currentSession(db);
  await db.put('keys', session, 'session');
  // The previous key is kept too: a lane may be storing a lease it just got under it.
  await forgetUnusedSessionKeys(db, [address, ...(previous ? [previous.address] : [])]);
  return session;
}

/** Deletes session keys that are not kept and hold no lease in progress: a session makes one a day. */
async function forgetUnusedSessionKeys(db: SurgeDb, keep: Hex[]): Promise<void> {
  const inUse = new Set([...keep, ...(await db.getAll('leases')).map((lease) => lease.session.address)].map((a) => a.toLowerCase()));
  for (const address of await db.getAllKeys('sessionKeys')) {
    if (!inUse.has(address.toLowerCase())) await db.delete('sessionKeys', address);
  }
}

/** The current session, if one is stored. */
export async function currentSession(db: SurgeDb): Promise<StoredSession | undefined> {
  return (await db.get('keys', 'session')) as StoredSession | undefined;
}

/**
 * A session key ready to sign one receipt: the account, the owner it signs for, and the
 * next sequence number (taken atomically, so two lanes never share one).
 */
export async function sessionSigner(db: SurgeDb, address: Hex): Promise<{ account: LocalAccount; owner: Address; seq: number } | undefined> {
  const tx = db.transaction('sessionKeys', 'readwrite');
  const record = await tx.store.get(address);
  if (record) await tx.store.put({ ...record, nextSeq: record.nextSeq + 1 });
  await tx.done;
  if (!record) return undefined;
  return { account: privateKeyToAccount(await openSealedKey(db, record)), owner: record.owner, seq: record.nextSeq };
}

/** Whether this browser still holds a session key (a revoked one is forgotten). */
export async function hasSessionKey(db: SurgeDb, address: Hex): Promise<boolean> {
  return (await db.getKey('sessionKeys', address)) !== undefined;
}

/**
 * Revokes the current session: its own key signs the revocation (no prompt), the
 * coordinator refuses its leases and receipts from then on, and this browser forgets the
 * key. The controller makes a new session when it next needs one.
 */
export async function revokeCurrentSession(options: { db: SurgeDb; client: CoordinatorClient; chainId: number }): Promise<StoredSession | undefined> {
  const { db, client } = options;
  const session = await currentSession(db);
  if (!session) return undefined;
  const record = (await db.get('sessionKeys', session.address)) as SessionKeyRecord | undefined;
  if (record) {
    const account = privateKeyToAccount(await openSealedKey(db, record));
    const message = revocationMessage({ session: session.address, host: new URL(client.baseUrl).host, chainId: options.chainId });
    await client.revokeSession(session.address, { signature: await account.signMessage({ message }) });
  }
  await db.delete('sessionKeys', session.address);
  await db.delete('keys', 'session');
  return session;
}
