import { expose, transfer } from 'comlink';
import { DutyCycle } from '../contributor/duty-cycle.ts';
import { GpuError } from '../errors/gpu-error.ts';
import { KernelError } from '../errors/kernel-error.ts';
import { errorMessage } from '../errors/surge-error.ts';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import { GpuContext } from '../gpu/gpu-context.ts';
import { encodePhiloxFill } from '../gpu/philox-fill.ts';
import type { KernelRun } from '../kernels/kernel.ts';
import { seedToKey } from '../kernels/philox.ts';
import { kernelDefinitions } from '../kernels/registry.ts';
import { kernelNames } from '../protocol/kernel-names.ts';
import type { WorkSpec } from '../protocol/schemas.ts';
import type { BackendProbe, GenerateRequest, KernelWorkerApi, StartRequest, ThrottledStep } from './kernel-worker-api.ts';
import { runFactories } from './run-factories.ts';
import { instantiateSurgeWasm, provideSurgeWasmModules, relaxedSimdSupported, surgeWasmModule } from './surge-wasm.ts';

registerErrorTransfer();

/** `v128.const` and `i8x16.popcnt`: a module that validates only where WASM SIMD exists. */
const kSimdProbe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);

let gpu: Promise<GpuContext> | undefined;
let run: KernelRun | undefined;
const duty = new DutyCycle();
let endRest: (() => void) | undefined;
/** A `wake` that came while a step computed: that step skips its rest. */
let stepping = false;
let skipRest = false;

/** Sleeps `ms`, or until `wake()`. */
function rest(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      if (endRest === done) endRest = undefined;
      resolve();
    };
    const timer = setTimeout(done, ms);
    endRest = done;
  });
}

/** The worker's GPU context, created on first use and again after a loss. */
async function gpuContext(): Promise<GpuContext> {
  const current = gpu ? await gpu.catch(() => undefined) : undefined;
  if (!current || current.failure) {
    current?.destroy();
    gpu = GpuContext.create();
    gpu.catch(() => {
      gpu = undefined;
    });
  }
  return gpu!;
}

function currentRun(): KernelRun {
  if (!run) throw new KernelError('SURGE_E_KERNEL_NOT_STARTED', 'No kernel run is in progress in this worker.');
  return run;
}

function startRun(spec: WorkSpec, request: StartRequest): Promise<KernelRun> {
  if (!kernelNames.includes(spec.kernel)) throw new KernelError('SURGE_E_KERNEL_UNKNOWN', `This worker has no kernel named "${spec.kernel}".`);
  const context = {
    relaxedSimd: relaxedSimdSupported(),
    gpu: () =>
      gpuContext().catch((cause: unknown) => {
        throw cause instanceof GpuError ? cause : new GpuError('SURGE_E_GPU_UNAVAILABLE', 'WebGPU could not start.', { cause });
      }),
  };
  const factory = runFactories[spec.kernel] as (params: WorkSpec['params'], ...rest: unknown[]) => Promise<KernelRun>;
  return factory(spec.params, request.backend, context, request.checkpoint);
}

const api: KernelWorkerApi = {
  async probe(): Promise<BackendProbe> {
    const simd = WebAssembly.validate(kSimdProbe);
    let webgpu: BackendProbe['webgpu'];
    try {
      webgpu = { available: true, adapter: (await gpuContext()).adapter };
    } catch (error) {
      webgpu = { available: false, reason: errorMessage(error) };
    }
    return { webgpu, wasm: { available: simd, simd, relaxedSimd: relaxedSimdSupported() } };
  },

  async useWasmModules(modules): Promise<void> {
    provideSurgeWasmModules(modules);
  },

  async calibrate(spec, backend, budgetMs): Promise<number> {
    const plan = (kernelDefinitions[spec.kernel].plan as (params: WorkSpec['params']) => { operations: number })(spec.params);
    // Whole units back to back until the budget is spent. The first step warms up (compiles
    // pipelines, lets the WASM tier up) and is timed apart: it counts only when it is all
    // there is, as on a backend so slow that one step outlasts the budget.
    const warmup = { operations: 0, ms: 0 };
    const timed = { operations: 0, ms: 0 };
    const deadline = performance.now() + budgetMs;
    try {
      // At least one step is timed, however long setting up the run took (a busy machine).
      const measuring = () => performance.now() < deadline || warmup.ms === 0;
      while (measuring()) {
        const trial = await startRun(spec, { spec, backend });
        try {
          let last = 0;
          while (last < 1 && measuring()) {
            const stepStarted = performance.now();
            const progress = await trial.step(20);
            const sample = warmup.ms === 0 ? warmup : timed;
            sample.ms += Math.max(performance.now() - stepStarted, 0.01);
            sample.operations += (progress - last) * plan.operations;
            last = progress;
          }
        } finally {
          trial.dispose();
        }
      }
    } catch {
      return 0;
    }
    const sample = timed.operations > 0 ? timed : warmup;
    return sample.ms > 0 ? sample.operations / (sample.ms / 1000) : 0;
  },

  async start(request: StartRequest): Promise<void> {
    run?.dispose();
    run = undefined;
    run = await startRun(request.spec, request);
  },

  step: (budgetMs) => currentRun().step(budgetMs),

  async throttledStep(budgetMs, limit): Promise<ThrottledStep> {
    const started = performance.now();
    stepping = true;
    let progress: number;
    try {
      progress = await currentRun().step(budgetMs);
    } finally {
      stepping = false;
    }
    const busyMs = performance.now() - started;
    const restMs = duty.restAfter(busyMs, limit);
    if (skipRest) skipRest = false;
    else if (restMs > 0) await rest(restMs);
    return { progress, busyMs, restMs: performance.now() - started - busyMs };
  },

  async wake(): Promise<void> {
    if (endRest) endRest();
    else if (stepping) skipRest = true;
    duty.reset();
  },
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

  async generate(backend, { seed, stream, row0, col0, rows, cols, asFloat }: GenerateRequest): Promise<Uint8Array> {
    const key = seedToKey(seed);
    const bytes = rows * cols * 4;
    if (backend === 'wasm') {
      const wasm = await instantiateSurgeWasm(await surgeWasmModule('exact'));
      const ptr = wasm.alloc(bytes);
      wasm.philoxFill(ptr, key[0], key[1], stream, row0, col0, rows, cols, asFloat ? 1 : 0);
      return new Uint8Array(wasm.memory.buffer, ptr, bytes).slice();
    }
    const context = await gpuContext();
    const target = context.buffers.acquire('philox-fill output', bytes, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC);
    const scratch: GPUBuffer[] = [];
    try {
      await context.submitAndWait('philox-fill', (encoder) =>
        encodePhiloxFill(context, encoder, target, { key, stream, row0, col0, rows, cols, asFloat }, scratch),
      );
      return await context.read('philox-fill', target, bytes);
    } finally {
      for (const buffer of [target, ...scratch]) context.buffers.release(buffer);
    }
  },

  async gpuBuffersOutstanding(): Promise<number> {
    const context = gpu ? await gpu.catch(() => undefined) : undefined;
    return context?.buffers.outstanding ?? 0;
  },

  async releaseGpu(): Promise<void> {
    const context = gpu ? await gpu.catch(() => undefined) : undefined;
    context?.device.destroy();
  },
};

expose(api);
