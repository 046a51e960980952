import { type Remote, wrap } from 'comlink';
import type { Backend, KernelName } from '../protocol/schemas.ts';
import type { BackendProbe, KernelWorkerApi } from '../worker/kernel-worker-api.ts';
import { relaxedSimdSupported, surgeWasmModule } from '../worker/surge-wasm.ts';

/** One worker and the backend it computes on; a GPU lane takes only the kernels it is faster at. */
export interface Lane {
  id: number;
  backend: Backend;
  worker: Remote<KernelWorkerApi>;
  /** Kernels this lane leases; undefined for all. */
  kernels?: KernelName[];
  /** Set when the settings asked for fewer workers: the lane ends after checkpointing its unit. */
  retired?: boolean;
}

export type CreateWorker = () => Worker;

export const defaultCreateWorker: CreateWorker = () =>
  new Worker(new URL('../worker/kernel-worker.ts', import.meta.url), { type: 'module', name: 'surge-kernel' });

/** CPU workers by default: one per hardware thread but one, so the page stays responsive. */
export function defaultCpuWorkers(): number {
  return Math.max(1, (navigator.hardwareConcurrency || 2) - 1);
}

/**
 * The pool of kernel workers: CPU lanes on WASM, and at most one GPU lane. The WASM module
 * is compiled once here, on the page, and sent to every worker, rather than compiled by each.
 */
export class WorkerPool {
  readonly lanes: Lane[] = [];
  private readonly handles: Worker[] = [];
  private readonly workers: Remote<KernelWorkerApi>[] = [];
  private modules: Promise<{ exact: WebAssembly.Module; relaxed?: WebAssembly.Module }> | undefined;

  constructor(private readonly createWorker: CreateWorker = defaultCreateWorker) {}

  private compiledModules() {
    this.modules ??= (async () => {
      const exact = await surgeWasmModule('exact');
      return relaxedSimdSupported() ? { exact, relaxed: await surgeWasmModule('relaxed') } : { exact };
    })();
    return this.modules;
  }

  /** Starts one worker with the shared modules; it is not a lane until `addLane`. */
  async spawn(): Promise<Remote<KernelWorkerApi>> {
    const handle = this.createWorker();
    const worker = wrap<KernelWorkerApi>(handle);
    this.handles.push(handle);
    this.workers.push(worker);
    await worker.useWasmModules(await this.compiledModules());
    return worker;
  }

  /** Ends a worker that did not become a lane (the GPU calibration worker, when the GPU lost). */
  retire(worker: Remote<KernelWorkerApi>): void {
    const index = this.workers.indexOf(worker);
    if (index < 0) return;
    this.handles[index]!.terminate();
    this.handles.splice(index, 1);
    this.workers.splice(index, 1);
  }

  async addLane(backend: Backend, kernels?: KernelName[], worker?: Remote<KernelWorkerApi>): Promise<Lane> {
    const lane: Lane = { id: (this.lanes.at(-1)?.id ?? -1) + 1, backend, worker: worker ?? (await this.spawn()), ...(kernels ? { kernels } : {}) };
    this.lanes.push(lane);
    return lane;
  }

  /** Ends a lane's worker and forgets the lane. */
  removeLane(lane: Lane): void {
    const index = this.lanes.indexOf(lane);
    if (index >= 0) this.lanes.splice(index, 1);
    this.retire(lane.worker);
  }

  /** What the first worker can run on (spawning it if needed). */
  async probe(): Promise<{ probe: BackendProbe; worker: Remote<KernelWorkerApi> }> {
    const worker = await this.spawn();
    return { probe: await worker.probe(), worker };
  }

  terminate(): void {
    for (const handle of this.handles) handle.terminate();
    this.handles.length = 0;
    this.workers.length = 0;
    this.lanes.length = 0;
  }
}
