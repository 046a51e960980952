import type { Address, Hex } from 'viem';
import { ApiError } from '../errors/api-error.ts';
import { GpuError } from '../errors/gpu-error.ts';
import { KernelError } from '../errors/kernel-error.ts';
import { errorMessage, SurgeError } from '../errors/surge-error.ts';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import { adapterLabel } from '../gpu/gpu-context.ts';
import type { ReceiptDomain } from '../protocol/receipt.ts';
import type { Backend, InfoResponse, KernelName, WorkSpec } from '../protocol/schemas.ts';
import { loadSettings, type Settings, type StoredLease, type StoredSession, type SurgeDb } from '../storage/surge-db.ts';
import { loadOrCreateOwnerKey, ownerAccount } from '../wallet/owner-key.ts';
import { signWorkReceipt } from '../wallet/receipt-signer.ts';
import { createSession, currentSession, hasSessionKey, sessionSigner } from '../wallet/session-keys.ts';
import type { BackendProbe } from '../worker/kernel-worker-api.ts';
import { calibrate, gpuFasterKernels } from './calibration.ts';
import { CoordinatorClient } from './coordinator-client.ts';
import { Outbox } from './outbox.ts';
import { type CreateWorker, defaultCpuWorkers, type Lane, WorkerPool } from './worker-pool.ts';

/** How often a running unit's lease is extended (leases last minutes: SURGE_LEASE_SECONDS). */
const kHeartbeatMs = 60_000;

export type ContributorState = 'idle' | 'starting' | 'running' | 'paused' | 'waiting' | 'error';

/** Everything the page shows about the contribution; replaced whole on every change. */
/** A unit being computed by one lane of the worker pool. */
export interface UnitProgress {
  lane: number;
  backend: Backend;
  id: number;
  kernel: KernelName;
  jobName: string;
  jobPurpose: string;
  progress: number;
  /** The credit the unit earns once validated: its work estimate in millions of operations. */
  credit: number;
}

/** The `output` event's detail: a finished unit's output, as it was queued for the coordinator. */
export interface UnitOutput {
  jobId: number;
  jobName: string;
  spec: WorkSpec;
  output: Uint8Array;
}

export interface ContributorSnapshot {
  state: ContributorState;
  /** The backends in use: 'wasm', 'webgpu', or both when a GPU lane runs beside CPU lanes. */
  backends: Backend[];
  device?: string;
  cpuWorkers: number;
  units: UnitProgress[];
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
  /** Makes a kernel worker; tests may pass another. */
  createWorker?: CreateWorker;
  /** The partner site whose widget runs this controller: its sessions are attributed to it. */
  partner?: string;
  /** Settings that override the stored ones for this run (the widget's low defaults, the headless runner's flags). */
  settings?: Partial<Settings>;
  /**
   * CPU limit in percent of each worker's time: after each compute step the lane rests in
   * proportion (a duty cycle). Undefined or 100: no rest.
   */
  cpuLimitPercent?: number;
}

