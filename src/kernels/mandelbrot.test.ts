import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import vectors from '../../test/vectors/mandelbrot.json' with { type: 'json' };
import { KernelError } from '../errors/kernel-error.ts';
import type { MandelbrotParams } from '../protocol/schemas.ts';
import { decimalToFixed, formatFixed, fromLimbs, kOne, mandelbrotTile, parseFixed } from './fixed-point.ts';
import {
  assertMandelbrotFits,
  decodeMandelbrotCheckpoint,
  encodeMandelbrotCheckpoint,
  escapeCount,
  kMandelbrotOpsPerIteration,
  mandelbrot,
  mandelbrotCoordinates,
  mandelbrotPixel,
  mandelbrotReference,
} from './mandelbrot.ts';

const cases = vectors.cases as { name: string; params: MandelbrotParams; rows: string[] }[];
const expectedCounts = (rows: string[]) => rows.flatMap((row) => row.split(' ').map(Number));

const kernelError = (run: () => unknown): KernelError => {
  try {
    run();
  } catch (error) {
    if (error instanceof KernelError) return error;
    throw error;
  }
  throw new Error('expected a KernelError');
};

const fixed = (value: number) => decimalToFixed(String(value));

describe('escape counts of known points', () => {
  it.each([
    ['c = 0 never escapes', 0, 0, 1000],
    ['c = −1 cycles 0, −1, 0', -1, 0, 1000],
    ['c = −2 sits on 2 for ever', -2, 0, 1000],
    ['c = i cycles i, −1 + i, −i', 0, 1, 1000],
    ['c = 1/4, the cusp, creeps toward 1/2', 0.25, 0, 1000],
    // 0 → 1 → 2 → 5: |x| = 2 is not past 2, and x² + y² = 4 is not past 4.
    ['c = 1 escapes after 3', 1, 0, 3],
    // 0 → 2 → 6.
    ['c = 2 escapes after 2', 2, 0, 2],
    ['c = 4 + 4i escapes after 1', 4, 4, 1],
    ['c = −4 − 4i escapes after 1', -4, -4, 1],
    ['c = −0.75 + 0.1i escapes after 33', -0.75, 0.1, 33],
  ])('%s', (_, x, y, expected) => {
    expect(escapeCount(fixed(x), fixed(y), 1000)).toBe(expected);
  });

  it('counts at most maxIterations, and at least 1', () => {
    expect(escapeCount(0n, 0n, 1)).toBe(1);
    expect(escapeCount(4n * kOne, 0n, 1)).toBe(1);
    expect(escapeCount(0n, 0n, 1_000_000)).toBe(1_000_000);
  });

  it('checks |x|, |y| > 2 before the squares: 2 itself goes on', () => {
    // c = −2 + 0i reaches x = 2 exactly; c = 2i reaches y = 2, then x² + y² > 4.
    expect(escapeCount(-2n * kOne, 0n, 10)).toBe(10);
    expect(escapeCount(0n, 2n * kOne, 10)).toBe(2);
  });
});

