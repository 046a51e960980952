import type { AdapterDescription } from '../gpu/gpu-context.ts';
import type { FillRequest } from '../gpu/philox-fill.ts';
import type { Backend, WorkSpec } from '../protocol/schemas.ts';

/** What a worker found it can run on. */
export interface BackendProbe {
  webgpu: { available: true; adapter: AdapterDescription } | { available: false; reason: string };
  wasm: { available: boolean; simd: boolean; relaxedSimd: boolean };
}

export interface StartRequest {
  spec: WorkSpec;
  backend: Backend;
  checkpoint?: Uint8Array;
}

/** What one throttled step did: the progress after it, and its compute and rest in milliseconds. */
export interface ThrottledStep {
  progress: number;
  busyMs: number;
  restMs: number;
}

/** A matrix of Philox words, as `generate` makes it on a backend: a fill keyed by the job's hex seed. */
export type GenerateRequest = Omit<FillRequest, 'key'> & { seed: string };

/**
 * The API a kernel worker exposes through comlink: one run at a time, in slices. The
 * controller calls `step` repeatedly, so pausing or cancelling takes effect within one
 * step's budget.
 */
export interface KernelWorkerApi {
  probe(): Promise<BackendProbe>;
  /** Uses WASM modules the page compiled once for every worker, instead of compiling its own. */
  useWasmModules(modules: { exact?: WebAssembly.Module; relaxed?: WebAssembly.Module }): Promise<void>;
  /**
   * Runs `spec` on `backend` for about `budgetMs` and returns the measured speed in the
   * kernel's work-estimate operations per second (0 when the backend failed): the calibration
   * that picks a backend by measuring, not by presence.
   */
  calibrate(spec: WorkSpec, backend: Backend, budgetMs: number): Promise<number>;
  start(request: StartRequest): Promise<void>;
  step(budgetMs: number): Promise<number>;
  /**
   * A step under a duty cycle: computes for about `budgetMs`, then rests so that this
   * worker's busy time stays at `limit` (0 to 1] of its wall time. The rest happens here, in
   * the worker, whose timers a hidden tab does not throttle; `wake` cuts it short.
   */
  throttledStep(budgetMs: number, limit: number): Promise<ThrottledStep>;
  /** Ends a rest in progress now (on pause or stop). */
  wake(): Promise<void>;
  checkpoint(): Promise<Uint8Array>;
  finish(): Promise<Uint8Array>;
  cancel(): Promise<void>;
  /** Generates Philox inputs on a backend: how tests show the three generators agree. */
  generate(backend: Backend, request: GenerateRequest): Promise<Uint8Array>;
  /** GPU buffers handed out and not returned (0 between runs, or a run leaked). */
  gpuBuffersOutstanding(): Promise<number>;
  /**
   * Destroys this worker's GPU device, as a driver reset would (the device is lost). The
   * controller uses it when the GPU is switched off; the fault tests use it mid-run.
   */
  releaseGpu(): Promise<void>;
}
