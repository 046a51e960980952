import { type Remote, wrap } from 'comlink';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { ApiError } from '../errors/api-error.ts';
import { GpuError } from '../errors/gpu-error.ts';
import { KernelError } from '../errors/kernel-error.ts';
import { errorMessage, SurgeError } from '../errors/surge-error.ts';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import { adapterLabel } from '../gpu/gpu-context.ts';
import type { ReceiptDomain } from '../protocol/receipt.ts';
import type { Backend, InfoResponse, Lease, WorkSpec } from '../protocol/schemas.ts';
import { type BackendSetting, loadSettings, type StoredLease, type StoredSession, type SurgeDb } from '../storage/surge-db.ts';
import { loadOrCreateOwnerKey } from '../wallet/owner-key.ts';
import { signWorkReceipt } from '../wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../wallet/session-grant.ts';
import type { BackendProbe, KernelWorkerApi } from '../worker/kernel-worker-api.ts';
import { CoordinatorClient } from './coordinator-client.ts';
import { Outbox } from './outbox.ts';

export type ContributorState = 'idle' | 'starting' | 'running' | 'paused' | 'waiting' | 'error';

/** Everything the page shows about the contribution; replaced whole on every change. */
export interface ContributorSnapshot {
  state: ContributorState;
  backend?: Backend;
  device?: string;
  unit?: { id: number; jobName: string; jobPurpose: string; progress: number };
  submitted: number;
  validated: number;
  rejected: number;
  credit: string;
  waitingResults: number;
  owner?: Address;
  notice?: string;
}

/** One compute step's budget: a pause takes effect within about this long. */
const kStepBudgetMs = 200;
/** Checkpoints go to IndexedDB at least this often while computing. */
const kCheckpointEveryMs = 5000;
/** How often the outbox is retried while results wait. */
const kOutboxPollMs = 2000;

export interface ContributorOptions {
  coordinatorUrl: string;
  db: SurgeDb;
  /** Makes the kernel worker; tests may pass another. */
  createWorker?: () => Worker;
}

const defaultWorker = () => new Worker(new URL('../worker/kernel-worker.ts', import.meta.url), { type: 'module', name: 'surge-kernel' });

/**
 * The contributor's controller, on the main thread: it holds the session, leases work,
 * drives the kernel worker in short steps (so pause is quick), checkpoints to IndexedDB,
 * signs a receipt for each result, and sends results through the outbox. Nothing starts
 * until `start()`, which the page calls only after the visitor consents.
 *
 * @example
 * const controller = new ContributorController({ coordinatorUrl: location.origin, db: await openSurgeDb() });
 * controller.addEventListener('change', () => render(controller.snapshot));
 * await controller.start();
 */
export class ContributorController extends EventTarget {
  snapshot: ContributorSnapshot = { state: 'idle', submitted: 0, validated: 0, rejected: 0, credit: '0', waitingResults: 0 };

