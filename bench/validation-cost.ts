/**
 * `npm run bench:validation [-- --json] [-- --size S --block B --k K]`: what validating a
 * matmul-f32 job costs the coordinator against what computing it costs its contributors, on
 * this machine. It computes every unit of a seeded S × S product (inner dimension K, units of
 * B × B; default the demo job of `npm start`) with the contributors' WebAssembly kernel (relaxed
 * SIMD where Node has it), validates each result as a validation thread does, and prints
 * {"kernel","size","block","k","units","wasm","computeMs","validateMs","validationShare","machine"}:
 * `validationShare` is validateMs / computeMs, which issue #4 wants at 2% or less.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { kDemoJob } from '../coordinator/config.ts';
import { validateOutput } from '../coordinator/validators/validate-output.ts';
import type { MatmulParams } from '../src/protocol/schemas.ts';
import type { SurgeWasmExports } from '../src/worker/surge-wasm.ts';
import { computeSeededMatmulF32 } from '../test/helpers/wasm-matmul-unit.ts';
import { machineName } from './machine-name.ts';

const { values } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    size: { type: 'string', default: String(kDemoJob.size) },
    block: { type: 'string', default: String(kDemoJob.block) },
    k: { type: 'string', default: String(kDemoJob.k) },
  },
});
const [size, block, k] = (['size', 'block', 'k'] as const).map((name) => {
  const value = Number(values[name]);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`--${name} must be a positive integer, not ${values[name]}`);
  return value;
}) as [number, number, number];
if (size % block !== 0) throw new Error(`--size (${size}) must be a multiple of --block (${block})`);

/** The contributors' fastest kernel this Node runs: relaxed SIMD (fused multiply-adds) where it validates. */
const relaxedBytes = readFileSync(new URL('../wasm/build/surge-relaxed.wasm', import.meta.url));
const relaxed = WebAssembly.validate(relaxedBytes);
const module = new WebAssembly.Module(relaxed ? relaxedBytes : readFileSync(new URL('../wasm/build/surge.wasm', import.meta.url)));
const seed = `0x${Array.from(crypto.getRandomValues(new Uint32Array(2)), (word) => word.toString(16).padStart(8, '0')).join('')}`;

/** One unit as a contributor computes it, timed, in a fresh instance as a worker's run would have. */
function compute(params: MatmulParams): { output: Uint8Array; ms: number } {
  const wasm = new WebAssembly.Instance(module, { env: { abort: () => {} } }).exports as unknown as SurgeWasmExports;
  const started = performance.now();
  const c = computeSeededMatmulF32(wasm, params);
  return { output: new Uint8Array(c.buffer), ms: performance.now() - started };
}

let computeMs = 0;
let validateMs = 0;
let units = 0;
for (let row = 0; row < size; row += block) {
  for (let column = 0; column < size; column += block) {
    const params: MatmulParams = { seed, m: block, n: block, k, rowOffset: row, colOffset: column };
    const { output, ms } = compute(params);
    computeMs += ms;
    const started = performance.now();
    const verdict = await validateOutput({ kernel: 'matmul-f32', params }, output);
    validateMs += performance.now() - started;
    if (!verdict.valid) throw new Error(`unit (${row}, ${column}) was judged invalid: ${verdict.reason}`);
    units++;
  }
}

const line = {
  kernel: 'matmul-f32',
  size,
  block,
  k,
  units,
  wasm: relaxed ? 'relaxed SIMD' : 'SIMD',
  computeMs: Math.round(computeMs),
  validateMs: Math.round(validateMs),
  validationShare: Number((validateMs / computeMs).toFixed(4)),
  machine: machineName(),
};
console.log(
  values.json
    ? JSON.stringify(line)
    : `${units} units of ${block}×${block}×${k}: computed in ${line.computeMs} ms (${line.wasm}), validated in ${line.validateMs} ms, ${(line.validationShare * 100).toFixed(2)}% (${line.machine})`,
);
