import { describe, expect, it } from 'vitest';
import { decimalToFixed, formatFixed, mandelbrotTile } from '../../src/kernels/fixed-point.ts';
import type { MandelbrotParams } from '../../src/protocol/schemas.ts';
import { seeded } from '../../test/helpers/seeded.ts';
import vectors from '../../test/vectors/mandelbrot.json' with { type: 'json' };
import { kMinSamplePixels, kSampleShare, validateMandelbrot } from './mandelbrot-validator.ts';

const cases = vectors.cases as { name: string; params: MandelbrotParams; rows: string[] }[];

const outputOf = (rows: string[]) => new Uint8Array(new Uint32Array(rows.flatMap((row) => row.split(' ').map(Number))).buffer);

/** Counts the draws: one per recomputed pixel. */
function counted(random: () => number) {
  const counter = {
    draws: 0,
    random: () => {
      counter.draws++;
      return random();
    },
  };
  return counter;
}

/** A tile wholly inside the main cardioid: every honest count is maxIterations. */
const interior = (width: number, height: number, maxIterations: number): MandelbrotParams =>
  mandelbrotTile({ centerX: '-0.2', centerY: '0', pixelSize: '0.0001', width, height, maxIterations });
const filled = (pixels: number, count: number) => new Uint8Array(new Uint32Array(pixels).fill(count).buffer);

describe('the mandelbrot validator', () => {
  it.each(cases)('accepts the reference output of "$name"', ({ params, rows }) => {
    expect(validateMandelbrot(params, outputOf(rows), seeded(1))).toEqual({ valid: true });
  });

  it('refuses an output of the wrong length, naming both sizes', () => {
    const { params, rows } = cases.find((c) => c.name.startsWith('7×3'))!;
    const output = outputOf(rows);
    for (const wrong of [output.subarray(0, 80), new Uint8Array(88), new Uint8Array(0)]) {
      const verdict = validateMandelbrot(params, wrong, seeded(1));
      expect(verdict).toEqual({ valid: false, reason: `the output has ${wrong.byteLength} bytes; a 7×3 tile has 84` });
    }
  });

  it.each([0, 65])('refuses a count of %i, outside [1, maxIterations], naming the pixel', (count) => {
    const { params, rows } = cases.find((c) => c.name.startsWith('7×3'))!;
    const output = outputOf(rows);
    new DataView(output.buffer).setUint32((7 + 2) * 4, count, true);
    expect(validateMandelbrot(params, output, seeded(1))).toEqual({ valid: false, reason: `pixel (2, 1) has count ${count}, outside [1, 64]` });
  });

  it('catches one changed pixel of a unit it checks in full, whatever the seed', () => {
    const { params, rows } = cases.find((c) => c.name.startsWith('64×64'))!;
    for (let seed = 0; seed < 20; seed++) {
      const random = seeded(seed);
      const output = outputOf(rows);
      const view = new DataView(output.buffer);
      const p = Math.floor(random() * 4096);
      const honest = view.getUint32(p * 4, true);
      view.setUint32(p * 4, honest === 64 ? 63 : honest + 1, true);
      const verdict = validateMandelbrot(params, output, random);
      expect(verdict.valid).toBe(false);
      if (!verdict.valid) expect(verdict.reason).toMatch(new RegExp(`^pixel \\(${p % 64}, ${Math.floor(p / 64)}\\) has count`));
    }
  });

  it('says what the reference found: more, or fewer', () => {
    const params = interior(2, 2, 1000);
    const output = filled(4, 1000);
    new DataView(output.buffer).setUint32(0, 10, true);
    expect(validateMandelbrot(params, output, seeded(3))).toEqual({ valid: false, reason: 'pixel (0, 0) has count 10; the reference gives at least 11' });
    const outside: MandelbrotParams = { x0: formatFixed(decimalToFixed('3')), y0: '0x0', step: '0x1', width: 1, height: 1, maxIterations: 50 };
    expect(validateMandelbrot(outside, filled(1, 5), seeded(3))).toEqual({ valid: false, reason: 'pixel (0, 0) has count 5; the reference gives 1' });
  });

  it('catches made-up output in a large unit, whatever the seed', () => {
    // Claimed work 64·64·20 000: a sample of 2% of it recomputes about 82 pixels.
    const params = interior(64, 64, 20_000);
    for (let seed = 0; seed < 5; seed++) {
      const output = filled(4096, 20_000);
      const view = new DataView(output.buffer);
      const random = seeded(100 + seed);
      for (let p = 0; p < 4096; p++) if (random() < 0.1) view.setUint32(p * 4, 1 + Math.floor(random() * 19_999), true);
      expect(validateMandelbrot(params, output, seeded(seed)).valid).toBe(false);
    }
  });

  it('spends about 2% of a large unit’s work, and no less than 8 pixels on a small one', () => {
    const large = counted(seeded(7));
    expect(validateMandelbrot(interior(64, 64, 20_000), filled(4096, 20_000), large.random)).toEqual({ valid: true });
    expect(large.draws).toBe(Math.ceil(kSampleShare * 4096));
    const small = counted(seeded(7));
    expect(validateMandelbrot(interior(4, 4, 50_000), filled(16, 50_000), small.random)).toEqual({ valid: true });
    expect(small.draws).toBe(kMinSamplePixels);
  });
});
