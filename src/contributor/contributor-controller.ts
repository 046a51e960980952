import type { Address, Hex } from 'viem';
import { ApiError } from '../errors/api-error.ts';
import { GpuError } from '../errors/gpu-error.ts';
import { KernelError } from '../errors/kernel-error.ts';
import { errorMessage, SurgeError } from '../errors/surge-error.ts';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import { adapterLabel } from '../gpu/gpu-context.ts';
import { kernelDefinitions } from '../kernels/registry.ts';
import type { ReceiptDomain } from '../protocol/receipt.ts';
import type { Backend, InfoResponse, KernelName, LeaseRequest, WorkSpec } from '../protocol/schemas.ts';
import { loadSettings, type Settings, type StoredLease, type StoredSession, type SurgeDb } from '../storage/surge-db.ts';
import { loadOrCreateOwnerKey, ownerAccount } from '../wallet/owner-key.ts';
import { signWorkReceipt } from '../wallet/receipt-signer.ts';
import { createSession, currentSession, hasSessionKey, sessionSigner } from '../wallet/session-keys.ts';
import type { BackendProbe, ThrottledStep } from '../worker/kernel-worker-api.ts';
import { calibrate, gpuFasterKernels } from './calibration.ts';
import { CoordinatorClient } from './coordinator-client.ts';
import { deviceDefaults } from './device-defaults.ts';
import { clampLimit } from './duty-cycle.ts';
import { type Hold, LimitMonitor, type LimitReadings } from './limit-monitor.ts';
import { type FlushReport, Outbox } from './outbox.ts';
import { TabLock } from './tab-lock.ts';
import { type CreateWorker, defaultCpuWorkers, type Lane, WorkerPool } from './worker-pool.ts';

/** How often a running unit's lease is extended (leases last minutes: SURGE_LEASE_SECONDS). */
const kHeartbeatMs = 60_000;

/** `held`: a limit holds computing back (see `holds`); `standby`: another tab of this browser contributes. */
export type ContributorState = 'idle' | 'starting' | 'running' | 'paused' | 'held' | 'standby' | 'waiting' | 'error';

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
  /** Results the coordinator received and holds until other replicas of their units agree. */
  awaitingQuorum: number;
  /** Why results wait in the outbox (the last send's error), when they do. */
  waitingReason?: string;
  /** The limits holding computing back now (tab hidden, input, battery, pressure). */
  holds: Hold[];
  /** Battery and Compute Pressure as this browser reports them, or 'unsupported'. */
  limits: LimitReadings;
  owner?: Address;
  notice?: string;
}

/** One compute step's budget: a pause takes effect within about this long. */
const kStepBudgetMs = 200;
/** The shortest CPU step, at low limits: long enough that messaging a worker costs little. */
const kMinStepBudgetMs = 50;
/** A GPU step's budget: about one submit (DESIGN.md, Kernels), so the GPU limit rests between submits. */
const kGpuStepBudgetMs = 100;
/** User Timing measure of each step's compute, for DevTools and the duty-cycle tests. */
export const kComputeMeasure = 'surge:compute';
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
}

/**
 * A unit is given back when its measured remaining time, times this, plus the slack, would
 * pass its deadline. Giving back loses the work done, so only when the deadline is clearly
 * out of reach; a result a little late is still accepted while nobody else took the unit.
 */
