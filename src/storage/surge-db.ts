import { type DBSchema, type IDBPDatabase, openDB } from 'idb';
import type { Hex } from 'viem';
import type { Backend, KernelName, Lease, ResultRequest } from '../protocol/schemas.ts';

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

export interface StoredKey {
  privateKey: Hex;
  address: Hex;
}

export interface StoredSession extends StoredKey {
  owner: Hex;
  coordinator: string;
  expiresAt: string;
  /** The next receipt sequence number of this session. */
  nextSeq: number;
}

/** A lease being worked on, with its latest checkpoint, so a reload resumes it. */
export interface StoredLease {
  lease: Lease;
  coordinator: string;
  /** The session key the lease was issued to: its result must be signed with it, even after a renewal. */
  session: StoredKey;
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
  keys: { key: 'owner' | 'session'; value: StoredKey | StoredSession };
  leases: { key: string; value: StoredLease };
  outbox: { key: Hex; value: OutboxEntry };
  receipts: { key: Hex; value: AcceptedReceipt };
  calibration: { key: string; value: CalibrationRecord };
}

export type SurgeDb = IDBPDatabase<SurgeSchema>;

export const kDatabaseName = 'surge';

/** Opens (and on first use creates) the contributor's IndexedDB database. */
export function openSurgeDb(name = kDatabaseName): Promise<SurgeDb> {
  return openDB<SurgeSchema>(name, 2, {
    upgrade(db, oldVersion) {
      if (oldVersion < 1) {
        db.createObjectStore('settings');
        db.createObjectStore('keys');
        db.createObjectStore('leases', { keyPath: 'lease.id' });
        db.createObjectStore('outbox', { keyPath: 'digest' });
        db.createObjectStore('receipts', { keyPath: 'digest' });
      }
      if (oldVersion < 2) db.createObjectStore('calibration', { keyPath: 'key' });
    },
  });
}

/** The stored settings over `defaults` (a phone's defaults are lower: see device-defaults.ts). */
export async function loadSettings(db: SurgeDb, defaults: Settings = defaultSettings): Promise<Settings> {
  return { ...defaults, ...(await db.get('settings', 'settings')) };
}

export async function saveSettings(db: SurgeDb, settings: Settings): Promise<void> {
  await db.put('settings', settings, 'settings');
}
