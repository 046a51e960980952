import { KernelError } from '../errors/kernel-error.ts';
import type { KernelRun } from '../kernels/kernel.ts';
import type { PrimesParams } from '../protocol/schemas.ts';
import type { GpuContext } from './gpu-context.ts';

// Placeholder until the primes kernel lands.
export const GpuPrimesRun = {
  async create(_gpu: GpuContext, _params: PrimesParams, _checkpoint?: Uint8Array): Promise<KernelRun> {
    throw new KernelError('SURGE_E_KERNEL_UNKNOWN', 'primes is not available yet.');
  },
};
