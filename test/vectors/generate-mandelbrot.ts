/**
 * Writes the known answers in test/vectors/mandelbrot.json from the BigInt reference:
 * `npx tsx test/vectors/generate-mandelbrot.ts && npx biome format --write test/vectors/mandelbrot.json`.
 * Run it only when the kernel's definition changes on purpose (and bump the kernel's
 * version); review the diff.
 */
import { writeFileSync } from 'node:fs';
import { decimalToFixed, formatFixed, kOne, mandelbrotTile } from '../../src/kernels/fixed-point.ts';
import { mandelbrotReference } from '../../src/kernels/mandelbrot.ts';
import type { MandelbrotParams } from '../../src/protocol/schemas.ts';

const file = new URL('./mandelbrot.json', import.meta.url);

/** A point in the Seahorse valley that deep-zoom renderers use as a benchmark. */
const seahorse = { centerX: '-0.743643887037158704752191506114774', centerY: '0.131825904205311970493132056385139' };

const cases: { name: string; params: MandelbrotParams }[] = [
  { name: '1×1 at the origin', params: mandelbrotTile({ centerX: '0', centerY: '0', pixelSize: '1', width: 1, height: 1, maxIterations: 100 }) },
  { name: '7×3 across the main cardioid', params: mandelbrotTile({ centerX: '-0.5', centerY: '0', pixelSize: '0.5', width: 7, height: 3, maxIterations: 64 }) },
  {
    name: 'the corners of the domain, [−4, 4]²',
    params: { x0: formatFixed(-4n * kOne), y0: formatFixed(-4n * kOne), step: formatFixed(2n * kOne), width: 5, height: 5, maxIterations: 10 },
  },
  {
    name: '64×64, the whole set',
    params: mandelbrotTile({ centerX: '-0.75', centerY: '0', pixelSize: '0.0390625', width: 64, height: 64, maxIterations: 64 }),
  },
  {
    name: '65×33, off the multiples of the workgroup',
    params: mandelbrotTile({ centerX: '-0.1', centerY: '0.9', pixelSize: '0.01', width: 65, height: 33, maxIterations: 200 }),
  },
  {
    name: 'a deep zoom, pixels 2⁻⁷⁵ apart',
    params: mandelbrotTile({ ...seahorse, pixelSize: 2n ** 17n, width: 8, height: 8, maxIterations: 20_000 }),
  },
  {
    // On the real axis just right of the cusp at 1/4, c = 1/4 + ε escapes after about π/√ε
    // iterations; the row above lies inside the cardioid and never escapes.
    name: 'long orbits at the cusp',
    params: { x0: formatFixed(kOne / 4n), y0: '0x0', step: formatFixed(decimalToFixed('1e-8')), width: 3, height: 2, maxIterations: 50_000 },
  },
];

const rows = (params: MandelbrotParams, counts: Uint32Array) =>
  Array.from({ length: params.height }, (_, j) => Array.from(counts.subarray(j * params.width, (j + 1) * params.width)).join(' '));

const out = cases.map(({ name, params }) => ({ name, params, rows: rows(params, mandelbrotReference(params)) }));
const description =
  'Known answers for mandelbrot: each row of counts is a string of space-separated u32, from the BigInt reference. Sizes sit on both sides of the WGSL workgroup (64); the deep zoom has pixels closer than f64 can tell apart; the long orbits need many GPU dispatches.';
writeFileSync(file, `${JSON.stringify({ description, cases: out }, null, 2)}\n`);
console.log(`wrote ${out.length} cases to ${file.pathname}`);
