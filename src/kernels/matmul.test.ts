import { describe, expect, it } from 'vitest';
import { fnv1a } from '../../test/helpers/fnv1a.ts';
import f32Vectors from '../../test/vectors/matmul-f32.json' with { type: 'json' };
import u32Vectors from '../../test/vectors/matmul-u32.json' with { type: 'json' };
import type { MatmulParams } from '../protocol/schemas.ts';
import { assertMatmulFits, decodeMatmulCheckpoint, encodeMatmulCheckpoint, matmulInputA, matmulInputB } from './matmul.ts';
import { matmulF32, matmulF32Reference } from './matmul-f32.ts';
import { matmulU32Reference } from './matmul-u32.ts';

const sum = (values: ArrayLike<number>) => Array.from(values).reduce((total, v) => total + v, 0);

describe('matmul-f32 definition', () => {
  it.each(f32Vectors.cases)('generates the known inputs and reference for "$name"', ({ params, inputChecksum, expected }) => {
    const p = params as MatmulParams;
    const a = matmulInputA(p, 'f32');
    const b = matmulInputB(p, 'f32');
    expect(sum(a) + sum(b)).toBe(inputChecksum);
    const c = matmulF32Reference(a, b, p.m, p.n, p.k);
    for (const { row, col, value } of expected) expect(c[row * p.n + col]).toBe(value);
  });

  it('makes every input element recomputable on its own: a block equals the same rows of a larger one', () => {
    const whole: MatmulParams = { seed: '0x0000000000000042', m: 12, n: 10, k: 9, rowOffset: 0, colOffset: 0 };
    const part: MatmulParams = { ...whole, m: 5, n: 3, rowOffset: 4, colOffset: 6 };
    const wholeA = matmulInputA(whole, 'f32');
    const wholeB = matmulInputB(whole, 'f32');
    expect(Array.from(matmulInputA(part, 'f32'))).toEqual(Array.from(wholeA.subarray(4 * 9, 9 * 9)));
    const partB = matmulInputB(part, 'f32');
    for (let p = 0; p < 9; p++) expect(Array.from(partB.subarray(p * 3, p * 3 + 3))).toEqual(Array.from(wholeB.subarray(p * 10 + 6, p * 10 + 9)));
  });

  it('plans two operations per multiply-add and knows its output size', () => {
    const params = { seed: '0x0000000000000000', m: 2, n: 3, k: 4, rowOffset: 0, colOffset: 0 };
    expect(matmulF32.plan(params).operations).toBe(48);
    expect(matmulF32.outputBytes(params)).toBe(24);
  });

  it('refuses a unit too large to hold, naming the matrix', () => {
    expect(() => assertMatmulFits({ seed: '0x0000000000000000', m: 4096, n: 4, k: 65535, rowOffset: 0, colOffset: 0 })).toThrow(
      /A \(m×k\) has 268431360 elements/,
    );
  });

  it('round-trips a checkpoint and refuses one that does not fit the unit', () => {
    const params: MatmulParams = { seed: '0x0000000000000000', m: 4, n: 3, k: 2, rowOffset: 0, colOffset: 0 };
    const rows = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
    const decoded = decodeMatmulCheckpoint(encodeMatmulCheckpoint(2, rows), params);
    expect(decoded.rowsDone).toBe(2);
    expect(Array.from(new Float32Array(decoded.rows.slice().buffer))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => decodeMatmulCheckpoint(encodeMatmulCheckpoint(3, rows), params)).toThrow(/claims 3 rows/);
  });
});

describe('matmul-u32 definition', () => {
  it.each(u32Vectors.cases)('gives the known bytes for "$name"', ({ params, outputFnv1a }) => {
    const p = params as MatmulParams;
    const c = matmulU32Reference(matmulInputA(p, 'u32'), matmulInputB(p, 'u32'), p.m, p.n, p.k);
    expect(fnv1a(new Uint8Array(c.buffer))).toBe(outputFnv1a);
  });

  it('wraps mod 2³² like the hardware does', () => {
    const a = new Uint32Array([0xffffffff, 2]);
    const b = new Uint32Array([0xffffffff, 0x80000000]);
    // (2³²−1)² + 2·2³¹ ≡ 1 + 0 (mod 2³²)
    expect(Array.from(matmulU32Reference(a, b, 1, 1, 2))).toEqual([1]);
  });
});
