import { openDB } from 'idb';
import { recoverMessageAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { openSurgeDb, type SurgeDb } from '../storage/surge-db.ts';
import { sealPrivateKey, wrappingKey } from './key-vault.ts';
import { exportOwnerKey, loadOrCreateOwnerKey } from './owner-key.ts';
import { sessionSigner } from './session-keys.ts';

const freshName = () => `surge-test-${crypto.randomUUID()}`;

/** Every record of every store, with binary fields as hex, as one string to search. */
async function everything(db: SurgeDb): Promise<string> {
  const parts: string[] = [];
  for (const store of Array.from(db.objectStoreNames)) {
    for (const value of await db.getAll(store)) {
      parts.push(
        JSON.stringify(value, (_key, v) => {
          if (v instanceof ArrayBuffer || ArrayBuffer.isView(v)) {
            const bytes = v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
            return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
          }
          return v;
        }),
      );
    }
  }
  return parts.join('\n').toLowerCase();
}

describe('keys at rest in IndexedDB', () => {
  it("keeps the owner key sealed: no raw private key is stored, and the wrapping key can't be exported", async () => {
    const db = await openSurgeDb(freshName());
    const owner = await loadOrCreateOwnerKey(db);
    const privateKey = await exportOwnerKey(db);
    expect(privateKeyToAccount(privateKey).address).toBe(owner.address);
    expect(await everything(db)).not.toContain(privateKey.slice(2).toLowerCase());
    expect(Object.keys(owner)).not.toContain('privateKey');

    const wrapping = await wrappingKey(db);
    expect(wrapping).toBeInstanceOf(CryptoKey);
    expect(wrapping.extractable).toBe(false);
    await expect(crypto.subtle.exportKey('raw', wrapping)).rejects.toThrow();
    db.close();
  });

  it('a session key still signs after the database is opened again, numbering its receipts itself', async () => {
    const name = freshName();
    const db = await openSurgeDb(name);
    const privateKey = generatePrivateKey();
    const address = privateKeyToAccount(privateKey).address;
    await db.put('sessionKeys', { ...(await sealPrivateKey(db, privateKey, address)), owner: address, nextSeq: 0 });
    expect(await everything(db)).not.toContain(privateKey.slice(2).toLowerCase());
    db.close();

    const reopened = await openSurgeDb(name);
    const first = await sessionSigner(reopened, address);
    const second = await sessionSigner(reopened, address);
    expect(first?.account.address).toBe(address);
    expect([first?.seq, second?.seq]).toEqual([0, 1]);
    const signature = await first!.account.signMessage({ message: 'still here' });
    expect(await recoverMessageAddress({ message: 'still here', signature })).toBe(address);
    expect(await sessionSigner(reopened, privateKeyToAccount(generatePrivateKey()).address)).toBeUndefined();
    reopened.close();
  });

  it('a sealed key altered or moved to another address does not open', async () => {
    const db = await openSurgeDb(freshName());
    const privateKey = generatePrivateKey();
    const address = privateKeyToAccount(privateKey).address;
    const sealed = await sealPrivateKey(db, privateKey, address);
    const other = privateKeyToAccount(generatePrivateKey()).address;
    await db.put('sessionKeys', { ...sealed, address: other, owner: other, nextSeq: 0 });
    await expect(sessionSigner(db, other)).rejects.toThrow();
    db.close();
  });

  it('seals the raw keys a version 2 database holds, keeping their addresses and sequence', async () => {
    const name = freshName();
    const v2 = await openDB(name, 2, {
      upgrade(db) {
        db.createObjectStore('settings');
        db.createObjectStore('keys');
        db.createObjectStore('leases', { keyPath: 'lease.id' });
        db.createObjectStore('outbox', { keyPath: 'digest' });
        db.createObjectStore('receipts', { keyPath: 'digest' });
        db.createObjectStore('calibration', { keyPath: 'key' });
      },
    });
    const ownerKey = generatePrivateKey();
    const owner = privateKeyToAccount(ownerKey).address;
    const sessionKey = generatePrivateKey();
    const session = privateKeyToAccount(sessionKey).address;
    const oldSessionKey = generatePrivateKey();
    const oldSession = privateKeyToAccount(oldSessionKey).address;
    await v2.put('keys', { privateKey: ownerKey, address: owner }, 'owner');
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    await v2.put('keys', { privateKey: sessionKey, address: session, owner, coordinator: 'http://x', expiresAt, nextSeq: 12 }, 'session');
    const leaseId = `0x${'ab'.repeat(32)}`;
    await v2.put('leases', { lease: { id: leaseId }, coordinator: 'http://x', session: { privateKey: oldSessionKey, address: oldSession }, receivedAt: '' });
    v2.close();

    const db = await openSurgeDb(name);
    const stored = await everything(db);
    for (const key of [ownerKey, sessionKey, oldSessionKey]) expect(stored).not.toContain(key.slice(2).toLowerCase());
    expect(await exportOwnerKey(db)).toBe(ownerKey);
    expect(await db.get('keys', 'session')).toEqual({ address: session, owner, coordinator: 'http://x', expiresAt });
    expect((await db.get('leases', leaseId))?.session).toEqual({ address: oldSession });
    const current = await sessionSigner(db, session);
    expect(current).toMatchObject({ owner, seq: 12 });
    expect(current!.account.address).toBe(session);
    const old = await sessionSigner(db, oldSession);
    expect(old!.account.address).toBe(oldSession);
    expect(old!.seq).toBe(2 ** 32);
    db.close();
  });
});
