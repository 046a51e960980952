import type { AdapterDescription } from '../gpu/gpu-context.ts';
import type { Backend, KernelName, MatmulParams } from '../protocol/schemas.ts';

/** What a worker found it can run on. */
export interface BackendProbe {
  webgpu: { available: true; adapter: AdapterDescription } | { available: false; reason: string };
  wasm: { available: boolean; simd: boolean };
}

export interface StartRequest {
  kernel: KernelName;
  params: MatmulParams;
  backend: Backend;
  checkpoint?: Uint8Array;
}

/**
 * The API a kernel worker exposes through comlink: one run at a time, in slices. The
 * controller calls `step` repeatedly, so pausing or cancelling takes effect within one
 * step's budget.
 */
export interface KernelWorkerApi {
  probe(): Promise<BackendProbe>;
  start(request: StartRequest): Promise<void>;
  step(budgetMs: number): Promise<number>;
  checkpoint(): Promise<Uint8Array>;
  finish(): Promise<Uint8Array>;
  cancel(): Promise<void>;
}
