import { KernelError } from '../errors/kernel-error.ts';
import type { MatmulParams } from '../protocol/schemas.ts';
import { resolveInput } from './input-ref.ts';
import { philox4x32, seedToKey, u32ToUnitF32 } from './philox.ts';

/**
 * What matmul-f32 and matmul-u32 share: a unit is one block C = A·B of a large product,
 * where A (M×K) and B (K×N) are generated from the job's seed. The unit computes rows
 * [rowOffset, rowOffset + m) and columns [colOffset, colOffset + n) of C, with the full
 * inner dimension k.
 */
export type MatmulElement = 'f32' | 'u32';

/** Philox streams: the third counter word tells A's elements from B's. */
export const matmulStreams = { a: 0, b: 1 } as const;

/** The largest matrix a browser is asked to hold (64 MiB). */
export const kMaxMatmulElements = 16 * 1024 * 1024;

/** Throws a KernelError that names the matrix when a unit is too large to hold. */
export function assertMatmulFits({ m, n, k }: MatmulParams): void {
  for (const [name, elements] of [
    ['A (m×k)', m * k],
    ['B (k×n)', k * n],
    ['C (m×n)', m * n],
  ] as const) {
    if (elements > kMaxMatmulElements) {
      throw new KernelError('SURGE_E_KERNEL_TOO_LARGE', `matmul: ${name} has ${elements} elements, over the limit of ${kMaxMatmulElements}.`);
    }
  }
}

export function matmulPlan({ m, n, k }: MatmulParams) {
  return { operations: 2 * m * n * k, bytes: 4 * (m * k + k * n + m * n) };
}

/**
 * Fills `out` with generator words of one matrix, row-major, rows × cols, starting at global
 * (row0, col0). Element (r, c) is word c % 4 of Philox(key, [c >> 2, r, stream, 0]), so any
 * element is recomputable on its own. The same mapping is in wasm/philox.ts and
 * shaders/philox-fill.wgsl.
 */
function generate<T extends Float32Array | Uint32Array>(seed: string, stream: number, row0: number, col0: number, rows: number, cols: number, out: T): T {
  const [key0, key1] = seedToKey(seed);
  const counter = new Uint32Array(4);
  const block = new Uint32Array(4);
  const asFloat = out instanceof Float32Array;
  counter[2] = stream;
  for (let r = 0; r < rows; r++) {
    counter[1] = row0 + r;
    let lastBlock = -1;
    for (let c = 0; c < cols; c++) {
      const column = col0 + c;
      const blockIndex = column >>> 2;
      if (blockIndex !== lastBlock) {
        counter[0] = blockIndex;
        philox4x32(key0, key1, counter, block);
        lastBlock = blockIndex;
      }
      const word = block[column & 3]!;
      out[r * cols + c] = asFloat ? u32ToUnitF32(word) : word;
    }
  }
  return out;
}

/** The m×k block of A a unit reads: f32 in [-1, 1), or raw u32 words. */
export function matmulInputA(p: MatmulParams, element: 'f32'): Float32Array;
export function matmulInputA(p: MatmulParams, element: 'u32'): Uint32Array;
export function matmulInputA(p: MatmulParams, element: MatmulElement): Float32Array | Uint32Array {
  const out = element === 'f32' ? new Float32Array(p.m * p.k) : new Uint32Array(p.m * p.k);
  return generate(p.seed, matmulStreams.a, p.rowOffset, 0, p.m, p.k, out);
}

/** The k×n block of B a unit reads. */
export function matmulInputB(p: MatmulParams, element: 'f32'): Float32Array;
export function matmulInputB(p: MatmulParams, element: 'u32'): Uint32Array;
export function matmulInputB(p: MatmulParams, element: MatmulElement): Float32Array | Uint32Array {
  const out = element === 'f32' ? new Float32Array(p.k * p.n) : new Uint32Array(p.k * p.n);
  return generate(p.seed, matmulStreams.b, 0, p.colOffset, p.k, p.n, out);
}

/**
 * A unit's A and B as bytes when it carries them as data (`params.inputs`), fetched and
 * checked; undefined when they come from the seed.
 */
export async function matmulDataInputs(p: MatmulParams): Promise<{ a: Uint8Array; b: Uint8Array } | undefined> {
  if (!p.inputs) return undefined;
  const [a, b] = await Promise.all([resolveInput(p.inputs.a, p.m * p.k * 4, 'matmul input A'), resolveInput(p.inputs.b, p.k * p.n * 4, 'matmul input B')]);
  return { a, b };
}

/** A unit's A and B, from its data inputs or its seed, as typed arrays of the element type. */
export async function matmulInputs(p: MatmulParams, element: 'f32'): Promise<{ a: Float32Array; b: Float32Array }>;
export async function matmulInputs(p: MatmulParams, element: 'u32'): Promise<{ a: Uint32Array; b: Uint32Array }>;
export async function matmulInputs(p: MatmulParams, element: MatmulElement): Promise<{ a: Float32Array | Uint32Array; b: Float32Array | Uint32Array }> {
  const data = await matmulDataInputs(p);
  const view = (bytes: Uint8Array) => (element === 'f32' ? new Float32Array(bytes.slice().buffer) : new Uint32Array(bytes.slice().buffer));
  if (data) return { a: view(data.a), b: view(data.b) };
  return element === 'f32' ? { a: matmulInputA(p, 'f32'), b: matmulInputB(p, 'f32') } : { a: matmulInputA(p, 'u32'), b: matmulInputB(p, 'u32') };
}

/**
 * A matmul checkpoint: the number of finished rows (u32, little-endian) followed by those
 * rows of C. Every backend writes and reads the same format, so a unit started on the GPU
 * can resume on WASM after the device is lost.
 */
export function encodeMatmulCheckpoint(rowsDone: number, finishedRows: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(4 + finishedRows.byteLength);
  new DataView(bytes.buffer).setUint32(0, rowsDone, true);
  bytes.set(finishedRows, 4);
  return bytes;
}

export function decodeMatmulCheckpoint(bytes: Uint8Array, { m, n }: MatmulParams): { rowsDone: number; rows: Uint8Array } {
  if (bytes.byteLength < 4) throw new KernelError('SURGE_E_KERNEL_CHECKPOINT', 'matmul: the checkpoint is shorter than its header.');
  const rowsDone = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true);
  if (rowsDone > m || bytes.byteLength !== 4 + rowsDone * n * 4) {
    throw new KernelError(
      'SURGE_E_KERNEL_CHECKPOINT',
      `matmul: the checkpoint claims ${rowsDone} rows but holds ${bytes.byteLength - 4} bytes for a unit of ${m}×${n}.`,
    );
  }
  return { rowsDone, rows: bytes.subarray(4) };
}
