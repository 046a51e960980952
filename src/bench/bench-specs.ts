import { mandelbrotTile } from '../kernels/fixed-point.ts';
import { mandelbrotReference } from '../kernels/mandelbrot.ts';
import { primesReference } from '../kernels/primes.ts';
import type { MandelbrotParams, WorkSpec } from '../protocol/schemas.ts';
import type { BenchCase } from './bench-types.ts';

export interface KernelBenchSpec {
  spec: WorkSpec;
  /** A small unit of the same kernel, run first to compile and warm up. */
  warmup: WorkSpec;
  /** The work one output represents, in `unit`s. */
  work(output: Uint8Array): number;
  unit: string;
}

/** Primes are benchmarked where sieving is real work: from 10¹², past the cheap small numbers. */
const kPrimesLo = 1_000_000_000_000;

/**
 * A deep-zoom tile (pixels 2⁻⁸⁰ apart, far past where f64 resolves anything) near the
 * boundary in the "seahorse valley", where most orbits run long.
 */
function benchTile(side: number): MandelbrotParams {
  return mandelbrotTile({
    centerX: '-0.743643887037158704752191506114774',
    centerY: '0.131825904205311970493132056385139',
    pixelSize: 2n ** 12n,
    width: side,
    height: side,
    maxIterations: 5000,
  });
}

/** Iterations a mandelbrot output represents: the sum of its per-pixel counts. */
function iterations(output: Uint8Array): number {
  const counts = new Uint32Array(output.buffer, output.byteOffset, output.byteLength / 4);
  let total = 0;
  for (const count of counts) total += count;
  return total;
}

/** What each kernel's benchmark computes at a given size, and how its rate is counted. */
export function kernelBenchSpec(c: BenchCase): KernelBenchSpec {
  switch (c.kernel) {
    case 'matmul-f32':
    case 'matmul-u32': {
      const params = (n: number) => ({ seed: '0x5eed5eed5eed5eed', m: n, n, k: n, rowOffset: 0, colOffset: 0 });
      return {
        spec: { kernel: c.kernel, params: params(c.size) },
        warmup: { kernel: c.kernel, params: params(c.size) },
        work: () => (2 * c.size ** 3) / 1e9,
        unit: c.kernel === 'matmul-f32' ? 'GFLOP/s' : 'GOP/s',
      };
    }
    case 'mandelbrot':
      return {
        spec: { kernel: 'mandelbrot', params: benchTile(c.size) },
        warmup: { kernel: 'mandelbrot', params: benchTile(8) },
        work: iterations,
        unit: 'iterations/s',
      };
    case 'primes': {
      const params = (span: number) => ({ lo: kPrimesLo, hi: kPrimesLo + span, blockSize: 1 << 20 });
      return {
        spec: { kernel: 'primes', params: params(c.size) },
        warmup: { kernel: 'primes', params: params(1 << 22) },
        work: () => c.size,
        unit: 'numbers/s',
      };
    }
    default:
      throw new Error(`no benchmark for ${c.kernel}`);
  }
}

/** The straightforward TypeScript implementation of a kernel, timed on the page. */
export function typescriptBaseline(c: BenchCase): { seconds: number; total: number; unit: string } {
  switch (c.baselineOf) {
    case 'mandelbrot': {
      const params = benchTile(c.size);
      const started = performance.now();
      const counts = mandelbrotReference(params);
      return { seconds: (performance.now() - started) / 1000, total: iterations(new Uint8Array(counts.buffer)), unit: 'iterations/s' };
    }
    case 'primes': {
      const params = { lo: kPrimesLo, hi: kPrimesLo + c.size, blockSize: 1 << 20 };
      primesReference({ ...params, hi: kPrimesLo + (1 << 20) });
      const started = performance.now();
      primesReference(params);
      return { seconds: (performance.now() - started) / 1000, total: c.size, unit: 'numbers/s' };
    }
    default:
      throw new Error(`no TypeScript baseline for ${c.baselineOf}`);
  }
}
