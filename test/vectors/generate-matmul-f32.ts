/**
 * Writes the known answers in test/vectors/matmul-f32.json from the f64 reference:
 * `npx tsx test/vectors/generate-matmul-f32.ts`. Run it only when the generator or the
 * kernel's definition changes on purpose (and bump the kernel's version); review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import { matmulF32Reference } from '../../src/kernels/matmul-f32.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';

const file = new URL('./matmul-f32.json', import.meta.url);
const vectors = JSON.parse(readFileSync(file, 'utf8')) as { description: string; cases: { name: string; params: MatmulParams }[] };

const sum = (values: ArrayLike<number>) => Array.from(values).reduce((total, v) => total + v, 0);

const cases = vectors.cases.map(({ name, params }) => {
  const a = matmulInputA(params, 'f32');
  const b = matmulInputB(params, 'f32');
  const c = matmulF32Reference(a, b, params.m, params.n, params.k);
  const { m, n } = params;
  const corners = [...new Set([`0,0`, `0,${n - 1}`, `${m - 1},0`, `${m - 1},${n - 1}`, `${m >> 1},${n >> 1}`])].map((key) => key.split(',').map(Number));
  return {
    name,
    params,
    inputChecksum: sum(a) + sum(b),
    expected: corners.map(([row, col]) => ({ row, col, value: c[row! * n + col!] })),
  };
});

writeFileSync(file, `${JSON.stringify({ description: vectors.description, cases }, null, 2)}\n`);
console.log(`wrote ${cases.length} cases to ${file.pathname}`);
