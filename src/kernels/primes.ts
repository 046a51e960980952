import type { PrimesParams } from '../protocol/schemas.ts';
import type { KernelDefinition } from './kernel.ts';

// Placeholder until the primes kernel lands.
export const primes: KernelDefinition<PrimesParams> = {
  name: 'primes',
  version: 0,
  plan: () => ({ operations: 0, bytes: 0 }),
  outputBytes: () => 0,
};
