import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fnv1a } from '../../test/helpers/fnv1a.ts';
import { missingBackend, runToEnd, startKernelWorker, type WorkerHarness } from '../../test/helpers/kernel-worker-harness.ts';
import { worstErrorRatio } from '../../test/helpers/matmul-tolerance.ts';
import f32Vectors from '../../test/vectors/matmul-f32.json' with { type: 'json' };
import u32Vectors from '../../test/vectors/matmul-u32.json' with { type: 'json' };
import { KernelError } from '../errors/kernel-error.ts';
import type { SurgeError } from '../errors/surge-error.ts';
import { matmulInputA, matmulInputB } from '../kernels/matmul.ts';
import { matmulF32Reference } from '../kernels/matmul-f32.ts';
import { matmulU32Reference } from '../kernels/matmul-u32.ts';
import type { Backend, MatmulParams } from '../protocol/schemas.ts';

let harness: WorkerHarness;

beforeAll(async () => {
  harness = await startKernelWorker();
});

afterAll(() => harness.terminate());

function skipWithout(backend: Backend, skip: (note: string) => void): void {
  const reason = missingBackend(harness.probe, backend);
  if (reason) skip(reason);
}

const f32Cases = f32Vectors.cases as { name: string; params: MatmulParams; expected: { row: number; col: number; value: number }[] }[];
const u32Cases = u32Vectors.cases as { name: string; params: MatmulParams; outputFnv1a: string }[];
const backends = ['wasm', 'webgpu'] as const;

describe.each(backends)('on %s, in a worker', (backend) => {
  it.for(f32Cases)('matmul-f32 matches the reference for "$name"', async ({ params, expected }, { skip }) => {
    skipWithout(backend, skip);
    const { m, n, k } = params;
    const c = new Float32Array((await runToEnd(harness.worker, { kernel: 'matmul-f32', params }, backend)).buffer);
    expect(c.length).toBe(m * n);
    const a = matmulInputA(params, 'f32');
    const b = matmulInputB(params, 'f32');
    expect(worstErrorRatio(a, b, c, matmulF32Reference(a, b, m, n, k), m, n, k)).toBeLessThanOrEqual(1);
    for (const { row, col, value } of expected) expect(c[row * n + col]).toBeCloseTo(value, 4);
  });

  it.for(u32Cases)('matmul-u32 gives the known bytes for "$name"', async ({ params, outputFnv1a }, { skip }) => {
    skipWithout(backend, skip);
    expect(fnv1a(await runToEnd(harness.worker, { kernel: 'matmul-u32', params }, backend))).toBe(outputFnv1a);
  });

  it.for([
    { rows: 3, cols: 9, row0: 5, col0: 2, asFloat: false },
    { rows: 17, cols: 33, row0: 0, col0: 0, asFloat: true },
    { rows: 2, cols: 5, row0: 0xffffffff, col0: 0xfffffff0, asFloat: false },
  ])('generates the same Philox words as TypeScript (%o)', async ({ rows, cols, row0, col0, asFloat }, { skip }) => {
    skipWithout(backend, skip);
    const seed = '0x243f6a8885a308d3';
    const bytes = await harness.worker.generate(backend, { seed, stream: 1, row0, col0, rows, cols, asFloat });
    const params: MatmulParams = { seed, m: 1, n: cols, k: rows, rowOffset: 0, colOffset: col0 };
    // matmulInputB is the stream-1 generator from row 0: compare row by row at the same global rows.
    if (row0 === 0) {
      const expected = asFloat ? matmulInputB(params, 'f32') : matmulInputB(params, 'u32');
      expect(Array.from(new Uint8Array(bytes))).toEqual(Array.from(new Uint8Array(expected.buffer)));
    } else {
      const { philox4x32, seedToKey } = await import('../kernels/philox.ts');
      const [key0, key1] = seedToKey(seed);
      const words = new Uint32Array(bytes.buffer);
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const column = (col0 + c) >>> 0;
          const block = philox4x32(key0, key1, [column >>> 2, (row0 + r) >>> 0, 1, 0]);
          expect(words[r * cols + c]).toBe(block[column & 3]);
        }
      }
    }
  });

  it('computes a unit whose inputs are inline data instead of a seed', async ({ skip }) => {
    skipWithout(backend, skip);
    const m = 9;
    const n = 13;
    const k = 21;
    const a = Uint32Array.from({ length: m * k }, (_, i) => Math.imul(i + 1, 0x9e3779b1) >>> 0);
    const b = Uint32Array.from({ length: k * n }, (_, i) => Math.imul(i + 7, 0x85ebca6b) >>> 0);
    const inline = (values: Uint32Array) => ({ inline: btoa(String.fromCharCode(...new Uint8Array(values.buffer))) });
    const params: MatmulParams = { seed: '0x0000000000000000', m, n, k, rowOffset: 0, colOffset: 0, inputs: { a: inline(a), b: inline(b) } };
    const output = await runToEnd(harness.worker, { kernel: 'matmul-u32', params }, backend);
    expect(fnv1a(output)).toBe(fnv1a(new Uint8Array(matmulU32Reference(a, b, m, n, k).buffer)));
  });

  it('resumes matmul from a checkpoint taken mid-unit and gives the same bytes', async ({ skip }) => {
    skipWithout(backend, skip);
    const params: MatmulParams = { seed: '0x00000000000000aa', m: 150, n: 24, k: 96, rowOffset: 0, colOffset: 0 };
    const spec = { kernel: 'matmul-u32', params } as const;
    const straight = await runToEnd(harness.worker, spec, backend);
    await harness.worker.start({ spec, backend });
    const progress = await harness.worker.step(0);
    const checkpoint = await harness.worker.checkpoint();
    await harness.worker.cancel();
    expect(progress).toBeGreaterThan(0);
    expect(progress).toBeLessThan(1);
    const resumed = await runToEnd(harness.worker, spec, backend, checkpoint);
    expect(fnv1a(resumed)).toBe(fnv1a(straight));
  });
});

