import { KernelError } from '../errors/kernel-error.ts';
import type { MatmulParams } from '../protocol/schemas.ts';
import type { KernelDefinition } from './kernel.ts';
import { philox4x32, seedToKey, u32ToUnitF32 } from './philox.ts';

/**
 * matmul-f32: one block C = A·B of a large product, where A (M×K) and B (K×N) are
 * generated from the job's seed. The unit computes rows [rowOffset, rowOffset + m) and
 * columns [colOffset, colOffset + n) of C, with the full inner dimension k.
 */

/** Philox streams: the third counter word tells A's elements from B's. */
const kStreamA = 0;
const kStreamB = 1;

/** Limits a unit must respect: the largest matrix a browser is asked to hold (64 MiB). */
export const kMaxMatmulElements = 16 * 1024 * 1024;

export const matmulF32: KernelDefinition<MatmulParams> = {
  name: 'matmul-f32',
  version: 1,
  plan({ m, n, k }) {
    return { operations: 2 * m * n * k, bytes: 4 * (m * k + k * n + m * n) };
  },
};

/** Throws a KernelError that names the parameter when a unit is too large to hold. */
export function assertMatmulFits({ m, n, k }: MatmulParams): void {
  for (const [name, elements] of [
    ['A (m×k)', m * k],
    ['B (k×n)', k * n],
    ['C (m×n)', m * n],
  ] as const) {
    if (elements > kMaxMatmulElements) {
      throw new KernelError('SURGE_E_KERNEL_TOO_LARGE', `matmul-f32: ${name} has ${elements} elements, over the limit of ${kMaxMatmulElements}.`);
    }
  }
}

/**
 * Fills `out` with the generator's elements of one matrix, row-major, rows × cols, starting
 * at global (row0, col0). Element (r, c) is word c % 4 of Philox(key, [c >> 2, r, stream, 0]),
 * so any element is recomputable on its own.
 */
function generate(seed: string, stream: number, row0: number, col0: number, rows: number, cols: number, out: Float32Array): Float32Array {
  const [key0, key1] = seedToKey(seed);
  const counter = new Uint32Array(4);
  const block = new Uint32Array(4);
  counter[2] = stream;
  let lastBlock = -1;
  for (let r = 0; r < rows; r++) {
    counter[1] = row0 + r;
    lastBlock = -1;
    for (let c = 0; c < cols; c++) {
      const column = col0 + c;
      const blockIndex = column >>> 2;
      if (blockIndex !== lastBlock) {
        counter[0] = blockIndex;
        philox4x32(key0, key1, counter, block);
        lastBlock = blockIndex;
      }
      out[r * cols + c] = u32ToUnitF32(block[column & 3]!);
    }
  }
  return out;
}

/** The m×k block of A this unit reads. */
export function matmulInputA(p: MatmulParams): Float32Array {
  return generate(p.seed, kStreamA, p.rowOffset, 0, p.m, p.k, new Float32Array(p.m * p.k));
}

/** The k×n block of B this unit reads. */
export function matmulInputB(p: MatmulParams): Float32Array {
  return generate(p.seed, kStreamB, 0, p.colOffset, p.k, p.n, new Float32Array(p.k * p.n));
}

/**
 * The reference product in f64, for tests: plain, obviously right, slow. Returns C as f64
 * so that tests can measure a backend's rounding error against it.
 */
export function matmulReference(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const aip = a[i * k + p]!;
      for (let j = 0; j < n; j++) c[i * n + j]! += aip * b[p * n + j]!;
    }
  }
  return c;
}

/**
 * The worst-case rounding error of an f32 dot product of length k, as a factor of
 * Σ|a||b|: γ_k = k·u / (1 − k·u) with u = 2⁻²⁴ (Higham, "Accuracy and Stability of
 * Numerical Algorithms", §3.1). It holds for any summation order and with or without fused
 * multiply-add, so it is the bound every backend must meet. Doubled for margin.
 */
export function f32DotErrorFactor(k: number): number {
  const ku = k * 2 ** -24;
  return (2 * ku) / (1 - ku);
}

/**
 * A matmul checkpoint: the number of finished rows (u32, little-endian) followed by those
 * rows of C. Every backend writes and reads the same format, so a unit started on the GPU
 * can resume on WASM after the device is lost.
 */
export function encodeMatmulCheckpoint(rowsDone: number, finishedRows: Float32Array): Uint8Array {
  const bytes = new Uint8Array(4 + finishedRows.byteLength);
  new DataView(bytes.buffer).setUint32(0, rowsDone, true);
  bytes.set(new Uint8Array(finishedRows.buffer, finishedRows.byteOffset, finishedRows.byteLength), 4);
  return bytes;
}

export function decodeMatmulCheckpoint(bytes: Uint8Array, { m, n }: MatmulParams): { rowsDone: number; rows: Float32Array } {
  if (bytes.byteLength < 4) throw new KernelError('SURGE_E_KERNEL_CHECKPOINT', 'matmul-f32: the checkpoint is shorter than its header.');
  const rowsDone = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (rowsDone > m || bytes.byteLength !== 4 + rowsDone * n * 4) {
    throw new KernelError(
      'SURGE_E_KERNEL_CHECKPOINT',
      `matmul-f32: the checkpoint claims ${rowsDone} rows but holds ${bytes.byteLength - 4} bytes for a unit of ${m}×${n}.`,
    );
  }
  return { rowsDone, rows: new Float32Array(bytes.slice(4).buffer) };
}
