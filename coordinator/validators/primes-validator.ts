import type { PrimesParams } from '../../src/protocol/schemas.ts';
import type { Verdict } from './verdict.ts';

// Placeholder until the primes kernel lands: nothing is accepted.
export function validatePrimes(_params: PrimesParams, _output: Uint8Array, _random: () => number): Verdict {
  return { valid: false, reason: 'this coordinator cannot validate primes yet' };
}
