import { describe, expect, it } from 'vitest';
import { matmulInputB, matmulStreams } from '../../src/kernels/matmul.ts';
import { seedToKey } from '../../src/kernels/philox.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { instantiateSurgeWasmInNode } from './surge-wasm-node.ts';

describe('surge.wasm in Node', () => {
  // Offsets and widths that start and end inside a block of four, inside a group of sixteen or
  // thirty-two columns (the SIMD steps), and on their edges.
  const shapes = [
    { colOffset: 0, n: 64 },
    { colOffset: 8, n: 56 },
    { colOffset: 1, n: 1 },
    { colOffset: 3, n: 18 },
    { colOffset: 5, n: 33 },
    { colOffset: 16, n: 15 },
    { colOffset: 4093, n: 70 },
    { colOffset: 2 ** 31 - 7, n: 29 },
    // The last columns before 2³², and columns that wrap past it to 0.
    { colOffset: 2 ** 32 - 16, n: 5 },
    { colOffset: 2 ** 32 - 6, n: 40 },
  ];

  it.for(shapes)('draws the same words and floats as the reference from column $colOffset, $n wide', ({ colOffset, n }) => {
    const wasm = instantiateSurgeWasmInNode();
    const params: MatmulParams = { seed: '0x8badf00d0000cafe', m: 1, n, k: 3, rowOffset: 0, colOffset };
    const [key0, key1] = seedToKey(params.seed);
    const ptr = wasm.alloc(params.k * n * 4);
    wasm.philoxFill(ptr, key0, key1, matmulStreams.b, 0, colOffset, params.k, n, 0);
    expect(Array.from(new Uint32Array(wasm.memory.buffer, ptr, params.k * n))).toEqual(Array.from(matmulInputB(params, 'u32')));
    wasm.philoxFill(ptr, key0, key1, matmulStreams.b, 0, colOffset, params.k, n, 1);
    expect(Array.from(new Float32Array(wasm.memory.buffer, ptr, params.k * n))).toEqual(Array.from(matmulInputB(params, 'f32')));
  });
});
