/**
 * Writes the known answers in test/vectors/matmul-u32.json from the u32 reference:
 * `npx tsx test/vectors/generate-matmul-u32.ts`. The cases reuse matmul-f32's parameters.
 * Run it only when the generator or the kernel changes on purpose; review the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { matmulInputA, matmulInputB } from '../../src/kernels/matmul.ts';
import { matmulU32Reference } from '../../src/kernels/matmul-u32.ts';
import type { MatmulParams } from '../../src/protocol/schemas.ts';
import { fnv1a } from '../helpers/fnv1a.ts';

const f32Cases = JSON.parse(readFileSync(new URL('./matmul-f32.json', import.meta.url), 'utf8')) as { cases: { name: string; params: MatmulParams }[] };

const cases = f32Cases.cases.map(({ name, params }) => {
  const c = matmulU32Reference(matmulInputA(params, 'u32'), matmulInputB(params, 'u32'), params.m, params.n, params.k);
  return { name, params, outputFnv1a: fnv1a(new Uint8Array(c.buffer)), first: c[0], last: c[c.length - 1] };
});

const file = new URL('./matmul-u32.json', import.meta.url);
const description =
  'Known answers for matmul-u32 (wrapping mod 2^32): outputFnv1a is FNV-1a of the little-endian output bytes; every backend must match it exactly.';
writeFileSync(file, `${JSON.stringify({ description, cases }, null, 2)}\n`);
console.log(`wrote ${cases.length} cases to ${file.pathname}`);
