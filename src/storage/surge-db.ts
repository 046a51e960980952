import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { Hex } from 'viem';
import type { Backend, KernelName, Lease, ResultRequest } from '../protocol/schemas.ts';
import { sealLegacyKeys } from '../wallet/key-vault.ts';

export type BackendSetting = Backend | 'auto';

export interface Settings {
  backend: BackendSetting;
  /** CPU workers; undefined for the default (hardware threads − 1, at least 1). */
  cpuWorkers?: number;
  /** Percent of the time each CPU worker computes (a duty cycle); the rest it sleeps. */
  cpuLimit: number;
  /** Percent of the time the GPU worker keeps the GPU busy, enforced between submits. */
  gpuLimit: number;
  /** Compute only after no input on the page for `idleSeconds`. */
  onlyWhenIdle: boolean;
  idleSeconds: number;
  /** Pause while the tab is hidden. */
  pauseWhenHidden: boolean;
  /** Pause on battery below this charge (percent), resume at or above `batteryResumePercent` or on charging. */
  batteryPausePercent: number;
  batteryResumePercent: number;
  /** Halve the limits under serious Compute Pressure and pause under critical (off by default on a desktop: see limit-monitor.ts). */
  backOffUnderPressure: boolean;
}

export const defaultSettings: Settings = {
  backend: 'auto',
  cpuLimit: 100,
  gpuLimit: 100,
  onlyWhenIdle: false,
  idleSeconds: 60,
  pauseWhenHidden: false,
  batteryPausePercent: 20,
  batteryResumePercent: 30,
  backOffUnderPressure: false,
};

/** One kernel's measured speed on each backend here, in work-estimate operations per second. */
export interface CalibrationRecord {
  key: string;
  kernel: KernelName;
  wasm: number;
  webgpu: number;
  measuredAt: string;
}

/** A raw key as versions 1 and 2 stored it; version 3 seals it on open (`sealLegacyKeys`). */
export interface StoredKey {
  privateKey: Hex;
  address: Hex;
}

/**
 * A private key encrypted (AES-GCM) by the browser's non-extractable wrapping key (the
 * `vault` store); the address is the additional authenticated data. See docs/decisions/0006.
 */
export interface SealedKey {
  address: Hex;
  iv: Uint8Array<ArrayBuffer>;
  ciphertext: ArrayBuffer;
}

/** A session key, sealed, with the owner it signs for and its own receipt sequence. */
export interface SessionKeyRecord extends SealedKey {
  owner: Hex;
  /** The next receipt sequence number of this session key. */
  nextSeq: number;
}

/** The current session (its key is in `sessionKeys`). */
export interface StoredSession {
  address: Hex;
  owner: Hex;
  coordinator: string;
  expiresAt: string;
  /** The wallet that signed the grant (its name), when the owner is a connected wallet. */
  wallet?: string;
  /** The partner site whose widget made this session, if any. */
  partner?: string;
}

/** A lease being worked on, with its latest checkpoint, so a reload resumes it. */
export interface StoredLease {
  lease: Lease;
  coordinator: string;
  /** The session key the lease was issued to: its result must be signed with it, even after a renewal. */
  session: { address: Hex };
  checkpoint?: Uint8Array;
  receivedAt: string;
}

/** A finished result waiting for the coordinator to accept it. */
export interface OutboxEntry {
  digest: Hex;
  coordinator: string;
  request: ResultRequest;
  queuedAt: string;
  attempts: number;
  lastError?: string;
  /** Epoch milliseconds before which it is not sent again (backoff). */
  notBefore: number;
  /** How often the coordinator answered that it waits for other replicas to agree; absent before. */
  pendingChecks?: number;
}

/** A result the coordinator validated, with its countersignature: the contributor's proof. */
export interface AcceptedReceipt {
  digest: Hex;
  lease: Hex;
  credit: string;
  countersignature: Hex;
  acceptedAt: string;
}

interface SurgeSchema extends DBSchema {
  settings: { key: 'settings'; value: Settings };
  keys: { key: 'owner' | 'session'; value: SealedKey | StoredSession | StoredKey };
  /** The non-extractable AES-GCM key that seals the private keys ('wrapping'). */
  vault: { key: 'wrapping'; value: CryptoKey };
  sessionKeys: { key: Hex; value: SessionKeyRecord };
  leases: { key: string; value: StoredLease };
  outbox: { key: Hex; value: OutboxEntry };
  receipts: { key: Hex; value: AcceptedReceipt };
  calibration: { key: string; value: CalibrationRecord };
}

export type SurgeDb = IDBPDatabase<SurgeSchema>;

export const kDatabaseName = 'surge';

/** Opens (and on first use creates) the contributor's IndexedDB database. */
export async function openSurgeDb(name = kDatabaseName): Promise<SurgeDb> {
  const db = await openDB<SurgeSchema>(name, 3, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('settings');
        db.createObjectStore('keys');
        db.createObjectStore('leases', { keyPath: 'lease.id' });
        db.createObjectStore('outbox', { keyPath: 'digest' });
        db.createObjectStore('receipts', { keyPath: 'digest' });
      }
      if (oldVersion < 2) db.createObjectStore('calibration', { keyPath: 'key' });
      if (oldVersion < 3) {
        db.createObjectStore('vault');
        db.createObjectStore('sessionKeys', { keyPath: 'address' });
      }
    },
  });
  // WebCrypto cannot run inside the upgrade transaction (it would commit): raw keys from
  // versions 1 and 2 are sealed right after it.
  await sealLegacyKeys(db);
  return db;
}

/** The stored settings over `defaults` (a phone's defaults are lower: see device-defaults.ts). */
export async function loadSettings(db: SurgeDb, defaults: Settings = defaultSettings): Promise<Settings> {
  return { ...defaults, ...(await db.get('settings', 'settings')) };
}

export async function saveSettings(db: SurgeDb, settings: Settings): Promise<void> {
  await db.put('settings', settings, 'settings');
}
