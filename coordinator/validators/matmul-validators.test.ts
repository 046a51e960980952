import { describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import { matmulF32Reference } from '../../src/kernels/matmul-f32.ts';
import { matmulU32Reference } from '../../src/kernels/matmul-u32.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { validateMatmulF32 } from './matmul-f32-validator.ts';
import { validateMatmulU32 } from './matmul-u32-validator.ts';
import { secureUniforms } from './secure-uniforms.ts';

const base64 = (values: Float32Array | Uint32Array) => Buffer.from(values.buffer).toString('base64');
const bytes = (values: Float32Array | Uint32Array) => new Uint8Array(values.buffer);

describe('matmul validators', () => {
  const seeded: MatmulParams = { seed: '0x0000000000c0ffee', m: 19, n: 23, k: 40, rowOffset: 3, colOffset: 5 };

  it('accepts the exact u32 product and rejects one flipped bit, over many draws', async () => {
    const c = matmulU32Reference(matmulInputA(seeded, 'u32'), matmulInputB(seeded, 'u32'), 19, 23, 40);
    expect(await validateMatmulU32(seeded, bytes(c), 24, secureUniforms())).toEqual({ valid: true });
    for (let draw = 0; draw < 20; draw++) {
      const wrong = c.slice();
      wrong[(draw * 31) % wrong.length]! ^= 1 << (draw % 32);
      expect((await validateMatmulU32(seeded, bytes(wrong), 24, secureUniforms())).valid).toBe(false);
    }
  });

  it('validates units whose inputs are data, not a seed', async () => {
    const a = Float32Array.from({ length: 6 * 4 }, (_, i) => (i % 7) - 3);
    const b = Float32Array.from({ length: 4 * 5 }, (_, i) => (i % 5) / 4);
    const params: MatmulParams = {
      seed: '0x0000000000000000',
      m: 6,
      n: 5,
      k: 4,
      rowOffset: 0,
      colOffset: 0,
      inputs: { a: { inline: base64(a) }, b: { inline: base64(b) } },
    };
    const c = Float32Array.from(matmulF32Reference(a, b, 6, 5, 4));
    expect(await validateMatmulF32(params, bytes(c), 3, secureUniforms())).toEqual({ valid: true });
    // The seed's product is not this unit's product.
    const fromSeed = Float32Array.from(matmulF32Reference(matmulInputA(params, 'f32'), matmulInputB(params, 'f32'), 6, 5, 4));
    expect((await validateMatmulF32(params, bytes(fromSeed), 3, secureUniforms())).valid).toBe(false);
  });
});
