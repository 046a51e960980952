import type { MandelbrotParams } from '../protocol/schemas.ts';
import type { KernelDefinition } from './kernel.ts';

// Placeholder until the mandelbrot kernel lands.
export const mandelbrot: KernelDefinition<MandelbrotParams> = {
  name: 'mandelbrot',
  version: 0,
  plan: () => ({ operations: 0, bytes: 0 }),
  outputBytes: () => 0,
};
