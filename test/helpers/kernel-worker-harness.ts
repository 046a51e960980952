import { type Remote, wrap } from 'comlink';
import { registerErrorTransfer } from '../../src/errors/worker-transfer.ts';
import type { Backend, WorkSpec } from '../../src/protocol/schemas.ts';
import type { BackendProbe, KernelWorkerApi } from '../../src/worker/kernel-worker-api.ts';

/** A real kernel worker for browser tests, as the contributor page makes it. */
export interface WorkerHarness {
  worker: Remote<KernelWorkerApi>;
  probe: BackendProbe;
  terminate(): void;
}

export async function startKernelWorker(): Promise<WorkerHarness> {
  registerErrorTransfer();
  const handle = new Worker(new URL('../../src/worker/kernel-worker.ts', import.meta.url), { type: 'module' });
  const worker = wrap<KernelWorkerApi>(handle);
  return { worker, probe: await worker.probe(), terminate: () => handle.terminate() };
}

/** Runs a unit to the end in small steps, as the controller does; returns the output bytes. */
export async function runToEnd(worker: Remote<KernelWorkerApi>, spec: WorkSpec, backend: Backend, checkpoint?: Uint8Array): Promise<Uint8Array> {
  await worker.start({ spec, backend, ...(checkpoint ? { checkpoint } : {}) });
  let progress = 0;
  for (let steps = 0; progress < 1; steps++) {
    if (steps > 100_000) throw new Error(`${spec.kernel} on ${backend} made no progress`);
    progress = await worker.step(5);
  }
  return worker.finish();
}

/** The reason to skip a backend's tests here, or undefined when it is present. */
export function missingBackend(probe: BackendProbe, backend: Backend): string | undefined {
  if (backend === 'webgpu' && !probe.webgpu.available) return `no WebGPU adapter: ${probe.webgpu.reason}`;
  if (backend === 'wasm' && !probe.wasm.available) return 'this browser has no WebAssembly SIMD';
  return undefined;
}
