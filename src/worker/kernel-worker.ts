import { expose, transfer } from 'comlink';
import wasmUrl from '../../wasm/build/matmul-f32.wasm?url';
import { GpuError } from '../errors/gpu-error.ts';
import { KernelError } from '../errors/kernel-error.ts';
import { errorMessage } from '../errors/surge-error.ts';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import { GpuContext } from '../gpu/gpu-context.ts';
import { GpuMatmulF32Run } from '../gpu/gpu-matmul-f32.ts';
import type { KernelRun } from '../kernels/kernel.ts';
import type { BackendProbe, KernelWorkerApi, StartRequest } from './kernel-worker-api.ts';
import { WasmMatmulF32Run } from './wasm-matmul-f32.ts';

registerErrorTransfer();

/** `v128.const` and `i32x4.add`: a module that validates only where WASM SIMD exists. */
const kSimdProbe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

let wasmModule: Promise<WebAssembly.Module> | undefined;
let gpu: Promise<GpuContext> | undefined;
let run: KernelRun | undefined;

/** The AssemblyScript module, compiled once per worker. */
function compiledWasm(): Promise<WebAssembly.Module> {
  wasmModule ??= WebAssembly.compileStreaming(fetch(wasmUrl));
  return wasmModule;
}

/** The worker's GPU context, created on first use and again after a loss. */
async function gpuContext(): Promise<GpuContext> {
  const current = gpu ? await gpu.catch(() => undefined) : undefined;
  if (!current || current.failure) {
    current?.destroy();
    gpu = GpuContext.create();
  }
  return gpu!;
}

function currentRun(): KernelRun {
  if (!run) throw new KernelError('SURGE_E_KERNEL_NOT_STARTED', 'No kernel run is in progress in this worker.');
  return run;
}

const api: KernelWorkerApi = {
  async probe(): Promise<BackendProbe> {
    const simd = WebAssembly.validate(kSimdProbe);
    let webgpu: BackendProbe['webgpu'];
    try {
      webgpu = { available: true, adapter: (await gpuContext()).adapter };
    } catch (error) {
      gpu = undefined;
      webgpu = { available: false, reason: errorMessage(error) };
    }
    return { webgpu, wasm: { available: simd, simd } };
  },

  async start({ kernel, params, backend, checkpoint }: StartRequest): Promise<void> {
    run?.dispose();
    run = undefined;
    if (kernel !== 'matmul-f32') throw new KernelError('SURGE_E_KERNEL_UNKNOWN', `This worker has no kernel named "${kernel}".`);
    if (backend === 'webgpu') {
      const context = await gpuContext().catch((cause: unknown) => {
        gpu = undefined;
        throw cause instanceof GpuError ? cause : new GpuError('SURGE_E_GPU_UNAVAILABLE', 'WebGPU could not start.', { cause });
      });
      run = await GpuMatmulF32Run.create(context, params, checkpoint);
    } else {
      run = await WasmMatmulF32Run.create(await compiledWasm(), params, checkpoint);
    }
  },

  step: (budgetMs) => currentRun().step(budgetMs),
  checkpoint: () => currentRun().checkpoint(),

  async finish(): Promise<Uint8Array> {
    const output = await currentRun().finish();
    run?.dispose();
    run = undefined;
    return transfer(output, [output.buffer]);
  },

  async cancel(): Promise<void> {
    run?.dispose();
    run = undefined;
  },
};

expose(api);