describe('parameters', () => {
  const base: MandelbrotParams = {
    x0: formatFixed(-4n * kOne),
    y0: formatFixed(-4n * kOne),
    step: formatFixed(2n * kOne),
    width: 5,
    height: 5,
    maxIterations: 10,
  };

  it('accepts a tile that touches ±4 on every side', () => {
    expect(assertMandelbrotFits(base)).toEqual({ x0: -4n * kOne, y0: -4n * kOne, step: 2n * kOne });
  });

  it.each([
    ['step', { step: '0x0' }, /step must be positive/],
    ['step', { step: '-0x1' }, /step must be positive/],
    ['x0', { x0: formatFixed(-4n * kOne - 1n) }, /x0 must lie/],
    ['y0', { y0: formatFixed(4n * kOne + 1n) }, /y0 must lie/],
    ['the last column', { width: 6 }, /last column/],
    ['the last row', { height: 6 }, /last row/],
    ['a malformed number', { x0: '0.5' }, /x0 "0.5"/],
  ])('refuses a bad %s with a message naming it', (_, change, message) => {
    const error = kernelError(() => assertMandelbrotFits({ ...base, ...change }));
    expect(error.code).toBe('SURGE_E_KERNEL_BAD_PARAMS');
    expect(error.shortMessage).toMatch(message);
  });

  it('plans every pixel to maxIterations and outputs a u32 per pixel', () => {
    expect(mandelbrot.version).toBe(1);
    expect(mandelbrot.plan(base)).toEqual({ operations: 25 * 10 * kMandelbrotOpsPerIteration, bytes: 100 });
    expect(mandelbrot.outputBytes({ ...base, width: 4096, height: 4096 })).toBe(4096 * 4096 * 4);
  });

  it('gives the backends each column and row exactly, as sign and limbs', () => {
    const params = mandelbrotTile({ centerX: '-0.5', centerY: '0.25', pixelSize: '1e-20', width: 3, height: 2, maxIterations: 1 });
    const table = mandelbrotCoordinates(params);
    expect(table.length).toBe((3 + 2) * 4);
    const at = (k: number) => fromLimbs({ limbs: [table[4 * k]!, table[4 * k + 1]!, table[4 * k + 2]!], negative: table[4 * k + 3] === 1 });
    const [x0, y0, step] = [params.x0, params.y0, params.step].map((hex) => parseFixed(hex)) as [bigint, bigint, bigint];
    expect([0, 1, 2].map(at)).toEqual([x0, x0 + step, x0 + 2n * step]);
    expect([3, 4].map(at)).toEqual([y0, y0 + step]);
    expect(table[3]).toBe(1);
    expect(table[15]).toBe(0);
  });
});

describe('the reference', () => {
  it.each(cases)('reproduces the known answers for "$name"', ({ params, rows }) => {
    expect(Array.from(mandelbrotReference(params))).toEqual(expectedCounts(rows));
  });

  it('computes any range of pixels, and any one pixel, as the whole tile has them', () => {
    const { params, rows } = cases.find((c) => c.name.startsWith('65×33'))!;
    const all = expectedCounts(rows);
    expect(Array.from(mandelbrotReference(params, 60, 11))).toEqual(all.slice(60, 71));
    expect(mandelbrotPixel(params, 64, 32)).toBe(all.at(-1));
    expect(mandelbrotPixel(params, 3, 1)).toBe(all[65 + 3]);
  });

  it('resolves a deep zoom that f64 cannot: the pixels share f64 coordinates, yet differ', () => {
    const { params, rows } = cases.find((c) => c.name.startsWith('a deep zoom'))!;
    const { x0, y0, step } = assertMandelbrotFits(params);
    expect(step).toBeLessThan(2n ** 22n); // pixels closer than 2⁻⁷⁰
    const f64 = (raw: bigint) => Number(raw) / 2 ** 92;
    expect(f64(x0 + step)).toBe(f64(x0));
    expect(f64(y0 + step)).toBe(f64(y0));
    expect(new Set(expectedCounts(rows)).size).toBeGreaterThan(10);
  });
});

