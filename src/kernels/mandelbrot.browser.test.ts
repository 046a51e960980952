import { type Remote, wrap } from 'comlink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import vectors from '../../test/vectors/mandelbrot.json' with { type: 'json' };
import { KernelError } from '../errors/kernel-error.ts';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import type { Backend, MandelbrotParams } from '../protocol/schemas.ts';
import type { BackendProbe, KernelWorkerApi } from '../worker/kernel-worker-api.ts';
import { formatFixed, kOne } from './fixed-point.ts';
import { decodeMandelbrotCheckpoint, mandelbrotReference } from './mandelbrot.ts';

registerErrorTransfer();

let handle: Worker;
let worker: Remote<KernelWorkerApi>;
let probe: BackendProbe;

beforeAll(async () => {
  handle = new Worker(new URL('../worker/kernel-worker.ts', import.meta.url), { type: 'module' });
  worker = wrap<KernelWorkerApi>(handle);
  probe = await worker.probe();
});

afterAll(() => handle.terminate());

const cases = vectors.cases as { name: string; params: MandelbrotParams; rows: string[] }[];
const expectedCounts = (rows: string[]) => rows.flatMap((row) => row.split(' ').map(Number));

/** Runs a unit to the end in small steps, as the controller does; returns the counts and the number of steps. */
async function runToEnd(params: MandelbrotParams, backend: Backend, checkpoint?: Uint8Array): Promise<{ counts: number[]; steps: number }> {
  await worker.start({ spec: { kernel: 'mandelbrot', params }, backend, ...(checkpoint ? { checkpoint } : {}) });
  let progress = 0;
  let steps = 0;
  for (; progress < 1; steps++) {
    expect(steps).toBeLessThan(10_000);
    progress = await worker.step(20);
  }
  return { counts: Array.from(new Uint32Array((await worker.finish()).buffer)), steps };
}

/** Skips (with the reason, never silently) when the backend is not there. */
function requireBackend(backend: Backend, skip: (note: string) => void): void {
  if (backend === 'webgpu' && !probe.webgpu.available) skip(`no WebGPU adapter: ${probe.webgpu.reason}`);
  if (backend === 'wasm' && !probe.wasm.available) skip('this browser has no WebAssembly SIMD');
}

/** What each backend gave for each case, to compare the backends. */
const outputs = new Map<string, number[]>();

describe.each(['wasm', 'webgpu'] as const)('mandelbrot on %s, in a worker', (backend) => {
  it.for(cases)('gives the reference counts for "$name"', async ({ name, params, rows }, { skip }) => {
    requireBackend(backend, skip);
    const { counts, steps } = await runToEnd(params, backend);
    expect(counts).toEqual(expectedCounts(rows));
    // Orbits of 20 000 to 50 000 iterations take several dispatches: a submit stays short.
    if (name.startsWith('long orbits') && backend === 'webgpu') expect(steps).toBeGreaterThan(3);
    // Pixels 2⁻⁷⁵ apart, which f64 would give the same coordinates, get different counts.
    if (name.startsWith('a deep zoom')) expect(new Set(counts).size).toBeGreaterThan(10);
    const other = outputs.get(name);
    if (other) expect(counts).toEqual(other);
    outputs.set(name, counts);
  });

  it('agrees with the reference computed here, on a tile that is in no vector file', async ({ skip }) => {
    requireBackend(backend, skip);
    const params: MandelbrotParams = {
      x0: formatFixed(-kOne - 12345n),
      y0: formatFixed(kOne / 4n + 999n),
      step: formatFixed(kOne / 1000n + 7n),
      width: 9,
      height: 4,
      maxIterations: 300,
    };
    const { counts } = await runToEnd(params, backend);
    expect(counts).toEqual(Array.from(mandelbrotReference(params)));
  });

  it('resumes from a checkpoint taken mid-unit and gives the same bytes', async ({ skip }) => {
    requireBackend(backend, skip);
    // A GPU checkpoint keeps whole bands, which start at one workgroup of pixels and grow.
    const params: MandelbrotParams = {
      x0: formatFixed(-2n * kOne),
      y0: formatFixed(-3n * kOne),
      step: formatFixed(kOne / 32n),
      width: 128,
      height: 192,
      maxIterations: 24,
    };
    const total = 128 * 192;
    const straight = await runToEnd(params, backend);
    await worker.start({ spec: { kernel: 'mandelbrot', params }, backend });
    let progress = 0;
    while (progress < 0.1) progress = await worker.step(0);
    expect(progress).toBeLessThan(1);
    const checkpoint = await worker.checkpoint();
    await worker.cancel();
    const { pixelsDone } = decodeMandelbrotCheckpoint(checkpoint, params);
    expect(pixelsDone).toBeGreaterThan(0);
    expect(pixelsDone).toBeLessThan(total);
    const resumed = await runToEnd(params, backend, checkpoint);
    expect(resumed.counts).toEqual(straight.counts);
    // And the other backend takes the same checkpoint.
    const other = backend === 'wasm' ? 'webgpu' : 'wasm';
    if ((other === 'webgpu' && probe.webgpu.available) || other === 'wasm') {
      expect((await runToEnd(params, other, checkpoint)).counts).toEqual(straight.counts);
    }
  });

  it('keeps each step near its budget while one pixel runs a million iterations', async ({ skip }) => {
    requireBackend(backend, skip);
    const params: MandelbrotParams = { x0: '0x0', y0: '0x0', step: '0x1', width: 1, height: 1, maxIterations: 1_000_000 };
    await worker.start({ spec: { kernel: 'mandelbrot', params }, backend });
    const times: number[] = [];
    let progress = 0;
    while (progress < 1 && times.length < 12) {
      const started = performance.now();
      progress = await worker.step(20);
      times.push(performance.now() - started);
    }
    await worker.cancel();
    // The first step may include compiling the pipeline; a lost device takes seconds.
    expect(Math.max(0, ...times.slice(1))).toBeLessThan(250);
  });

  it('leaves no GPU buffer behind', async ({ skip }) => {
    requireBackend(backend, skip);
    expect(await worker.gpuBuffersOutstanding()).toBe(0);
  });
});

describe('the mandelbrot worker', () => {
  it('refuses a tile outside [−4, 4]² with a typed error that names the parameter', async () => {
    const params: MandelbrotParams = { x0: formatFixed(3n * kOne), y0: '0x0', step: formatFixed(kOne), width: 3, height: 1, maxIterations: 10 };
    const failure = await worker.start({ spec: { kernel: 'mandelbrot', params }, backend: 'wasm' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KernelError);
    expect((failure as KernelError).code).toBe('SURGE_E_KERNEL_BAD_PARAMS');
    expect((failure as KernelError).shortMessage).toMatch(/last column/);
  });
});