  private readonly client: CoordinatorClient;
  private readonly outbox: Outbox;
  private readonly createWorker: () => Worker;
  private worker: Remote<KernelWorkerApi> | undefined;
  private workerHandle: Worker | undefined;
  private info: InfoResponse | undefined;
  private session: StoredSession | undefined;
  private probe: BackendProbe | undefined;
  private paused = false;
  private stopped = false;
  private wake: (() => void) | undefined;
  private outboxTimer: ReturnType<typeof setInterval> | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ContributorOptions) {
    super();
    registerErrorTransfer();
    this.client = new CoordinatorClient(options.coordinatorUrl);
    this.outbox = new Outbox(options.db, this.client);
    this.createWorker = options.createWorker ?? defaultWorker;
  }

  /** Starts contributing. Call only after the visitor said yes. */
  start(): Promise<void> {
    if (this.loop) {
      this.resume();
      return Promise.resolve();
    }
    this.stopped = false;
    this.paused = false;
    this.update({ state: 'starting', notice: undefined });
    this.loop = this.run().catch((error) => this.fail(error));
    this.outboxTimer = setInterval(() => void this.flushOutbox(), kOutboxPollMs);
    return Promise.resolve();
  }

  /** Stops computing after the current step (well within a second); results still send. */
  pause(): void {
    if (this.snapshot.state === 'idle' || this.snapshot.state === 'error') return;
    this.paused = true;
    this.update({ state: 'paused' });
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.update({ state: 'running' });
    this.wake?.();
  }

  /** Stops everything and ends the worker; the current lease stays in IndexedDB for next time. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    clearInterval(this.outboxTimer);
    await this.loop;
    this.loop = undefined;
    this.workerHandle?.terminate();
    this.worker = undefined;
    this.workerHandle = undefined;
    this.update({ state: 'idle', unit: undefined });
  }

  private update(patch: Partial<ContributorSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    this.dispatchEvent(new Event('change'));
  }

  private fail(error: unknown): void {
    console.error(error);
    this.update({ state: 'error', notice: errorMessage(error), unit: undefined });
    clearInterval(this.outboxTimer);
    this.loop = undefined;
  }

  private async run(): Promise<void> {
    this.info = await this.client.info();
    const worker = this.ensureWorker();
    this.probe = await worker.probe();
    const backend = chooseBackend((await loadSettings(this.options.db)).backend, this.probe);
    this.update({ backend, device: deviceLabel(backend, this.probe), state: 'running' });
    await this.refreshCredit();
    await this.flushOutbox();

    while (!this.stopped) {
      if (this.paused) {
        await this.sleepUntilWoken();
        continue;
      }
      const stored = await this.nextLease(backend);
      if (!stored) continue;
      await this.compute(stored, backend);
      await this.flushOutbox();
    }
  }

  private ensureWorker(): Remote<KernelWorkerApi> {
    if (!this.worker) {
      this.workerHandle = this.createWorker();
      this.worker = wrap<KernelWorkerApi>(this.workerHandle);
    }
    return this.worker;
  }

  private sleepUntilWoken(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = timeoutMs === undefined ? undefined : setTimeout(resolve, timeoutMs);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  /** A session key authorised by the owner key, made once and kept until it expires. */
  private async ensureSession(renew = false): Promise<StoredSession> {
    const db = this.options.db;
    const current = this.session ?? ((await db.get('keys', 'session')) as StoredSession | undefined);
    if (!renew && current && current.coordinator === this.client.baseUrl && Date.parse(current.expiresAt) > Date.now() + 60_000) {
      this.session = current;
      this.update({ owner: current.owner });
      return current;
    }
    const owner = await loadOrCreateOwnerKey(db);
    const ownerAccount = privateKeyToAccount(owner.privateKey);
    const sessionKey = crypto.getRandomValues(new Uint8Array(32));
    const privateKey = `0x${Array.from(sessionKey, (b) => b.toString(16).padStart(2, '0')).join('')}` as Hex;
    const sessionAccount = privateKeyToAccount(privateKey);
    const url = new URL(this.client.baseUrl);
    const message = sessionGrantMessage({
      owner: ownerAccount.address,
      session: sessionAccount.address,
      domain: url.host,
      uri: url.origin,
      chainId: this.info!.domain.chainId,
    });
    const granted = await this.client.createSession({ message, signature: await ownerAccount.signMessage({ message }) });
    const session: StoredSession = {
      privateKey,
      address: sessionAccount.address,
      owner: ownerAccount.address,
      coordinator: this.client.baseUrl,
      expiresAt: granted.expiresAt,
      nextSeq: 0,
    };
    await db.put('keys', session, 'session');
    this.session = session;
    this.update({ owner: session.owner });
    return session;
  }

  /** The lease in IndexedDB from before a reload, else a new one; undefined after waiting when there is no work. */
  private async nextLease(backend: Backend): Promise<StoredLease | undefined> {
    const db = this.options.db;
    const now = Date.now();
    for (const stored of await db.getAll('leases')) {
      if (stored.coordinator === this.client.baseUrl && Date.parse(stored.lease.deadline) > now) return stored;
      await db.delete('leases', stored.lease.id);
    }
    let session = await this.ensureSession();
    let answer: Awaited<ReturnType<CoordinatorClient['lease']>>;
    try {
      answer = await this.client.lease({ session: session.address, backends: [backend] });
    } catch (error) {
      if (error instanceof ApiError && (error.code === 'SURGE_E_SESSION_UNKNOWN' || error.code === 'SURGE_E_SESSION_EXPIRED')) {
        session = await this.ensureSession(true);
        answer = await this.client.lease({ session: session.address, backends: [backend] });
      } else if (error instanceof ApiError && error.retryable) {
        this.update({ state: 'waiting', notice: `${error.shortMessage} Trying again shortly.` });
        await this.sleepUntilWoken(5000);
        if (!this.paused) this.update({ state: 'running' });
        return undefined;
      } else {
        throw error;
      }
    }
    if (!answer.lease) {
      this.update({ state: 'waiting', unit: undefined, notice: 'No work is available right now; asking again shortly.' });
      await this.sleepUntilWoken(answer.retryAfterMs);
      if (!this.paused) this.update({ state: 'running', notice: undefined });
      return undefined;
    }
    const stored: StoredLease = { lease: answer.lease, coordinator: this.client.baseUrl, receivedAt: new Date().toISOString() };
    await db.put('leases', stored);
    if (this.snapshot.state === 'waiting') this.update({ state: 'running', notice: undefined });
    return stored;
  }

  /** Runs one leased unit to its result and queues the signed result in the outbox. */
  private async compute(stored: StoredLease, backend: Backend): Promise<void> {
    const { lease } = stored;
    const worker = this.ensureWorker();
    let activeBackend = backend;
    const showUnit = (progress: number) => this.update({ unit: { id: lease.unitId, jobName: lease.jobName, jobPurpose: lease.jobPurpose, progress } });
    const request = { spec: { kernel: lease.kernel, params: lease.params } as WorkSpec };
    try {
      await worker.start({ ...request, backend: activeBackend, ...(stored.checkpoint ? { checkpoint: stored.checkpoint } : {}) });
    } catch (error) {
      if (!(error instanceof KernelError)) throw error;
      if (error.code !== 'SURGE_E_KERNEL_CHECKPOINT') {
        // This unit cannot run here (too large, unknown kernel): let it go to someone else.
        await this.options.db.delete('leases', lease.id);
        this.update({ notice: `Skipped unit #${lease.unitId}: ${error.shortMessage}` });
        return;
      }
      // A checkpoint that does not fit its unit is dropped; the unit starts over.
      await worker.start({ ...request, backend: activeBackend });
    }
    let progress = 0;
    let lastCheckpoint = performance.now();
    showUnit(progress);

    while (progress < 1) {
      if (this.stopped) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        await worker.cancel();
        return;
      }
      if (this.paused) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        lastCheckpoint = performance.now();
        await this.sleepUntilWoken();
        continue;
      }
      try {
        progress = await worker.step(kStepBudgetMs);
      } catch (error) {
        if (!(error instanceof GpuError) || activeBackend !== 'webgpu') throw error;
        // The GPU went away mid-unit: carry on with WASM from the last checkpoint.
        activeBackend = 'wasm';
        this.update({ backend: 'wasm', device: deviceLabel('wasm', this.probe!), notice: `${error.shortMessage} Continuing on the CPU (WASM).` });
        const saved = (await this.options.db.get('leases', lease.id))?.checkpoint;
        await worker.start({ ...request, backend: 'wasm', ...(saved ? { checkpoint: saved } : {}) });
        continue;
      }
      showUnit(progress);
      if (progress < 1 && performance.now() - lastCheckpoint > kCheckpointEveryMs) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        lastCheckpoint = performance.now();
      }
    }

    const output = await worker.finish();
    await this.queueResult(lease, output);
  }

  private async saveCheckpoint(stored: StoredLease, checkpoint: Uint8Array): Promise<void> {
    stored.checkpoint = checkpoint;
    await this.options.db.put('leases', stored);
  }

  private async queueResult(lease: Lease, output: Uint8Array): Promise<void> {
    const session = this.session!;
    const seq = session.nextSeq++;
    await this.options.db.put('keys', session, 'session');
    const domain = this.info!.domain as ReceiptDomain;
    const signed = await signWorkReceipt({ session: privateKeyToAccount(session.privateKey), owner: session.owner, domain, lease, output, seq });
    await this.outbox.add(
      {
        digest: signed.digest,
        coordinator: this.client.baseUrl,
        request: { lease: lease.id, output: toBase64(output), receipt: signed.receipt, signature: signed.signature },
      },
      lease.id as Hex,
    );
    this.update({ submitted: this.snapshot.submitted + 1, unit: undefined });
  }

  private async flushOutbox(): Promise<void> {
    try {
      const report = await this.outbox.flush();
      const patch: Partial<ContributorSnapshot> = { waitingResults: report.waiting };
      if (report.rejected.length > 0) {
        patch.rejected = this.snapshot.rejected + report.rejected.length;
        patch.notice = `A result was refused: ${report.rejected.at(-1)!.error.shortMessage}`;
      }
      this.update(patch);
      if (report.accepted.length > 0) await this.refreshCredit();
    } catch (error) {
      this.update({ notice: errorMessage(error) });
    }
  }

  /** Validated results and credit as the coordinator's ledger has them. */
  private async refreshCredit(): Promise<void> {
    const owner = this.session?.owner ?? (await loadOrCreateOwnerKey(this.options.db)).address;
    try {
      const credit = await this.client.ownerCredit(owner);
      this.update({ owner, validated: credit.validatedResults, credit: credit.credit });
    } catch (error) {
      if (!(error instanceof SurgeError)) throw error;
    }
  }
}

/** WebGPU when a real (not software) adapter exists, else WASM; a setting can force either. */
export function chooseBackend(setting: BackendSetting, probe: BackendProbe): Backend {
  if (setting === 'webgpu') {
    if (!probe.webgpu.available) {
      throw new GpuError(
        'SURGE_E_GPU_UNAVAILABLE',
        `WebGPU is forced in the settings but is not available here: ${probe.webgpu.reason} Choose "Automatic" or "CPU (WASM)".`,
      );
    }
    return 'webgpu';
  }
  if (setting === 'wasm') return 'wasm';
  return probe.webgpu.available && !probe.webgpu.adapter.isFallbackAdapter ? 'webgpu' : 'wasm';
}

function deviceLabel(backend: Backend, probe: BackendProbe): string {
  if (backend === 'webgpu' && probe.webgpu.available) return adapterLabel(probe.webgpu.adapter);
  return probe.wasm.simd ? 'CPU, WebAssembly SIMD' : 'CPU, WebAssembly';
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
