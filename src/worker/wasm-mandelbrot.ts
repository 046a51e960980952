import { KernelError } from '../errors/kernel-error.ts';
import type { KernelRun } from '../kernels/kernel.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';

// Placeholder until the mandelbrot kernel lands.
export const WasmMandelbrotRun = {
  async create(_module: WebAssembly.Module, _params: MandelbrotParams, _checkpoint?: Uint8Array): Promise<KernelRun> {
    throw new KernelError('SURGE_E_KERNEL_UNKNOWN', 'mandelbrot is not available yet.');
  },
};
