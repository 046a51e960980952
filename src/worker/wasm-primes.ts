import { KernelError } from '../errors/kernel-error.ts';
import type { KernelRun } from '../kernels/kernel.ts';
import type { PrimesParams } from '../protocol/schemas.ts';

// Placeholder until the primes kernel lands.
export const WasmPrimesRun = {
  async create(_module: WebAssembly.Module, _params: PrimesParams, _checkpoint?: Uint8Array): Promise<KernelRun> {
    throw new KernelError('SURGE_E_KERNEL_UNKNOWN', 'primes is not available yet.');
  },
};
