import type { MandelbrotParams } from '../../src/protocol/schemas.ts';
import type { Verdict } from './verdict.ts';

// Placeholder until the mandelbrot kernel lands: nothing is accepted.
export function validateMandelbrot(_params: MandelbrotParams, _output: Uint8Array, _random: () => number): Verdict {
  return { valid: false, reason: 'this coordinator cannot validate mandelbrot yet' };
}