const kDeadlineMargin = 1;
const kDeadlineSlackMs = 1000;

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
    awaitingQuorum: 0,
    holds: [],
    limits: { battery: 'unknown', pressure: 'unknown', backoff: 1 },
  };

  /** The settings in force; `applySettings` changes them live. */
  settings: Settings = deviceDefaults();

  private readonly client: CoordinatorClient;
  private readonly outbox: Outbox;
  private overrides: Partial<Settings>;
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
  private tabLock: TabLock | undefined;
  private monitor: LimitMonitor | undefined;
  private readonly cpuLanes: Lane[] = [];
  private measures = 0;
  /** Measured speeds at 100%, in work-estimate operations per second, by `backend|kernel`. */
  private readonly speeds = new Map<string, number>();

  constructor(private readonly options: ContributorOptions) {
    super();
    registerErrorTransfer();
    this.client = new CoordinatorClient(options.coordinatorUrl);
    this.outbox = new Outbox(options.db, this.client);
    this.overrides = { ...options.settings };
  }

  /** This run's overrides of the stored settings (the widget's own CPU limit), changed live. */
  overrideSettings(patch: Partial<Settings>): void {
    this.overrides = { ...this.overrides, ...patch };
    this.applySettings(this.settings);
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
    this.tabLock = new TabLock();
    this.loop = this.run().catch((error) => this.fail(error));
    this.outboxTimer = setInterval(() => void this.flushOutbox(), kOutboxPollMs);
    return Promise.resolve();
  }

  /** Stops computing after the current step of each worker (well within a second); results still send. */
  pause(): void {
    if (this.snapshot.state === 'idle' || this.snapshot.state === 'error') return;
    this.paused = true;
    this.update({ state: 'paused' });
    this.wakeWorkers();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.update({ state: this.activeState() });
    this.wakeAll();
  }

  /**
   * New settings, applied live: the CPU and GPU limits from the next step, the idle, hidden
   * and battery limits at once, and the number of CPU workers by adding or ending workers.
   * The backend applies the next time contributing starts.
   */
  applySettings(settings: Settings): void {
    const workersBefore = this.settings.cpuWorkers;
    // This run's overrides (the widget's, the headless runner's) still hold.
    settings = { ...settings, ...this.overrides };
    this.settings = settings;
    this.monitor?.update(settings);
    if (settings.cpuWorkers !== workersBefore) void this.resizeCpuLanes().catch((error) => this.fail(error));
  }

  /** Computing is held back: paused by the visitor, or by a limit. */
  private get halted(): boolean {
    return this.paused || this.snapshot.holds.length > 0;
  }

  /** The state while the loop runs and does not wait for work. */
  private activeState(): ContributorState {
    return this.paused ? 'paused' : this.snapshot.holds.length > 0 ? 'held' : 'running';
  }

  /** Ends the rests in progress in every worker, so a pause or hold takes effect now. */
  private wakeWorkers(): void {
    for (const lane of this.pool?.lanes ?? []) void lane.worker.wake().catch(() => undefined);
  }

  private onLimitsChanged(monitor: LimitMonitor): void {
    const wasHeld = this.snapshot.holds.length > 0;
    const holds = monitor.holds;
    const active = ['running', 'waiting', 'held'].includes(this.snapshot.state) && !this.paused;
    this.update({
      holds,
      limits: monitor.readings,
      ...(active && (holds.length > 0 || wasHeld) ? { state: holds.length > 0 ? 'held' : 'running' } : {}),
    });
    if (holds.length > 0) this.wakeWorkers();
    else if (wasHeld) this.wakeAll();
  }

  /** The duty-cycle limit of a backend now: the setting, halved under serious pressure. */
  private limitFor(backend: Backend): number {
    const percent = backend === 'webgpu' ? this.settings.gpuLimit : this.settings.cpuLimit;
    return clampLimit((percent / 100) * this.snapshot.limits.backoff);
  }

  /** Adds CPU workers, or ends some after they checkpoint, to match the setting. */
  private async resizeCpuLanes(): Promise<void> {
    const pool = this.pool;
    if (!pool || this.stopped || this.settings.backend === 'webgpu') return;
    const want = Math.max(1, this.settings.cpuWorkers ?? defaultCpuWorkers());
    const live = this.cpuLanes.filter((lane) => !lane.retired);
    for (const lane of live.slice(want)) {
      lane.retired = true;
      void lane.worker.wake().catch(() => undefined);
    }
    // A retired lane that is paused or waiting for work ends now, leaving its unit to the others.
    if (live.length > want) this.wakeAll();
    for (let i = live.length; i < want; i++) {
      const lane = await pool.addLane('wasm');
      this.cpuLanes.push(lane);
      void this.runLane(lane).catch((error) => this.fail(error));
    }
    this.showLanes();
  }

  /** Stops everything and ends the workers; leases in progress stay in IndexedDB for next time. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.tabLock?.release();
    this.monitor?.stop();
    this.wakeWorkers();
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
    this.tabLock?.release();
    this.monitor?.stop();
    this.wakeAll();
    clearInterval(this.outboxTimer);
    this.pool?.terminate();
    this.pool = undefined;
    this.loop = undefined;
    this.update({ state: 'error', notice: errorMessage(error), units: [] });
  }

  private async run(): Promise<void> {
    const holder = await this.tabLock!.acquire(() =>
      this.update({ state: 'standby', notice: 'Another tab of this browser is contributing. This tab takes over when that one closes.' }),
    );
    if (!holder || this.stopped) return;
    this.update({ state: 'starting', notice: undefined });
    this.info = await this.client.info();
    const settings = { ...(await loadSettings(this.options.db, deviceDefaults())), ...this.overrides };
    this.settings = settings;
    const monitor = new LimitMonitor(settings);
    this.monitor = monitor;
    monitor.addEventListener('change', () => this.onLimitsChanged(monitor));
    await monitor.start();
    // Stopped while starting (a withdrawn consent): stop() ran before the monitor existed.
    if (this.stopped) {
      monitor.stop();
      return;
    }
    this.onLimitsChanged(monitor);
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
      this.cpuLanes.length = 0;
      this.cpuLanes.push(await pool.addLane('wasm', undefined, first));
      for (let i = 1; i < cpuWorkers; i++) this.cpuLanes.push(await pool.addLane('wasm'));
      if (settings.backend === 'auto' && probe.webgpu.available) laneRuns.push(this.calibrateThenRunGpuLane(pool, probe));
    }
    this.showLanes();
    this.update({ state: this.activeState() });
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
    const records = await calibrate(this.options.db, worker, probe);
    for (const record of records) {
      if (record.wasm > 0) this.speeds.set(`wasm|${record.kernel}`, record.wasm);
      if (record.webgpu > 0) this.speeds.set(`webgpu|${record.kernel}`, record.webgpu);
    }
    const gpuKernels = gpuFasterKernels(records);
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
    while (!this.stopped && !lane.retired) {
      if (this.halted) {
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
    if (lane.retired) {
      this.pool?.removeLane(lane);
      this.showLanes();
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
      let session = await this.ensureSession();
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
        answer = await this.client.lease(this.leaseRequest(lane, session));
      } catch (error) {
        const stale = ['SURGE_E_SESSION_UNKNOWN', 'SURGE_E_SESSION_EXPIRED', 'SURGE_E_SESSION_REVOKED'];
        if (!(error instanceof ApiError && stale.includes(error.code))) throw error;
        // Renew only if no other lane (or the wallet panel) has replaced the refused session already.
        session = this.session && this.session.address !== session.address ? this.session : await this.ensureSession(true);
        answer = await this.client.lease(this.leaseRequest(lane, session));
      }
      if (!answer.lease) {
        // A long wait is the coordinator's: a new owner's daily quota spent, or a probation.
        const later = answer.retryAfterMs > 120_000 ? ` at ${new Date(Date.now() + answer.retryAfterMs).toLocaleTimeString()}` : ' shortly';
        this.update({ state: 'waiting', notice: `No work for this browser right now; asking again${later}.` });
        await this.sleepUntilWoken(answer.retryAfterMs);
        if (!this.stopped) this.update({ state: this.activeState(), notice: undefined });
        return undefined;
      }
      // The lease belongs to the session that asked for it, even if another has been adopted meanwhile.
      const stored: StoredLease = {
        lease: answer.lease,
        coordinator: this.client.baseUrl,
        session: { address: session.address },
        receivedAt: new Date().toISOString(),
      };
      await db.put('leases', stored);
      if (this.snapshot.state === 'waiting') this.update({ state: this.activeState(), notice: undefined });
      return stored;
    } catch (error) {
      // The coordinator is down or the network is: wait and ask again, computing nothing.
      if (!(error instanceof ApiError && error.retryable)) throw error;
      this.update({ state: 'waiting', notice: `${error.shortMessage} Trying again shortly.` });
      await this.sleepUntilWoken(5000);
      if (!this.stopped) this.update({ state: this.activeState() });
      return undefined;
    }
  }

  /** A lease request for a lane, with its measured speeds at its limit now, so the coordinator offers only units it finishes in time. */
  private leaseRequest(lane: Lane, session: StoredSession): LeaseRequest {
    const limit = this.limitFor(lane.backend);
    const speeds = [...this.speeds]
      .filter(([key]) => key.startsWith(`${lane.backend}|`))
      .map(([key, opsPerSecond]) => ({ kernel: key.slice(key.indexOf('|') + 1) as KernelName, opsPerSecond: opsPerSecond * limit }))
      .filter((speed) => (!lane.kernels || lane.kernels.includes(speed.kernel)) && speed.opsPerSecond > 0);
    return {
      session: session.address,
      backends: [lane.backend],
      ...(lane.kernels ? { kernels: lane.kernels } : {}),
      ...(speeds.length > 0 ? { speeds } : {}),
    };
  }

  private recordSpeed(backend: Backend, stored: StoredLease, speed: UnitSpeed): void {
    const perMs = speed.progressPerMs();
    if (perMs === undefined) return;
    const plan = (kernelDefinitions[stored.lease.kernel].plan as (params: WorkSpec['params']) => { operations: number })(stored.lease.params);
    this.speeds.set(`${backend}|${stored.lease.kernel}`, plan.operations * perMs * 1000);
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
      // Stopped or failed (a worker call may never settle then): the lease is left to run out.
      if (this.stopped) {
        clearInterval(heartbeat);
        return;
      }
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
    const speed = new UnitSpeed();
    let progress = 0;
    let lastCheckpoint = performance.now();
    show(progress);
    while (progress < 1) {
      if (this.stopped || lane.retired) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        await worker.cancel();
        return undefined;
      }
      if (this.halted) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        lastCheckpoint = performance.now();
        if (!(await this.waitWhileHalted(stored, lane, () => speed.remainingMs(progress, this.limitFor(backend))))) {
          await worker.cancel();
          return undefined;
        }
        continue;
      }
      const limit = this.limitFor(backend);
      // Shorter slices at a lower CPU limit: the same share of the time in shorter bursts.
      const budgetMs = backend === 'webgpu' ? kGpuStepBudgetMs : Math.max(kMinStepBudgetMs, kStepBudgetMs * limit);
      const started = performance.now();
      const step = await worker.throttledStep(budgetMs, limit);
      this.measureCompute(started, step, lane, backend, lease.unitId);
      speed.record(progress, step.progress, step.busyMs);
      progress = step.progress;
      show(progress);
      if (progress >= 1) break;
      this.recordSpeed(backend, stored, speed);
      if (this.missesDeadline(stored, speed.remainingMs(progress, this.limitFor(backend)))) {
        await worker.cancel();
        await this.giveBack(stored, 'at the current limits it would not finish before its deadline');
        return undefined;
      }
      if (performance.now() - lastCheckpoint > kCheckpointEveryMs) {
        await this.saveCheckpoint(stored, await worker.checkpoint());
        lastCheckpoint = performance.now();
      }
    }
    return worker.finish();
  }

  /** A User Timing measure of one step's compute, which DevTools shows and the duty-cycle tests read. */
  private measureCompute(start: number, step: ThrottledStep, lane: Lane, backend: Backend, unit: number): void {
    const detail = { lane: lane.id, backend, unit, restMs: step.restMs, calledMs: performance.now() - start };
    performance.measure(kComputeMeasure, { start, duration: step.busyMs, detail });
    // Bounded: observers see every measure; the timeline keeps the latest few hundred.
    if (++this.measures % 500 === 0) performance.clearMeasures(kComputeMeasure);
  }

  /** True when the rest of the unit, at the speed measured and the limits now, ends after its deadline. */
  private missesDeadline(stored: StoredLease, remainingMs: number | undefined): boolean {
    if (remainingMs === undefined) return false;
    return performance.now() + remainingMs * kDeadlineMargin + kDeadlineSlackMs > this.deadlineOnPageClock(stored);
  }

  private deadlineOnPageClock(stored: StoredLease): number {
    return performance.now() + (Date.parse(stored.lease.deadline) - Date.now());
  }

  /**
   * Waits while paused or held. Returns false when the lease was given back because, held
   * this long, the unit can no longer finish before its deadline, or when stopping or the
   * lane ends (its checkpoint is saved, for another lane or the next start).
   */
  private async waitWhileHalted(stored: StoredLease, lane: Lane, remainingMs: () => number | undefined): Promise<boolean> {
    while (this.halted && !this.stopped && !lane.retired) {
      const remaining = remainingMs();
      if (this.missesDeadline(stored, remaining)) {
        await this.giveBack(stored, 'held back this long, it would not finish before its deadline');
        return false;
      }
      const spare = remaining === undefined ? undefined : this.deadlineOnPageClock(stored) - performance.now() - remaining * kDeadlineMargin - kDeadlineSlackMs;
      await this.sleepUntilWoken(spare === undefined ? undefined : Math.max(250, spare));
    }
    return !this.stopped && !lane.retired;
  }

  /** Gives a lease back to the coordinator (its unit goes to someone else at once) and forgets it here. */
  private async giveBack(stored: StoredLease, why: string): Promise<void> {
    await this.options.db.delete('leases', stored.lease.id);
    this.update({ notice: `Gave back unit #${stored.lease.unitId}: ${why}.` });
    try {
      await this.client.releaseLease(stored.lease.id, stored.session.address);
    } catch (error) {
      // Unreachable or refused: the lease simply runs out at its deadline.
      if (!(error instanceof ApiError)) throw error;
    }
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
      const patch: Partial<ContributorSnapshot> = {
        waitingResults: report.waiting,
        waitingReason: report.waiting > 0 ? waitingReason(report) : undefined,
        awaitingQuorum: report.pending,
      };
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

function waitingReason(report: FlushReport): string {
  const why = report.lastError ?? 'Not sent yet.';
  if (report.nextTryAt === undefined) return why;
  const seconds = Math.max(1, Math.round((report.nextTryAt - Date.now()) / 1000));
  return `${why} Next try in about ${seconds} s.`;
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

/**
 * A unit's measured speed: progress per millisecond of compute, the first step (warm-up,
 * compiling) left out. `remainingMs` is the wall time the rest needs at a duty-cycle limit.
 */
class UnitSpeed {
  private busyMs = 0;
  private progress = 0;
  private steps = 0;

  record(before: number, after: number, busyMs: number): void {
    if (this.steps++ === 0) return;
    this.busyMs += busyMs;
    this.progress += after - before;
  }

  /** Progress per millisecond of compute; undefined until about 300 ms were measured. */
  progressPerMs(): number | undefined {
    if (this.busyMs < 300 || this.progress <= 0) return undefined;
    return this.progress / this.busyMs;
  }

  remainingMs(progress: number, limit: number): number | undefined {
    const perMs = this.progressPerMs();
    return perMs === undefined ? undefined : (1 - progress) / perMs / limit;
  }
}
