import { type Remote, wrap } from 'comlink';
import fmaPeakUrl from '../../wasm/build/fma-peak.wasm?url';
import { registerErrorTransfer } from '../errors/worker-transfer.ts';
import { adapterLabel } from '../gpu/gpu-context.ts';
import type { BackendProbe, KernelWorkerApi } from '../worker/kernel-worker-api.ts';
import { kernelBenchSpec, typescriptBaseline } from './bench-specs.ts';
import type { BenchCase, BenchResult } from './bench-types.ts';

/**
 * The benchmark page (bench.html), driven by `npm run bench` through headless Chromium:
 * `window.surgeBench.run(case)` measures one case and returns a BenchResult. Kernels run in
 * real kernel workers, exactly as contributors run them.
 */
registerErrorTransfer();

/** Shortest timed run per case, in seconds (units run back to back until it is reached). */
const kMinSeconds = 1;

/** TensorFlow.js from its prebuilt bundles (see bench.html). */
declare const tf: typeof import('@tensorflow/tfjs-core') & { wasm: { setWasmPaths(prefix: string): void } };

function browserName(): string {
  const brands = (navigator as Navigator & { userAgentData?: { brands: { brand: string; version: string }[] } }).userAgentData?.brands ?? [];
  const brand = brands.find((b) => /Chrom/.test(b.brand));
  return brand ? `${brand.brand} ${brand.version}` : navigator.userAgent;
}

async function newWorker(): Promise<{ api: Remote<KernelWorkerApi>; probe: BackendProbe; handle: Worker }> {
  const handle = new Worker(new URL('../worker/kernel-worker.ts', import.meta.url), { type: 'module' });
  const api = wrap<KernelWorkerApi>(handle);
  return { api, probe: await api.probe(), handle };
}

/** Runs one unit per worker at once; returns the wall time of the compute steps and the outputs. */
async function runKernel(c: BenchCase): Promise<BenchResult> {
  const workers = await Promise.all(Array.from({ length: c.workers }, newWorker));
  const probe = workers[0]!.probe;
  const { spec, work, unit, warmup } = kernelBenchSpec(c);
  const backend = c.backend as 'wasm' | 'webgpu';
  try {
    // Warm up: compile the module, build pipelines, let the JIT settle.
    for (const w of workers) {
      await w.api.start({ spec: warmup, backend });
      while ((await w.api.step(50)) < 1);
      await w.api.finish();
    }
    // Each worker runs units back to back for at least kMinSeconds of compute, so short units
    // still time well. Only the steps are timed: input generation and setup are not kernel speed.
    const perWorker = await Promise.all(
      workers.map(async (w) => {
        const done: Uint8Array[] = [];
        let computeMs = 0;
        do {
          await w.api.start({ spec, backend });
          const stepsStarted = performance.now();
          while ((await w.api.step(100)) < 1);
          computeMs += performance.now() - stepsStarted;
          done.push(await w.api.finish());
        } while (computeMs < kMinSeconds * 1000);
        return { done, computeMs };
      }),
    );
    const outputs = perWorker.flatMap((w) => w.done);
    const seconds = Math.max(...perWorker.map((w) => w.computeMs)) / 1000;
    const total = outputs.reduce((sum, output) => sum + work(output), 0);
    const adapter = backend === 'webgpu' && probe.webgpu.available ? adapterLabel(probe.webgpu.adapter) : 'cpu';
    const note =
      backend === 'wasm' && c.kernel === 'matmul-f32' && probe.wasm.relaxedSimd ? 'relaxed SIMD (fused multiply-add)' : backend === 'wasm' ? 'SIMD' : undefined;
    return {
      kernel: c.kernel,
      backend,
      size: c.size,
      workers: c.workers,
      seconds,
      rate: total / seconds,
      unit,
      adapter,
      browser: browserName(),
      ...(note ? { note } : {}),
    };
  } finally {
    for (const w of workers) w.handle.terminate();
  }
}

