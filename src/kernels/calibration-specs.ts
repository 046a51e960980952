import type { KernelName, WorkSpec } from '../protocol/schemas.ts';
import { mandelbrotTile } from './fixed-point.ts';

/**
 * A small unit of each kernel that calibration times on each backend: big enough that one
 * step is real work, small enough that a slow backend (a software GPU) finishes a step in
 * well under a second.
 */
export const calibrationSpecs: { [K in KernelName]?: WorkSpec } = {
  'matmul-f32': { kernel: 'matmul-f32', params: { seed: '0x00000000ca11b8a7', m: 384, n: 384, k: 384, rowOffset: 0, colOffset: 0 } },
  'matmul-u32': { kernel: 'matmul-u32', params: { seed: '0x00000000ca11b8a7', m: 384, n: 384, k: 384, rowOffset: 0, colOffset: 0 } },
  mandelbrot: {
    kernel: 'mandelbrot',
    params: mandelbrotTile({ centerX: '-0.7436438870371587', centerY: '0.1318259042053119', pixelSize: 2n ** 40n, width: 64, height: 64, maxIterations: 2000 }),
  },
  primes: { kernel: 'primes', params: { lo: 1_000_000_000_000, hi: 1_000_000_000_000 + (1 << 22), blockSize: 1 << 16 } },
};
