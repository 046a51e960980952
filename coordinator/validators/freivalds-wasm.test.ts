import { describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import { matmulF32Reference } from '../../src/kernels/matmul-f32.ts';
import { computeSeededMatmulF32 } from '../../test/helpers/wasm-matmul-unit.ts';
import { type SeededBlock, WasmFreivaldsF32 } from './freivalds-wasm.ts';
import { secureUniforms } from './secure-uniforms.ts';
import { instantiateSurgeWasmInNode } from './surge-wasm-node.ts';

/** The block as a contributor's browser computes it: surge.wasm's SIMD kernel, from the seed. */
const contributorProduct = (block: SeededBlock) => computeSeededMatmulF32(instantiateSurgeWasmInNode(), block);

const bytes = (c: Float32Array) => new Uint8Array(c.buffer, c.byteOffset, c.byteLength);

// Shapes whose widths and depths end inside a SIMD step and a block of four, at offsets far from 0.
const blocks: SeededBlock[] = [
  { seed: '0x00000000c0ffee01', m: 33, n: 47, k: 2049, rowOffset: 66, colOffset: 94 },
  { seed: '0x1234567890abcdef', m: 64, n: 64, k: 4096, rowOffset: 0, colOffset: 4096 },
  { seed: '0x0000000000000007', m: 17, n: 130, k: 1023, rowOffset: 2 ** 20, colOffset: 3 },
];

describe('Freivalds on surge.wasm', () => {
  it.for(blocks)('accepts the product a contributor computes, draw after draw ($m×$n, k = $k)', (block) => {
    const check = new WasmFreivaldsF32();
    const c = contributorProduct(block);
    // Over a column's whole life of draws and into the next.
    for (let draw = 0; draw < 70; draw++) expect(check.check(block, bytes(c), secureUniforms()).valid).toBe(true);
    // The f64 reference, rounded once to f32, passes too.
    const reference = Float32Array.from(matmulF32Reference(matmulInputA(block, 'f32'), matmulInputB(block, 'f32'), block.m, block.n, block.k));
    expect(check.check(block, bytes(reference), secureUniforms()).valid).toBe(true);
  });

  it.for(blocks)('catches one element off by 8 (under half a typical element), wherever it is ($m×$n, k = $k)', (block) => {
    const check = new WasmFreivaldsF32();
    const c = contributorProduct(block);
    for (const index of [0, 1, Math.floor(c.length / 2), c.length - 1]) {
      const wrong = c.slice();
      wrong[index]! += 8;
      const outcome = check.check(block, bytes(wrong), secureUniforms());
      // Every trial vector's elements are at least 1/2 in size: the row's residual moves by at least 4.
      expect(outcome).toMatchObject({ valid: false, failedRow: Math.floor(index / block.n) });
    }
  });

  it('refuses garbage, NaN, infinity and another unit’s product', () => {
    const block = blocks[0]!;
    const check = new WasmFreivaldsF32();
    const c = contributorProduct(block);
    const garbage = Float32Array.from(c, (_, i) => Math.sin(i) * 10);
    const nan = c.slice();
    nan[5] = Number.NaN;
    const infinite = c.slice();
    infinite[c.length - 3] = Number.POSITIVE_INFINITY;
    const neighbour = contributorProduct({ ...block, colOffset: block.colOffset + block.n });
    for (const wrong of [garbage, nan, infinite, neighbour, new Float32Array(c.length)]) {
      expect(check.check(block, bytes(wrong), secureUniforms()).valid).toBe(false);
    }
  });

  it('regenerates blocks of A it dropped to stay within its budget, and still judges right', () => {
    const check = new WasmFreivaldsF32({ blockBudgetBytes: 64 * 1024 });
    const units = [0, 1, 2, 0, 2, 1].map((row) => ({ seed: '0x00000000000000aa', m: 32, n: 24, k: 1024, rowOffset: row * 32, colOffset: 24 }));
    for (const unit of units) {
      const c = contributorProduct(unit);
      expect(check.check(unit, bytes(c), secureUniforms()).valid).toBe(true);
      c[7]! -= 2;
      expect(check.check(unit, bytes(c), secureUniforms()).valid).toBe(false);
    }
  });
});
