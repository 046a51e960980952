import { describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { seeded } from '../../test/helpers/seeded.ts';
import { freivaldsCheckF32 } from './freivalds-f32.ts';

/** A product computed the way a browser does: f32 accumulation, in order. */
function honestF32(a: Float32Array, b: Float32Array, m: number, n: number, k: number): Float32Array {
  const c = new Float32Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let sum = 0;
      for (let p = 0; p < k; p++) sum = Math.fround(sum + Math.fround(a[i * k + p]! * b[p * n + j]!));
      c[i * n + j] = sum;
    }
  }
  return c;
}

function unit(m: number, n: number, k: number) {
  const params: MatmulParams = { seed: '0x00000000000000f1', m, n, k, rowOffset: 0, colOffset: 0 };
  const a = matmulInputA(params, 'f32');
  const b = matmulInputB(params, 'f32');
  return { a, b, c: honestF32(a, b, m, n, k), shape: { m, n, k } };
}

describe("Freivalds' check for f32 products", () => {
  it.each([
    [1, 1, 1],
    [7, 5, 3],
    [32, 48, 256],
    [16, 16, 2048],
  ])('accepts an honest f32 product of %i×%i with k = %i', (m, n, k) => {
    const { a, b, c, shape } = unit(m, n, k);
    for (let seed = 1; seed <= 20; seed++) {
      const outcome = freivaldsCheckF32(a, b, c, shape, 3, seeded(seed));
      expect(outcome.valid).toBe(true);
      expect(outcome.worstRatio).toBeLessThan(0.1);
    }
  });

  it('rejects a product with one element changed', () => {
    const { a, b, c, shape } = unit(24, 24, 512);
    let caught = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const tampered = c.slice();
      tampered[(seed * 37) % tampered.length]! += 1;
      if (!freivaldsCheckF32(a, b, tampered, shape, 3, seeded(seed)).valid) caught++;
    }
    expect(caught).toBe(50);
  });

  it('rejects a product of other inputs, an all-zero answer, and NaN', () => {
    const { a, b, c, shape } = unit(16, 16, 64);
    const other = unit(16, 16, 65);
    expect(freivaldsCheckF32(a, b, other.c.subarray(0, 256), shape, 3, seeded(1)).valid).toBe(false);
    expect(freivaldsCheckF32(a, b, new Float32Array(256), shape, 3, seeded(2)).valid).toBe(false);
    const nan = c.slice();
    nan[100] = Number.NaN;
    expect(freivaldsCheckF32(a, b, nan, shape, 3, seeded(3))).toMatchObject({ valid: false, failedRow: 6 });
  });
});
