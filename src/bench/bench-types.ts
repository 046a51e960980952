import type { Backend, KernelName } from '../protocol/schemas.ts';

/** One measurement the benchmark page is asked for. */
export interface BenchCase {
  kernel: KernelName | 'tfjs-matmul-f32' | 'ts-baseline' | 'fma-peak';
  /** For `ts-baseline`: which kernel's straightforward TypeScript to time; for `fma-peak`, the kernel it is the ceiling of. */
  baselineOf?: 'mandelbrot' | 'primes' | 'matmul-f32';
  backend: Backend | 'typescript';
  /** The problem size (n for matmul; pixels per side for mandelbrot; numbers sieved for primes). */
  size: number;
  workers: number;
}

/** One line of `npm run bench -- --json`. */
export interface BenchResult {
  kernel: string;
  backend: string;
  size: number;
  workers: number;
  seconds: number;
  rate: number;
  unit: string;
  adapter: string;
  browser: string;
  /** Anything else worth knowing about the run (SIMD flavour, threads, fallback adapter). */
  note?: string;
}
