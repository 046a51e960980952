/**
 * `npm run bench [-- --json] [-- --quick] [-- --kernel NAME]`: runs Surge's kernels in headless
 * Chromium (real workers, real WASM, the browser's WebGPU adapter) and prints a table, or one
 * JSON object per line with --json:
 * {"kernel","backend","size","workers","seconds","rate","unit","adapter","browser","note"?}.
 * Rates: GFLOP/s (matmul-f32), GOP/s (matmul-u32), iterations/s (mandelbrot), numbers sieved/s
 * (primes). Baselines: TensorFlow.js's WASM backend for matmul, straightforward TypeScript for
 * mandelbrot and primes, on the same page.
 */
import { parseArgs } from 'node:util';
import type { BenchCase, BenchResult } from '../src/bench/bench-types.ts';
import { launchChromium } from '../test/helpers/browser.ts';
import { serveDist } from './serve-static.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    kernel: { type: 'string', multiple: true },
    'gpu-size': { type: 'string' },
  },
});

function plan(threads: number, gpuAvailable: boolean, fallbackGpu: boolean): BenchCase[] {
  const n = values.quick ? 256 : 1024;
  // SwiftShader (a CPU emulation of a GPU) is ~100× slower than WASM: keep its sizes small.
  const gpuN = Number(values['gpu-size'] ?? (fallbackGpu ? 256 : 2048));
  const pool = Math.max(1, threads);
  const cases: BenchCase[] = [
    { kernel: 'fma-peak', baselineOf: 'matmul-f32', backend: 'wasm', size: 12, workers: 1 },
    { kernel: 'matmul-f32', backend: 'wasm', size: n, workers: 1 },
    { kernel: 'matmul-f32', backend: 'wasm', size: n, workers: pool },
    { kernel: 'tfjs-matmul-f32', backend: 'wasm', size: n, workers: pool },
    { kernel: 'matmul-u32', backend: 'wasm', size: n, workers: 1 },
    { kernel: 'matmul-u32', backend: 'wasm', size: n, workers: pool },
  ];
  const side = values.quick ? 32 : 96;
  cases.push(
    { kernel: 'mandelbrot', backend: 'wasm', size: side, workers: 1 },
    { kernel: 'mandelbrot', backend: 'wasm', size: side, workers: pool },
    { kernel: 'ts-baseline', baselineOf: 'mandelbrot', backend: 'typescript', size: 16, workers: 1 },
  );
  const span = values.quick ? 1 << 24 : 1 << 28;
  cases.push(
    { kernel: 'primes', backend: 'wasm', size: span, workers: 1 },
    { kernel: 'primes', backend: 'wasm', size: span, workers: pool },
    { kernel: 'ts-baseline', baselineOf: 'primes', backend: 'typescript', size: 1 << 24, workers: 1 },
  );
  if (gpuAvailable) {
    cases.push(
      { kernel: 'matmul-f32', backend: 'webgpu', size: gpuN, workers: 1 },
      { kernel: 'matmul-u32', backend: 'webgpu', size: gpuN, workers: 1 },
      { kernel: 'mandelbrot', backend: 'webgpu', size: fallbackGpu ? 16 : 512, workers: 1 },
      { kernel: 'primes', backend: 'webgpu', size: fallbackGpu ? 1 << 22 : 1 << 30, workers: 1 },
    );
  }
  return values.kernel ? cases.filter((c) => values.kernel!.some((k) => c.kernel.startsWith(k) || c.baselineOf === k)) : cases;
}

function row(r: BenchResult): string {
  const rate = r.rate >= 100 ? r.rate.toFixed(0) : r.rate.toPrecision(3);
  return [
    r.kernel.padEnd(20),
    r.backend.padEnd(10),
    String(r.size).padStart(9),
    String(r.workers).padStart(7),
    r.seconds.toFixed(3).padStart(8),
    `${rate} ${r.unit}`.padEnd(22),
    r.note ?? '',
  ].join(' ');
}

async function main(): Promise<void> {
  const { app, url } = await serveDist();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    page.on('pageerror', (error) => console.error('page error:', error.message));
    await page.goto(`${url}/bench.html`);
    await page.waitForFunction(() => 'surgeBench' in window, undefined, { timeout: 30_000 });
    const gpu = await page.evaluate(async () => {
      const adapter = await navigator.gpu?.requestAdapter();
      return { available: Boolean(adapter), fallback: Boolean((adapter?.info as { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter) };
    });
    const threads = await page.evaluate(() => window.surgeBench.hardwareConcurrency);
    if (!values.json)
      console.log(
        ['kernel'.padEnd(20), 'backend'.padEnd(10), 'size'.padStart(9), 'workers'.padStart(7), 'seconds'.padStart(8), 'rate'.padEnd(22), 'note'].join(' '),
      );
    for (const c of plan(threads, gpu.available, gpu.fallback)) {
      const result = await page.evaluate((benchCase) => window.surgeBench.run(benchCase), c);
      console.log(values.json ? JSON.stringify(result) : row(result));
    }
  } finally {
    await browser.close();
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