/** After this many GPU failures in a row, the GPU lane computes on WASM instead. */
const kMaxGpuFailures = 3;

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
  snapshot: ContributorSnapshot = {
    state: 'idle',
    backends: [],
    cpuWorkers: 0,
    units: [],
    submitted: 0,
    validated: 0,
    rejected: 0,
    credit: '0',
    waitingResults: 0,
  };

  private readonly client: CoordinatorClient;
  private readonly outbox: Outbox;
  private pool: WorkerPool | undefined;
  private info: InfoResponse | undefined;
  private session: StoredSession | undefined;
  private sessionRequest: Promise<StoredSession> | undefined;
  private probe: BackendProbe | undefined;
  private paused = false;
  private stopped = false;
  private readonly waiters = new Set<() => void>();
  private readonly activeLeases = new Set<string>();
  private outboxTimer: ReturnType<typeof setInterval> | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly options: ContributorOptions) {
    super();
    registerErrorTransfer();
    this.client = new CoordinatorClient(options.coordinatorUrl);
    this.outbox = new Outbox(options.db, this.client);
  }

  /**
   * Uses a session made elsewhere (the wallet panel, after the visitor's wallet signed its
   * grant), or forgets the current one (after a revocation) so the next lease makes a new one.
   */
  adoptSession(session: StoredSession | undefined): void {
    this.session = session;
    if (session) this.update({ owner: session.owner });
    void this.refreshCredit();
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

  /** Stops computing after the current step of each worker (well within a second); results still send. */
  pause(): void {
    if (this.snapshot.state === 'idle' || this.snapshot.state === 'error') return;
    this.paused = true;
    this.update({ state: 'paused' });
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.update({ state: 'running' });
    this.wakeAll();
  }

  /** Stops everything and ends the workers; leases in progress stay in IndexedDB for next time. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wakeAll();
    clearInterval(this.outboxTimer);
    await this.loop;
    this.loop = undefined;
    this.pool?.terminate();
    this.pool = undefined;
    this.update({ state: 'idle', units: [] });
  }

  private update(patch: Partial<ContributorSnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch };
    this.dispatchEvent(new Event('change'));
  }

  private showUnit(unit: UnitProgress | undefined, lane: number): void {
    const others = this.snapshot.units.filter((u) => u.lane !== lane);
    this.update({ units: unit ? [...others, unit].sort((a, b) => a.lane - b.lane) : others });
  }

  /** Stops every lane and worker and shows why; leases in progress stay in IndexedDB. */
  private fail(error: unknown): void {
    console.error(error);
    this.stopped = true;
    this.wakeAll();
    clearInterval(this.outboxTimer);
    this.pool?.terminate();
    this.pool = undefined;
    this.loop = undefined;
    this.update({ state: 'error', notice: errorMessage(error), units: [] });
  }

  private async run(): Promise<void> {
    this.info = await this.client.info();
    const settings = { ...(await loadSettings(this.options.db)), ...this.options.settings };
    const pool = new WorkerPool(this.options.createWorker);
    this.pool = pool;
    const { probe, worker: first } = await pool.probe();
    this.probe = probe;
    const laneRuns: Promise<void>[] = [];
    if (settings.backend === 'webgpu') {
      requireWebGpu(probe);
      await pool.addLane('webgpu', undefined, first);
    } else {
      const cpuWorkers = Math.max(1, settings.cpuWorkers ?? defaultCpuWorkers());
      // The probe opened a GPU device in this worker; as a CPU worker it needs none.
      await first.releaseGpu();
      await pool.addLane('wasm', undefined, first);
      for (let i = 1; i < cpuWorkers; i++) await pool.addLane('wasm');
      if (settings.backend === 'auto' && probe.webgpu.available) laneRuns.push(this.calibrateThenRunGpuLane(pool, probe));
    }
    this.showLanes();
    this.update({ state: 'running' });
    await this.refreshCredit();
    await this.flushOutbox();
    laneRuns.push(...pool.lanes.map((lane) => this.runLane(lane)));
    await Promise.all(laneRuns);
  }

  private showLanes(): void {
    const lanes = this.pool?.lanes ?? [];
    const backends = [...new Set(lanes.map((lane) => lane.backend))];
    this.update({ backends, cpuWorkers: lanes.filter((lane) => lane.backend === 'wasm').length, device: deviceLabel(backends, this.probe!) });
  }

  /**
   * Measures, in a worker of its own while the CPU workers already compute, which kernels
   * this GPU runs faster than WASM (once per device; cached), and adds a GPU lane for those.
   */
  private async calibrateThenRunGpuLane(pool: WorkerPool, probe: BackendProbe): Promise<void> {
    const worker = await pool.spawn();
    const gpuKernels = gpuFasterKernels(await calibrate(this.options.db, worker, probe));
    if (gpuKernels.length === 0 || this.stopped) {
      pool.retire(worker);
      return;
    }
    const lane = await pool.addLane('webgpu', gpuKernels, worker);
    this.showLanes();
    await this.runLane(lane);
  }

  private sleepUntilWoken(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private wakeAll(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** One lane's loop: lease, compute, queue the result; until stopped. */
  private async runLane(lane: Lane): Promise<void> {
    let gpuFailures = 0;
    while (!this.stopped) {
      if (this.paused) {
        await this.sleepUntilWoken();
        continue;
      }
      const stored = await this.nextLease(lane);
      if (!stored) continue;
      this.activeLeases.add(stored.lease.id);
      try {
        const fellBack = await this.compute(stored, lane);
        gpuFailures = fellBack ? gpuFailures + 1 : 0;
        if (gpuFailures >= kMaxGpuFailures && lane.backend === 'webgpu') {
          lane.backend = 'wasm';
          this.showLanes();
          this.update({ notice: 'The GPU failed repeatedly; this worker now computes on the CPU (WASM).' });
        }
      } finally {
        this.activeLeases.delete(stored.lease.id);
        this.showUnit(undefined, lane.id);
      }
      await this.flushOutbox();
    }
  }

  /** A session key authorised by the owner key, made once and kept until it expires. */
  private ensureSession(renew = false): Promise<StoredSession> {
    // One request at a time: lanes asking together share it.
    this.sessionRequest ??= this.loadOrCreateSession(renew).finally(() => {
      this.sessionRequest = undefined;
    });
    return this.sessionRequest;
  }

  private async loadOrCreateSession(renew: boolean): Promise<StoredSession> {
    const db = this.options.db;
    // The stored session may be newer than this.session: the wallet panel makes one when a wallet connects.
    const current = (await currentSession(db)) ?? this.session;
    if (
      !renew &&
      current &&
      current.partner === this.options.partner &&
      current.coordinator === this.client.baseUrl &&
      Date.parse(current.expiresAt) > Date.now() + 60_000 &&
      (await hasSessionKey(db, current.address))
    ) {
      this.session = current;
      this.update({ owner: current.owner });
      return current;
    }
    // Renewed with the browser's own owner key: a wallet's grant needs the visitor (the wallet panel).
    const owner = await ownerAccount(db);
    const session = await createSession({
      db,
      client: this.client,
      chainId: this.info!.domain.chainId,
      owner: { address: owner.address, signMessage: (message) => owner.signMessage({ message }) },
      ...(this.options.partner ? { partner: this.options.partner } : {}),
    });
    this.session = session;
    this.update({ owner: session.owner });
    return session;
  }

  /** A lease kept in IndexedDB from before a reload that no other lane holds, else a new one; undefined after waiting when there is no work. */
  private async nextLease(lane: Lane): Promise<StoredLease | undefined> {
    const db = this.options.db;
    try {
      // Every path below needs the session: a resumed lease's result is sent under it too.
      await this.ensureSession();
      const now = Date.now();
      for (const stored of await db.getAll('leases')) {
        if (
          stored.coordinator !== this.client.baseUrl ||
          Date.parse(stored.lease.deadline) <= now ||
          !stored.session ||
          !(await hasSessionKey(db, stored.session.address))
        ) {
          await db.delete('leases', stored.lease.id);
          continue;
        }
        if (this.activeLeases.has(stored.lease.id) || (lane.kernels && !lane.kernels.includes(stored.lease.kernel))) continue;
        return stored;
      }
      let answer: Awaited<ReturnType<CoordinatorClient['lease']>>;
      try {
        answer = await this.client.lease(this.leaseRequest(lane));
      } catch (error) {
        const stale = ['SURGE_E_SESSION_UNKNOWN', 'SURGE_E_SESSION_EXPIRED', 'SURGE_E_SESSION_REVOKED'];
        if (!(error instanceof ApiError && stale.includes(error.code))) throw error;
        await this.ensureSession(true);
        answer = await this.client.lease(this.leaseRequest(lane));
      }
      if (!answer.lease) {
        this.update({ state: 'waiting', notice: 'No work is available right now; asking again shortly.' });
        await this.sleepUntilWoken(answer.retryAfterMs);
        if (!this.paused && !this.stopped) this.update({ state: 'running', notice: undefined });
        return undefined;
      }
      const session = this.session!;
      const stored: StoredLease = {
        lease: answer.lease,
        coordinator: this.client.baseUrl,
        session: { address: session.address },
        receivedAt: new Date().toISOString(),
      };
      await db.put('leases', stored);
      if (this.snapshot.state === 'waiting') this.update({ state: 'running', notice: undefined });
      return stored;
    } catch (error) {
      // The coordinator is down or the network is: wait and ask again, computing nothing.
      if (!(error instanceof ApiError && error.retryable)) throw error;
      this.update({ state: 'waiting', notice: `${error.shortMessage} Trying again shortly.` });
      await this.sleepUntilWoken(5000);
      if (!this.paused && !this.stopped) this.update({ state: 'running' });
      return undefined;
    }
  }

  private leaseRequest(lane: Lane) {
    return { session: this.session!.address, backends: [lane.backend], ...(lane.kernels ? { kernels: lane.kernels } : {}) };
  }

  /**
   * Runs one leased unit on a lane to its result and queues the signed result in the outbox.
   * A GPU failure anywhere (start, step, checkpoint, read-back) moves the unit to WASM from
   * its last saved checkpoint. Returns true when the GPU failed.
   */
  private async compute(stored: StoredLease, lane: Lane): Promise<boolean> {
    const { lease } = stored;
    // While the unit runs, a heartbeat keeps its lease (the coordinator bounds how long).
    const heartbeat = setInterval(() => {
      this.client
        .heartbeat(lease.id, stored.session.address)
        .then((answer) => {
          stored.lease.deadline = answer.deadline;
        })
        .catch(() => {});
    }, kHeartbeatMs);
    try {
      return await this.computeOn(stored, lane);
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async computeOn(stored: StoredLease, lane: Lane): Promise<boolean> {
    const { lease } = stored;
    let backend = lane.backend;
    let gpuFailed = false;
    for (;;) {
      try {
        const output = await this.runUnit(stored, lane, backend);
        if (output) {
          await this.queueResult(stored, output);
          const spec = { kernel: lease.kernel, params: lease.params } as WorkSpec;
          this.dispatchEvent(new CustomEvent<UnitOutput>('output', { detail: { jobId: lease.jobId, jobName: lease.jobName, spec, output } }));
        }
        return gpuFailed;
      } catch (error) {
        const tooLargeForGpu = error instanceof KernelError && error.code === 'SURGE_E_KERNEL_TOO_LARGE';
        if (backend === 'webgpu' && (error instanceof GpuError || tooLargeForGpu)) {
          // No GPU now, or a unit larger than this GPU binds: this unit runs on WASM instead.
          backend = 'wasm';
          gpuFailed ||= error instanceof GpuError;
          if (error instanceof GpuError) this.update({ notice: `${error.shortMessage} Continuing this unit on the CPU (WASM).` });
          continue;
        }
        if (error instanceof KernelError && error.code === 'SURGE_E_KERNEL_CHECKPOINT' && stored.checkpoint) {
          // A checkpoint that does not fit its unit is dropped; the unit starts over.
          delete stored.checkpoint;
          await this.options.db.put('leases', stored);
          continue;
        }
        if (error instanceof KernelError) {
          // This unit cannot run here (bad parameters, unreadable inputs): let it go to someone else.
          await this.options.db.delete('leases', lease.id);
          this.update({ notice: `Skipped unit #${lease.unitId}: ${error.shortMessage}` });
          return gpuFailed;
        }
        throw error;
      }
    }
  }

  /**
   * Starts a unit on one backend from its last saved checkpoint and steps it to the end,
   * checkpointing to IndexedDB every few seconds and on pause. Returns the output, or
   * undefined when the controller stopped first.
   */
  private async runUnit(stored: StoredLease, lane: Lane, backend: Backend): Promise<Uint8Array | undefined> {
    const { lease } = stored;
    const { worker } = lane;
    const spec = { kernel: lease.kernel, params: lease.params } as WorkSpec;
    const show = (progress: number) =>
      this.showUnit(
        {
          lane: lane.id,
          backend,
          id: lease.unitId,
          kernel: lease.kernel,
          jobName: lease.jobName,
          jobPurpose: lease.jobPurpose,
          progress,
          credit: Number(lease.units),
        },
        lane.id,
      );
    await worker.start({ spec, backend, ...(stored.checkpoint ? { checkpoint: stored.checkpoint } : {}) });
    let progress = 0;
    let lastCheckpoint = performance.now();
    show(progress);
    while (progress < 1) {
      if (this.stopped) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        await worker.cancel();
        return undefined;
      }
      if (this.paused) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        lastCheckpoint = performance.now();
        await this.sleepUntilWoken();
        continue;
      }
      const stepStart = performance.now();
      progress = await worker.step(kStepBudgetMs);
      show(progress);
      await this.restForCpuLimit(performance.now() - stepStart);
      if (progress < 1 && performance.now() - lastCheckpoint > kCheckpointEveryMs) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        lastCheckpoint = performance.now();
      }
    }
    return worker.finish();
  }

  /** The duty cycle of the CPU limit: rest `busy × (100 / limit − 1)`; pause or stop cut it short. */
  private async restForCpuLimit(busyMs: number): Promise<void> {
    const limit = this.options.cpuLimitPercent;
    if (limit === undefined || limit >= 100 || this.paused || this.stopped) return;
    await this.sleepUntilWoken(busyMs * (100 / Math.max(1, limit) - 1));
  }

  private async saveCheckpoint(stored: StoredLease, checkpoint: Uint8Array): Promise<void> {
    stored.checkpoint = checkpoint;
    await this.options.db.put('leases', stored);
  }

  private async queueResult(stored: StoredLease, output: Uint8Array): Promise<void> {
    const { lease } = stored;
    const domain = this.info!.domain as ReceiptDomain;
    // Signed by the session the lease was issued to, which may predate a renewal, for that session's owner.
    const signer = await sessionSigner(this.options.db, stored.session.address);
    if (!signer) {
      // Its session was revoked here meanwhile: the coordinator would refuse the result.
      await this.options.db.delete('leases', lease.id);
      return;
    }
    const signed = await signWorkReceipt({ session: signer.account, owner: signer.owner, domain, lease, output, seq: signer.seq });
    await this.outbox.add(
      {
        digest: signed.digest,
        coordinator: this.client.baseUrl,
        request: { lease: lease.id, output: toBase64(output), receipt: signed.receipt, signature: signed.signature },
      },
      lease.id as Hex,
    );
    this.update({ submitted: this.snapshot.submitted + 1 });
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

/** When the settings force the GPU, WebGPU must be there: otherwise say so rather than fall back silently. */
function requireWebGpu(probe: BackendProbe): void {
  if (!probe.webgpu.available) {
    throw new GpuError(
      'SURGE_E_GPU_UNAVAILABLE',
      `WebGPU is forced in the settings but is not available here: ${probe.webgpu.reason} Choose "Automatic" or "CPU (WASM)".`,
    );
  }
}

function deviceLabel(backends: Backend[], probe: BackendProbe): string {
  const cpu = probe.wasm.relaxedSimd ? 'CPU, WebAssembly relaxed SIMD' : probe.wasm.simd ? 'CPU, WebAssembly SIMD' : 'CPU, WebAssembly';
  const gpu = backends.includes('webgpu') && probe.webgpu.available ? adapterLabel(probe.webgpu.adapter) : undefined;
  if (!gpu) return cpu;
  return backends.includes('wasm') ? `${gpu} and ${cpu}` : gpu;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
