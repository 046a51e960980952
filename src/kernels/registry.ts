import type { KernelName, ParamsOf } from '../protocol/schemas.ts';
import type { KernelDefinition } from './kernel.ts';
import { mandelbrot } from './mandelbrot.ts';
import { matmulF32 } from './matmul-f32.ts';
import { matmulU32 } from './matmul-u32.ts';
import { primes } from './primes.ts';

/** Every kernel's definition by name: its version, work estimate and output size. */
export const kernelDefinitions: { [K in KernelName]: KernelDefinition<ParamsOf<K>> } = {
  'matmul-f32': matmulF32,
  'matmul-u32': matmulU32,
  mandelbrot,
  primes,
};
