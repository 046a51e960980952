import { encode } from 'fast-png';
import { mandelbrotColour } from '../src/kernels/mandelbrot-palette.ts';
import type { KernelName } from '../src/protocol/schemas.ts';
import type { MandelbrotJobParams, MatmulJobParams, PrimesJobParams } from './assimilator.ts';

/** A job's assembled output as the requester downloads it. */
export interface RenderedOutput {
  contentType: string;
  body: Uint8Array | string;
  headers: Record<string, string>;
}

/** A Mandelbrot image's iteration counts as PNG, in the palette of `mandelbrotColour`. */
export function mandelbrotPng(counts: Uint32Array, { width, height, maxIterations }: MandelbrotJobParams): Uint8Array {
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < counts.length; i++) mandelbrotColour(counts[i]!, maxIterations, rgba, i * 4);
  return encode({ width, height, data: rgba, channels: 4, depth: 8 });
}

/** The product matrix as raw f32, the image as PNG, prime counts as JSON. */
export function renderJobOutput(kernel: KernelName, params: unknown, bytes: Uint8Array): RenderedOutput {
  switch (kernel) {
    case 'matmul-f32':
    case 'matmul-u32': {
      const { rows, cols } = params as MatmulJobParams;
      return {
        contentType: 'application/octet-stream',
        body: bytes,
        headers: { 'x-surge-shape': `${rows}x${cols}`, 'x-surge-element': kernel === 'matmul-f32' ? 'f32le' : 'u32le' },
      };
    }
    case 'mandelbrot': {
      const counts = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      return { contentType: 'image/png', body: mandelbrotPng(counts, params as MandelbrotJobParams), headers: {} };
    }
    case 'primes': {
      const { lo, hi, blockSize } = params as PrimesJobParams;
      const words = new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
      const blocks: [number, number][] = [];
      let primes = 0;
      let twins = 0;
      for (let b = 0; b < words.length; b += 2) {
        blocks.push([words[b]!, words[b + 1]!]);
        primes += words[b]!;
        twins += words[b + 1]!;
      }
      return { contentType: 'application/json', body: JSON.stringify({ lo, hi, blockSize, primes, twins, blocks }), headers: {} };
    }
  }
}