describe('checkpoints', () => {
  const params: MandelbrotParams = { x0: '0x0', y0: '0x0', step: '0x1', width: 3, height: 2, maxIterations: 100 };

  it('round-trips the finished pixels', () => {
    const counts = new Uint8Array(new Uint32Array([100, 7, 1]).buffer);
    const decoded = decodeMandelbrotCheckpoint(encodeMandelbrotCheckpoint(3, counts), params);
    expect(decoded.pixelsDone).toBe(3);
    expect(Array.from(decoded.counts)).toEqual(Array.from(counts));
    expect(decodeMandelbrotCheckpoint(encodeMandelbrotCheckpoint(0, new Uint8Array(0)), params).pixelsDone).toBe(0);
  });

  it.each([
    ['is shorter than its header', new Uint8Array(3)],
    ['claims more pixels than the tile has', encodeMandelbrotCheckpoint(7, new Uint8Array(28))],
    ['holds fewer bytes than it claims', encodeMandelbrotCheckpoint(2, new Uint8Array(4))],
    ['holds a count of 0', encodeMandelbrotCheckpoint(1, new Uint8Array(4))],
    ['holds a count past maxIterations', encodeMandelbrotCheckpoint(1, new Uint8Array(new Uint32Array([101]).buffer))],
  ])('refuses one that %s', (_, bytes) => {
    expect(kernelError(() => decodeMandelbrotCheckpoint(bytes, params)).code).toBe('SURGE_E_KERNEL_CHECKPOINT');
  });
});

// The AssemblyScript kernel, straight from the built module (`npm run build:wasm`); the
// browser test runs it again through the worker, next to WebGPU.
const wasmFile = new URL('../../wasm/build/surge.wasm', import.meta.url);

describe('the WASM kernel in Node', () => {
  const load = async () => {
    const { WasmMandelbrotRun } = await import('../worker/wasm-mandelbrot.ts');
    return { WasmMandelbrotRun, module: new WebAssembly.Module(readFileSync(wasmFile)) };
  };
  const skipWithoutBuild = (skip: (note: string) => void) => {
    if (!existsSync(wasmFile)) skip('wasm/build/surge.wasm is missing: run `npm run build:wasm`');
  };

  it.for(cases)('matches the reference for "$name"', async ({ params, rows }, { skip }) => {
    skipWithoutBuild(skip);
    const { WasmMandelbrotRun, module } = await load();
    const run = await WasmMandelbrotRun.create(module, params);
    let progress = 0;
    for (let steps = 0; progress < 1; steps++) {
      expect(steps).toBeLessThan(10_000);
      progress = await run.step(2);
    }
    expect(Array.from(new Uint32Array((await run.finish()).buffer))).toEqual(expectedCounts(rows));
  });

  it('resumes from a checkpoint taken in the middle of a long orbit', async ({ skip }) => {
    skipWithoutBuild(skip);
    const { WasmMandelbrotRun, module } = await load();
    const { params, rows } = cases.find((c) => c.name.startsWith('long orbits'))!;
    const run = await WasmMandelbrotRun.create(module, params);
    await expect(run.finish()).rejects.toThrow(/before the last pixel/);
    // The first slices are small: the first pixel (50 000 iterations) is still running.
    expect(await run.step(0)).toBe(0);
    let progress = 0;
    while (progress < 0.3) progress = await run.step(0);
    expect(progress).toBeLessThan(1);
    const checkpoint = await run.checkpoint();
    const { pixelsDone } = decodeMandelbrotCheckpoint(checkpoint, params);
    expect(pixelsDone).toBeGreaterThan(0);
    const resumed = await WasmMandelbrotRun.create(module, params, checkpoint);
    while ((await resumed.step(50)) < 1);
    expect(Array.from(new Uint32Array((await resumed.finish()).buffer))).toEqual(expectedCounts(rows));
  });

  it('keeps a step near its budget even when one pixel runs a million iterations', async ({ skip }) => {
    skipWithoutBuild(skip);
    const { WasmMandelbrotRun, module } = await load();
    const run = await WasmMandelbrotRun.create(module, { x0: '0x0', y0: '0x0', step: '0x1', width: 1, height: 1, maxIterations: 1_000_000 });
    let longest = 0;
    let progress = 0;
    for (let steps = 0; progress < 1; steps++) {
      expect(steps).toBeLessThan(10_000);
      const started = performance.now();
      progress = await run.step(10);
      longest = Math.max(longest, performance.now() - started);
    }
    expect(new Uint32Array((await run.finish()).buffer)[0]).toBe(1_000_000);
    expect(longest).toBeLessThan(100);
  });
});
