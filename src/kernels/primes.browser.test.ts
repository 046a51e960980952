import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingBackend, runToEnd, startKernelWorker, type WorkerHarness } from '../../test/helpers/kernel-worker-harness.ts';
import vectors from '../../test/vectors/primes.json' with { type: 'json' };
import { KernelError } from '../errors/kernel-error.ts';
import type { Backend, PrimesParams, WorkSpec } from '../protocol/schemas.ts';
import { primesReference } from './primes.ts';

let harness: WorkerHarness;

beforeAll(async () => {
  harness = await startKernelWorker();
});

afterAll(() => harness.terminate());

const spec = (params: PrimesParams): WorkSpec => ({ kernel: 'primes', params });

function totals(output: Uint8Array): { primes: number; twins: number } {
  const words = new Uint32Array(output.buffer, output.byteOffset, output.byteLength / 4);
  let primes = 0;
  let twins = 0;
  for (let i = 0; i < words.length; i += 2) {
    primes += words[i]!;
    twins += words[i + 1]!;
  }
  return { primes, twins };
}

/**
 * Small ranges (the WebGPU here is SwiftShader, on the CPU): none a multiple of its block
 * size; several GPU segments (131 072 numbers) and blocks that span segments; the u32
 * boundary; and just below 2^53, where the base primes run to 9.5·10^7.
 */
const cases: { name: string; params: PrimesParams }[] = [
  { name: 'from 0', params: { lo: 0, hi: 300_001, blockSize: 4096 } },
  { name: 'from 1, blocks larger than a GPU segment', params: { lo: 1, hi: 600_000, blockSize: 256 * 1024 } },
  { name: 'from 2, one short block', params: { lo: 2, hi: 1000, blockSize: 1024 } },
  { name: 'the numbers 0 to 5', params: { lo: 0, hi: 6, blockSize: 1024 } },
  { name: 'the number 1 alone', params: { lo: 1, hi: 2, blockSize: 1024 } },
  { name: 'across 2^32', params: { lo: 2 ** 32 - 150_001, hi: 2 ** 32 + 150_007, blockSize: 3 * 1024 } },
  { name: 'just below 2^53', params: { lo: 2 ** 53 - 200_001, hi: 2 ** 53 - 1, blockSize: 64 * 1024 } },
];

/** Outputs per case and backend, to compare the backends with each other. */
const outputs = new Map<string, Partial<Record<Backend, Uint8Array>>>();

describe.each(['wasm', 'webgpu'] as const)('primes on %s, in a worker', (backend) => {
  it.for(cases)('gives the reference bytes $name', async ({ name, params }, { skip }) => {
    const missing = missingBackend(harness.probe, backend);
    if (missing) skip(missing);
    const output = await runToEnd(harness.worker, spec(params), backend);
    expect(output).toEqual(primesReference(params));
    outputs.set(name, { ...outputs.get(name), [backend]: output });
    expect(await harness.worker.gpuBuffersOutstanding()).toBe(0);
  });

  it('resumes from a checkpoint taken mid-unit and gives the same bytes', async ({ skip }) => {
    const missing = missingBackend(harness.probe, backend);
    if (missing) skip(missing);
    const params = { lo: 2 ** 32 - 70_001, hi: 2 ** 32 + 60_000, blockSize: 8 * 1024 };
    await harness.worker.start({ spec: spec(params), backend });
    // Budget 0: one slice per step, the first of one block, the next at most four.
    await harness.worker.step(0);
    const progress = await harness.worker.step(0);
    expect(progress).toBeGreaterThan(0);
    expect(progress).toBeLessThan(1);
    const checkpoint = await harness.worker.checkpoint();
    await harness.worker.cancel();
    expect(await runToEnd(harness.worker, spec(params), backend, checkpoint)).toEqual(primesReference(params));
    expect(await harness.worker.gpuBuffersOutstanding()).toBe(0);
  });
});

describe('primes across backends', () => {
  it.for(cases)('gives the same bytes on WASM and WebGPU $name', ({ name }, { skip }) => {
    const missing = missingBackend(harness.probe, 'webgpu');
    if (missing) skip(missing);
    const { wasm, webgpu } = outputs.get(name) ?? {};
    if (!wasm || !webgpu) skip('a backend run above failed');
    expect(webgpu).toEqual(wasm);
  });

  it('resumes on WASM from a WebGPU checkpoint', async ({ skip }) => {
    const missing = missingBackend(harness.probe, 'webgpu');
    if (missing) skip(missing);
    const params = { lo: 999_999, hi: 1_200_000, blockSize: 16 * 1024 };
    await harness.worker.start({ spec: spec(params), backend: 'webgpu' });
    await harness.worker.step(0);
    expect(await harness.worker.step(0)).toBeLessThan(1);
    const checkpoint = await harness.worker.checkpoint();
    await harness.worker.cancel();
    expect(await runToEnd(harness.worker, spec(params), 'wasm', checkpoint)).toEqual(primesReference(params));
    expect(await harness.worker.gpuBuffersOutstanding()).toBe(0);
  });
});

describe('primes canaries on WASM', () => {
  it.for(vectors.published.filter((c) => c.params.hi <= 1e9))('counts the published π(x) and twins $name', async ({ params, primes, twins }) => {
    expect(totals(await runToEnd(harness.worker, spec(params), 'wasm'))).toEqual({ primes, twins });
  });

  it('refuses a unit that is too wide with a typed error that names the parameter', async () => {
    const failure = await harness.worker.start({ spec: spec({ lo: 0, hi: 2 ** 35, blockSize: 2 ** 24 }), backend: 'wasm' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KernelError);
    expect((failure as KernelError).code).toBe('SURGE_E_KERNEL_BAD_PARAMS');
    expect((failure as KernelError).shortMessage).toMatch(/hi − lo/);
  });
});
