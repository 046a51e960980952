import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';

/** Generated input blocks kept for reuse, at most this many bytes. */
const kBudgetBytes = 128 * 1024 * 1024;

type Block = Float32Array | Uint32Array;
const blocks = new Map<string, Block>();
let bytes = 0;

function remember(key: string, make: () => Block): Block {
  const hit = blocks.get(key);
  if (hit) {
    // Map order is insertion order: re-insert to mark it recently used.
    blocks.delete(key);
    blocks.set(key, hit);
    return hit;
  }
  const block = make();
  blocks.set(key, block);
  bytes += block.byteLength;
  for (const [oldest, value] of blocks) {
    if (bytes <= kBudgetBytes || oldest === key) break;
    blocks.delete(oldest);
    bytes -= value.byteLength;
  }
  return block;
}

/**
 * A matmul unit's seeded inputs, from a small LRU cache: the units of a job that share a row
 * of blocks share A's block, and those sharing a column share B's, so a job of r × c units
 * generates r + c blocks instead of 2·r·c. Generating inputs is most of a validation's cost.
 */
export function cachedMatmulInputs(p: MatmulParams, element: 'f32'): { a: Float32Array; b: Float32Array };
export function cachedMatmulInputs(p: MatmulParams, element: 'u32'): { a: Uint32Array; b: Uint32Array };
export function cachedMatmulInputs(p: MatmulParams, element: 'f32' | 'u32'): { a: Block; b: Block } {
  const a = remember(`${element}:${p.seed}:A:${p.rowOffset}:${p.m}x${p.k}`, () => (element === 'f32' ? matmulInputA(p, 'f32') : matmulInputA(p, 'u32')));
  const b = remember(`${element}:${p.seed}:B:${p.colOffset}:${p.k}x${p.n}`, () => (element === 'f32' ? matmulInputB(p, 'f32') : matmulInputB(p, 'u32')));
  return { a, b };
}
