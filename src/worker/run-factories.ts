import type { GpuContext } from '../gpu/gpu-context.ts';
import { GpuMandelbrotRun } from '../gpu/gpu-mandelbrot.ts';
import { GpuMatmulRun } from '../gpu/gpu-matmul.ts';
import { GpuPrimesRun } from '../gpu/gpu-primes.ts';
import type { KernelRun } from '../kernels/kernel.ts';
import type { Backend, KernelName, ParamsOf } from '../protocol/schemas.ts';
import { surgeWasmModule, type WasmFlavour } from './surge-wasm.ts';
import { WasmMandelbrotRun } from './wasm-mandelbrot.ts';
import { WasmMatmulRun } from './wasm-matmul.ts';
import { WasmPrimesRun } from './wasm-primes.ts';

/** What a run needs from its worker: the compiled WASM module and the GPU. */
export interface RunContext {
  /** `relaxed` only where the browser validates relaxed SIMD; callers ask for it only for tolerance-checked kernels. */
  relaxedSimd: boolean;
  gpu(): Promise<GpuContext>;
}

type Factory<K extends KernelName> = (params: ParamsOf<K>, backend: Backend, context: RunContext, checkpoint?: Uint8Array) => Promise<KernelRun>;

const exact = () => surgeWasmModule('exact' satisfies WasmFlavour);

/** How each kernel starts on each backend. */
export const runFactories: { [K in KernelName]: Factory<K> } = {
  'matmul-f32': async (params, backend, context, checkpoint) =>
    backend === 'webgpu'
      ? GpuMatmulRun.create(await context.gpu(), 'f32', params, checkpoint)
      : WasmMatmulRun.create(await surgeWasmModule(context.relaxedSimd ? 'relaxed' : 'exact'), 'f32', params, checkpoint),
  'matmul-u32': async (params, backend, context, checkpoint) =>
    backend === 'webgpu' ? GpuMatmulRun.create(await context.gpu(), 'u32', params, checkpoint) : WasmMatmulRun.create(await exact(), 'u32', params, checkpoint),
  mandelbrot: async (params, backend, context, checkpoint) =>
    backend === 'webgpu' ? GpuMandelbrotRun.create(await context.gpu(), params, checkpoint) : WasmMandelbrotRun.create(await exact(), params, checkpoint),
  primes: async (params, backend, context, checkpoint) =>
    backend === 'webgpu' ? GpuPrimesRun.create(await context.gpu(), params, checkpoint) : WasmPrimesRun.create(await exact(), params, checkpoint),
};