describe('across backends and faults', () => {
  it('gives byte-identical matmul-u32 on WASM and WebGPU', async ({ skip }) => {
    skipWithout('webgpu', skip);
    const spec = { kernel: 'matmul-u32', params: { seed: '0x1111111122222222', m: 70, n: 65, k: 33, rowOffset: 9, colOffset: 3 } } as const;
    expect(fnv1a(await runToEnd(harness.worker, spec, 'webgpu'))).toBe(fnv1a(await runToEnd(harness.worker, spec, 'wasm')));
  });

  it('finishes a unit on WASM from the GPU checkpoint after the device is lost mid-run, and leaks no buffers', async ({ skip }) => {
    skipWithout('webgpu', skip);
    const spec = { kernel: 'matmul-u32', params: { seed: '0x0000000000000bad', m: 200, n: 40, k: 64, rowOffset: 0, colOffset: 0 } } as const;
    const expected = fnv1a(await runToEnd(harness.worker, spec, 'wasm'));
    await harness.worker.start({ spec, backend: 'webgpu' });
    await harness.worker.step(0);
    const checkpoint = await harness.worker.checkpoint();
    await harness.worker.releaseGpu();
    const failure = await harness.worker.step(5).catch((error: unknown) => error);
    expect((failure as SurgeError).code).toBe('SURGE_E_GPU_DEVICE_LOST');
    const resumed = await runToEnd(harness.worker, spec, 'wasm', checkpoint);
    expect(fnv1a(resumed)).toBe(expected);
    // A new device comes up for the next GPU unit, and no buffer was left behind.
    expect(fnv1a(await runToEnd(harness.worker, spec, 'webgpu'))).toBe(expected);
    expect(await harness.worker.gpuBuffersOutstanding()).toBe(0);
  });

  it('gives the known matmul bytes on WASM in memory a larger unit left full of its values', async () => {
    // A finished run's WASM instance serves the next run with its heap reset but not cleared,
    // so any read before a write would pick up the larger unit's numbers instead of zeros.
    const large = { seed: '0x000000000000beef', m: 130, n: 130, k: 300, rowOffset: 0, colOffset: 0 };
    await runToEnd(harness.worker, { kernel: 'matmul-u32', params: large }, 'wasm');
    const params: MatmulParams = { seed: '0x0000000000000c0d', m: 37, n: 29, k: 45, rowOffset: 0, colOffset: 0 };
    const expected = matmulU32Reference(matmulInputA(params, 'u32'), matmulInputB(params, 'u32'), params.m, params.n, params.k);
    expect(fnv1a(await runToEnd(harness.worker, { kernel: 'matmul-u32', params }, 'wasm'))).toBe(fnv1a(new Uint8Array(expected.buffer)));
    await runToEnd(harness.worker, { kernel: 'matmul-f32', params: large }, 'wasm');
    const c = new Float32Array((await runToEnd(harness.worker, { kernel: 'matmul-f32', params }, 'wasm')).buffer);
    const a = matmulInputA(params, 'f32');
    const b = matmulInputB(params, 'f32');
    expect(worstErrorRatio(a, b, c, matmulF32Reference(a, b, params.m, params.n, params.k), params.m, params.n, params.k)).toBeLessThanOrEqual(1);
  });

  it('reports what it can run on', () => {
    expect(harness.probe.wasm.simd).toBe(true);
    if (harness.probe.webgpu.available) expect(typeof harness.probe.webgpu.adapter.isFallbackAdapter).toBe('boolean');
    else expect(harness.probe.webgpu.reason).toMatch(/WebGPU/);
  });

  it('refuses an oversized unit with a typed error that names the matrix', async () => {
    const params: MatmulParams = { seed: '0x0000000000000000', m: 4096, n: 4096, k: 8192, rowOffset: 0, colOffset: 0 };
    const failure = await harness.worker.start({ spec: { kernel: 'matmul-f32', params }, backend: 'wasm' }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(KernelError);
    expect((failure as KernelError).code).toBe('SURGE_E_KERNEL_TOO_LARGE');
    expect((failure as KernelError).shortMessage).toMatch(/A \(m×k\)/);
  });
});
