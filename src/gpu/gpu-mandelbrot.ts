import { KernelError } from '../errors/kernel-error.ts';
import type { KernelRun } from '../kernels/kernel.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';
import type { GpuContext } from './gpu-context.ts';

// Placeholder until the mandelbrot kernel lands.
export const GpuMandelbrotRun = {
  async create(_gpu: GpuContext, _params: MandelbrotParams, _checkpoint?: Uint8Array): Promise<KernelRun> {
    throw new KernelError('SURGE_E_KERNEL_UNKNOWN', 'mandelbrot is not available yet.');
  },
};
