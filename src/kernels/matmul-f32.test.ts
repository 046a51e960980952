import { describe, expect, it } from 'vitest';
import vectors from '../../test/vectors/matmul-f32.json' with { type: 'json' };
import type { MatmulParams } from '../protocol/schemas.ts';
import { assertMatmulFits, decodeMatmulCheckpoint, encodeMatmulCheckpoint, matmulF32, matmulInputA, matmulInputB, matmulReference } from './matmul-f32.ts';

const sum = (values: ArrayLike<number>) => Array.from(values).reduce((total, v) => total + v, 0);

describe('matmul-f32 definition', () => {
  it.each(vectors.cases)('generates the known inputs and reference for "$name"', ({ params, inputChecksum, expected }) => {
    const p = params as MatmulParams;
    const a = matmulInputA(p);
    const b = matmulInputB(p);
    expect(sum(a) + sum(b)).toBe(inputChecksum);
    const c = matmulReference(a, b, p.m, p.n, p.k);
    for (const { row, col, value } of expected) expect(c[row * p.n + col]).toBe(value);
  });

  it('makes every input element recomputable on its own: a block equals the same rows of a larger one', () => {
    const whole: MatmulParams = { seed: '0x0000000000000042', m: 12, n: 10, k: 9, rowOffset: 0, colOffset: 0 };
    const part: MatmulParams = { ...whole, m: 5, n: 3, rowOffset: 4, colOffset: 6 };
    const wholeA = matmulInputA(whole);
    const wholeB = matmulInputB(whole);
    expect(Array.from(matmulInputA(part))).toEqual(Array.from(wholeA.subarray(4 * 9, 9 * 9)));
    const partB = matmulInputB(part);
    for (let p = 0; p < 9; p++) expect(Array.from(partB.subarray(p * 3, p * 3 + 3))).toEqual(Array.from(wholeB.subarray(p * 10 + 6, p * 10 + 9)));
  });

  it('plans two operations per multiply-add', () => {
    expect(matmulF32.plan({ seed: '0x0000000000000000', m: 2, n: 3, k: 4, rowOffset: 0, colOffset: 0 }).operations).toBe(48);
  });

  it('refuses a unit too large to hold, naming the matrix', () => {
    expect(() => assertMatmulFits({ seed: '0x0000000000000000', m: 4096, n: 4, k: 65536, rowOffset: 0, colOffset: 0 })).toThrow(
      /A \(m×k\) has 268435456 elements/,
    );
  });

  it('round-trips a checkpoint and refuses one that does not fit the unit', () => {
    const params: MatmulParams = { seed: '0x0000000000000000', m: 4, n: 3, k: 2, rowOffset: 0, colOffset: 0 };
    const rows = new Float32Array([1, 2, 3, 4, 5, 6]);
    const decoded = decodeMatmulCheckpoint(encodeMatmulCheckpoint(2, rows), params);
    expect(decoded.rowsDone).toBe(2);
    expect(Array.from(decoded.rows)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => decodeMatmulCheckpoint(encodeMatmulCheckpoint(3, rows), params)).toThrow(/claims 3 rows/);
  });
});
