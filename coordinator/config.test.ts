import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { configFromEnv } from './config.ts';

describe('the coordinator configuration', () => {
  it('validates on a thread per core but the event loop, from 1 to 4, unless told', () => {
    expect(configFromEnv({}).validationThreads).toBe(Math.max(1, Math.min(4, availableParallelism() - 1)));
    expect(configFromEnv({ SURGE_VALIDATION_THREADS: '0' }).validationThreads).toBe(0);
    expect(configFromEnv({ SURGE_VALIDATION_THREADS: '6' }).validationThreads).toBe(6);
  });

  it('refuses a thread count that is not a small whole number, naming the variable', () => {
    expect(() => configFromEnv({ SURGE_VALIDATION_THREADS: 'two' })).toThrow('SURGE_VALIDATION_THREADS must be a non-negative integer, not "two"');
    expect(() => configFromEnv({ SURGE_VALIDATION_THREADS: '-1' })).toThrow('SURGE_VALIDATION_THREADS must be a non-negative integer');
    expect(() => configFromEnv({ SURGE_VALIDATION_THREADS: '500' })).toThrow('SURGE_VALIDATION_THREADS must be at most 64, not 500');
  });
});
