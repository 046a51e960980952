import { type Remote, wrap } from 'comlink';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { worstErrorRatio } from '../../test/helpers/matmul-tolerance.ts';
import vectors from '../../test/vectors/matmul-f32.json' with { type: 'json' };
import { KernelError } from '../errors/kernel-error.ts';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import { matmulInputA, matmulInputB, matmulReference } from '../kernels/matmul-f32.ts';
import type { Backend, MatmulParams } from '../protocol/schemas.ts';
import type { BackendProbe, KernelWorkerApi } from './kernel-worker-api.ts';

registerErrorTransfer();

let handle: Worker;
let worker: Remote<KernelWorkerApi>;
let probe: BackendProbe;

beforeAll(async () => {
  handle = new Worker(new URL('./kernel-worker.ts', import.meta.url), { type: 'module' });
  worker = wrap<KernelWorkerApi>(handle);
  probe = await worker.probe();
});

afterAll(() => handle.terminate());

/** Runs a unit to the end in small steps, as the controller does; returns C. */
async function runToEnd(params: MatmulParams, backend: Backend, checkpoint?: Uint8Array): Promise<Float32Array> {
  await worker.start({ kernel: 'matmul-f32', params, backend, ...(checkpoint ? { checkpoint } : {}) });
  let progress = 0;
  for (let steps = 0; progress < 1; steps++) {
    expect(steps).toBeLessThan(10_000);
    progress = await worker.step(5);
  }
  return new Float32Array((await worker.finish()).buffer);
}

/** Skips (with the reason, never silently) when the backend is not there. */
function requireBackend(backend: Backend, skip: (note: string) => void): void {
  if (backend === 'webgpu' && !probe.webgpu.available) skip(`no WebGPU adapter: ${probe.webgpu.reason}`);
  if (backend === 'wasm' && !probe.wasm.available) skip('this browser has no WebAssembly SIMD');
}

const cases = vectors.cases as { name: string; params: MatmulParams; expected: { row: number; col: number; value: number }[] }[];

describe.each(['wasm', 'webgpu'] as const)('matmul-f32 on %s, in a worker', (backend) => {
  it.for(cases)('matches the reference for "$name"', async ({ params, expected }, { skip }) => {
    requireBackend(backend, skip);
    const { m, n, k } = params;
    const c = await runToEnd(params, backend);
    expect(c.length).toBe(m * n);
    const a = matmulInputA(params);
    const b = matmulInputB(params);
    expect(worstErrorRatio(a, b, c, matmulReference(a, b, m, n, k), m, n, k)).toBeLessThanOrEqual(1);
    for (const { row, col, value } of expected) expect(c[row * n + col]).toBeCloseTo(value, 4);
  });

  it('resumes from a checkpoint taken mid-unit and gives the same bytes', async ({ skip }) => {
    requireBackend(backend, skip);
    const params: MatmulParams = { seed: '0x00000000000000aa', m: 40, n: 24, k: 96, rowOffset: 0, colOffset: 0 };
    const straight = await runToEnd(params, backend);
    await worker.start({ kernel: 'matmul-f32', params, backend });
    let progress = 0;
    while (progress < 0.3) progress = await worker.step(0);
    const checkpoint = await worker.checkpoint();
    await worker.cancel();
    expect(progress).toBeLessThan(1);
    const resumed = await runToEnd(params, backend, checkpoint);
    expect(Array.from(resumed)).toEqual(Array.from(straight));
  });
});

describe('the kernel worker', () => {
  it('reports what it can run on', () => {
    expect(probe.wasm.simd).toBe(true);
    if (probe.webgpu.available) expect(typeof probe.webgpu.adapter.isFallbackAdapter).toBe('boolean');
    else expect(probe.webgpu.reason).toMatch(/WebGPU/);
  });

  it('refuses an oversized unit with a typed error that names the matrix', async () => {
    const params: MatmulParams = { seed: '0x0000000000000000', m: 4096, n: 4096, k: 8192, rowOffset: 0, colOffset: 0 };
    const failure = await worker.start({ kernel: 'matmul-f32', params, backend: 'wasm' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KernelError);
    expect((failure as KernelError).code).toBe('SURGE_E_KERNEL_TOO_LARGE');
    expect((failure as KernelError).shortMessage).toMatch(/A \(m×k\)/);
  });
});
