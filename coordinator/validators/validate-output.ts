import type { WorkSpec } from '../../src/protocol/schemas.ts';
import { validateMandelbrot } from './mandelbrot-validator.ts';
import { validateMatmulF32 } from './matmul-f32-validator.ts';
import { validateMatmulU32 } from './matmul-u32-validator.ts';
import { validatePrimes } from './primes-validator.ts';
import { sharedSecureUniforms } from './secure-uniforms.ts';
import type { Verdict } from './verdict.ts';

/** Freivalds trials: f32 fails a wrong row with high probability per trial; u32 at worst with 1/2. */
const kF32Trials = 3;
const kU32Trials = 24;

/** The validator of each kernel, with the coordinator's own randomness. */
export async function validateOutput(spec: WorkSpec, output: Uint8Array, random: () => number = sharedSecureUniforms): Promise<Verdict> {
  switch (spec.kernel) {
    case 'matmul-f32':
      return validateMatmulF32(spec.params, output, kF32Trials, random);
    case 'matmul-u32':
      return validateMatmulU32(spec.params, output, kU32Trials, random);
    case 'mandelbrot':
      return validateMandelbrot(spec.params, output, random);
    case 'primes':
      return validatePrimes(spec.params, output, random);
  }
}

/** One output to validate against its unit. */
export interface ValidationTask {
  spec: WorkSpec;
  output: Uint8Array;
}

/** A task's verdict and the seconds its check took, or the error the check threw (such as an input it could not read). */
export type ValidationOutcome = { verdict: Verdict; seconds: number } | { error: unknown };

/**
 * Validates tasks one after another on this thread. A check that throws does not stop the
 * others: its outcome carries the error. Each is timed while it runs synchronously (all of
 * it, unless it reads data inputs): a timer across the await would also count whatever else
 * the thread ran meanwhile.
 */
export async function validateTasks(tasks: readonly ValidationTask[], random: () => number = sharedSecureUniforms): Promise<ValidationOutcome[]> {
  const outcomes: ValidationOutcome[] = [];
  for (const { spec, output } of tasks) {
    try {
      const started = performance.now();
      const checking = validateOutput(spec, output, random);
      const seconds = (performance.now() - started) / 1000;
      outcomes.push({ verdict: await checking, seconds });
    } catch (error) {
      outcomes.push({ error });
    }
  }
  return outcomes;
}