/** TensorFlow.js's WASM backend (XNNPACK, SIMD, and threads when cross-origin isolated). */
async function runTfjs(c: BenchCase): Promise<BenchResult> {
  tf.wasm.setWasmPaths('/vendor/tfjs-backend-wasm/dist/');
  await tf.setBackend('wasm');
  await tf.ready();
  const n = c.size;
  const a = tf.randomUniform([n, n], -1, 1);
  const b = tf.randomUniform([n, n], -1, 1);
  await tf.matMul(a, b).data();
  const reps = 5;
  const started = performance.now();
  for (let i = 0; i < reps; i++) {
    const product = tf.matMul(a, b);
    await product.data();
    product.dispose();
  }
  const seconds = (performance.now() - started) / 1000;
  a.dispose();
  b.dispose();
  const threads = crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  return {
    kernel: 'tfjs-matmul-f32',
    backend: 'wasm',
    size: n,
    workers: threads,
    seconds,
    rate: (reps * 2 * n ** 3) / seconds / 1e9,
    unit: 'GFLOP/s',
    adapter: 'cpu',
    browser: browserName(),
    note: `TensorFlow.js ${tf.version_core} WASM backend, ${reps} products, ${crossOriginIsolated ? 'threaded SIMD' : 'SIMD'}`,
  };
}

/** Runs of the FMA ceiling, each about this long; the ceiling is the fastest. */
const kPeakRunMs = 2;

/**
 * The most f32 multiply-adds one core retires from WASM (wasm/fma-peak.ts: twelve independent
 * f32x4.relaxed_madd chains, no memory traffic), on the page's thread: what matmul-f32 on WASM
 * is a fraction of. The best of many short runs, since a ceiling is what the core does when
 * nothing else holds it.
 */
async function runFmaPeak(c: BenchCase): Promise<BenchResult> {
  const result = (seconds: number, rate: number, note: string): BenchResult => ({
    kernel: 'fma-peak',
    backend: 'wasm',
    size: c.size,
    workers: 1,
    seconds,
    rate,
    unit: 'GFLOP/s',
    adapter: 'cpu',
    browser: browserName(),
    note,
  });
  const flopsPerIteration = 12 * 4 * 2;
  let instance: WebAssembly.Instance;
  try {
    ({ instance } = await WebAssembly.instantiateStreaming(fetch(fmaPeakUrl), { env: { abort: () => {} } }));
  } catch (error) {
    return result(0, 0, `needs relaxed SIMD: ${String(error)}`);
  }
  const fmaPeak = instance.exports.fmaPeak as (iterations: number, x: number, y: number) => number;
  // Let the module tier up from Liftoff to TurboFan (V8 swaps code between calls, not inside one).
  for (const started = performance.now(); performance.now() - started < 300; ) fmaPeak(100_000, 0.5, 0.999);
  let iterations = 100_000;
  for (;;) {
    const started = performance.now();
    fmaPeak(iterations, 0.5, 0.999);
    const ms = performance.now() - started;
    if (ms >= kPeakRunMs) break;
    iterations = Math.ceil((iterations * kPeakRunMs * 1.2) / Math.max(ms, 0.1));
  }
  let best = 0;
  let totalMs = 0;
  let runs = 0;
  while (totalMs < kMinSeconds * 1000) {
    const started = performance.now();
    fmaPeak(iterations, 0.5, 0.999);
    const ms = performance.now() - started;
    totalMs += ms;
    runs++;
    best = Math.max(best, (iterations * flopsPerIteration) / (ms * 1e6));
  }
  return result(totalMs / 1000, best, `ceiling: 12 independent f32x4.relaxed_madd chains, no memory traffic; best of ${runs} runs of ${kPeakRunMs} ms`);
}

async function run(c: BenchCase): Promise<BenchResult> {
  if (c.kernel === 'fma-peak') return runFmaPeak(c);
  if (c.kernel === 'tfjs-matmul-f32') return runTfjs(c);
  if (c.kernel === 'ts-baseline') {
    const { seconds, total, unit } = typescriptBaseline(c);
    return {
      kernel: `${c.baselineOf}-typescript`,
      backend: 'typescript',
      size: c.size,
      workers: 1,
      seconds,
      rate: total / seconds,
      unit,
      adapter: 'cpu',
      browser: browserName(),
    };
  }
  return runKernel(c);
}

declare global {
  interface Window {
    surgeBench: { run(c: BenchCase): Promise<BenchResult>; hardwareConcurrency: number };
  }
}

window.surgeBench = { run, hardwareConcurrency: navigator.hardwareConcurrency };
