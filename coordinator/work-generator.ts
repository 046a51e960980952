import { randomBytes } from 'node:crypto';
import { formatFixed, type MandelbrotTileRequest, mandelbrotTile, parseFixed } from '../src/kernels/fixed-point.ts';
import { assertMandelbrotFits, mandelbrot } from '../src/kernels/mandelbrot.ts';
import { matmulF32 } from '../src/kernels/matmul-f32.ts';
import { assertPrimesFits, primes } from '../src/kernels/primes.ts';
import type { KernelName, MandelbrotParams, MatmulParams, PrimesParams } from '../src/protocol/schemas.ts';
import type { DemoJobConfig } from './config.ts';
import type { Db } from './db/database.ts';

export interface MatmulJobSpec extends JobOwnership {
  name: string;
  purpose: string;
  seed: string;
  /** C is rows × cols; each unit computes a block of at most block × block with inner dimension k. */
  rows: number;
  cols: number;
  k: number;
  block: number;
}

/** Credit for a unit: a million arithmetic operations earn one unit of credit, at least one. */
export function creditFor(operations: number): number {
  return Math.max(1, Math.round(operations / 1e6));
}

/**
 * The largest output a unit may have: its result travels as base64 in a JSON body, and the
 * coordinator's body limit is 4 MiB.
 */
export const kMaxUnitOutputBytes = 3 * 1024 * 1024;

/** The work generator for a matmul job: one unit per block of C. */
export async function createMatmulJob(db: Db, spec: MatmulJobSpec, now = Date.now()): Promise<number> {
  if (spec.block * spec.block * 4 > kMaxUnitOutputBytes) {
    throw new Error(`a ${spec.block}×${spec.block} block's output is over ${kMaxUnitOutputBytes} bytes; use a smaller block`);
  }
  const units: UnitRow[] = [];
  for (let rowOffset = 0; rowOffset < spec.rows; rowOffset += spec.block) {
    for (let colOffset = 0; colOffset < spec.cols; colOffset += spec.block) {
      const params: MatmulParams = {
        seed: spec.seed,
        m: Math.min(spec.block, spec.rows - rowOffset),
        n: Math.min(spec.block, spec.cols - colOffset),
        k: spec.k,
        rowOffset,
        colOffset,
      };
      units.push({ kernel: 'matmul-f32', version: matmulF32.version, params, operations: matmulF32.plan(params).operations });
    }
  }
  const job = { seed: spec.seed, rows: spec.rows, cols: spec.cols, k: spec.k, block: spec.block };
  return insertJob(db, { ...ownership(spec), name: spec.name, purpose: spec.purpose, kernel: 'matmul-f32', params: job }, units, now);
}

interface UnitRow {
  kernel: KernelName;
  version: number;
  params: unknown;
  operations: number;
}

/** Units inserted per statement. */
const kInsertBatch = 1000;

/** Who asked for a job and how urgent it is; demo jobs have no requester. */
export interface JobOwnership {
  requester?: string;
  /** Higher is leased first; 0 by default. */
  priority?: number;
}

/** Inserts a job and its units in one transaction. */
async function insertJob(
  db: Db,
  job: { name: string; purpose: string; kernel: KernelName; params: unknown } & JobOwnership,
  units: UnitRow[],
  now: number,
): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const inserted = await trx
      .insertInto('jobs')
      .values({
        name: job.name,
        purpose: job.purpose,
        kernel: job.kernel,
        params: JSON.stringify(job.params),
        status: 'active',
        requester: job.requester ?? null,
        priority: job.priority ?? 0,
        units_total: units.length,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const rows = units.map((unit) => ({
      job_id: inserted.id,
      kernel: unit.kernel,
      kernel_version: unit.version,
      params: JSON.stringify(unit.params),
      credit: creditFor(unit.operations),
      state: 'ready' as const,
      lease_deadline: null,
      current_lease: null,
      errors: 0,
      created_at: now,
    }));
    // In batches: SQLite takes at most 32,766 bound values in one statement.
    for (let start = 0; start < rows.length; start += kInsertBatch)
      await trx
        .insertInto('units')
        .values(rows.slice(start, start + kInsertBatch))
        .execute();
    return inserted.id;
  });
}

export interface MandelbrotJobSpec extends MandelbrotTileRequest, JobOwnership {
  name: string;
  purpose: string;
  /** Pixels per side of one unit's tile. */
  tile: number;
}

/** The work generator for a Mandelbrot image: one unit per tile, with exact fixed-point offsets. */
export async function createMandelbrotJob(db: Db, spec: MandelbrotJobSpec, now = Date.now()): Promise<number> {
  const image = mandelbrotTile(spec);
  assertMandelbrotFits(image);
  const step = parseFixed(image.step);
  const units: UnitRow[] = [];
  for (let row = 0; row < spec.height; row += spec.tile) {
    for (let column = 0; column < spec.width; column += spec.tile) {
      const params: MandelbrotParams = {
        x0: formatFixed(parseFixed(image.x0) + BigInt(column) * step, 'x0'),
        y0: formatFixed(parseFixed(image.y0) + BigInt(row) * step, 'y0'),
        step: image.step,
        width: Math.min(spec.tile, spec.width - column),
        height: Math.min(spec.tile, spec.height - row),
        maxIterations: spec.maxIterations,
      };
      if (params.width * params.height * 4 > kMaxUnitOutputBytes)
        throw new Error(`a ${spec.tile}×${spec.tile} tile's output is over ${kMaxUnitOutputBytes} bytes`);
      units.push({ kernel: 'mandelbrot', version: mandelbrot.version, params, operations: mandelbrot.plan(params).operations });
    }
  }
  return insertJob(db, { ...ownership(spec), name: spec.name, purpose: spec.purpose, kernel: 'mandelbrot', params: { ...image, tile: spec.tile } }, units, now);
}

export interface PrimesJobSpec extends JobOwnership {
  name: string;
  purpose: string;
  lo: number;
  hi: number;
  /** Numbers per unit. */
  span: number;
  blockSize: number;
}

/** The work generator for a prime count: one unit per span of [lo, hi), counted per block. */
export async function createPrimesJob(db: Db, spec: PrimesJobSpec, now = Date.now()): Promise<number> {
  // Units must start on block boundaries so their per-block counts line up in the job's output.
  if (spec.span % spec.blockSize !== 0) throw new Error(`span (${spec.span}) must be a multiple of blockSize (${spec.blockSize})`);
  const units: UnitRow[] = [];
  for (let lo = spec.lo; lo < spec.hi; lo += spec.span) {
    const params: PrimesParams = { lo, hi: Math.min(spec.hi, lo + spec.span), blockSize: spec.blockSize };
    assertPrimesFits(params);
    if (primes.outputBytes(params) > kMaxUnitOutputBytes)
      throw new Error(`a unit of ${spec.span} numbers in blocks of ${spec.blockSize} has too large an output`);
    units.push({ kernel: 'primes', version: primes.version, params, operations: primes.plan(params).operations });
  }
  const { lo, hi, span, blockSize } = spec;
  return insertJob(db, { ...ownership(spec), name: spec.name, purpose: spec.purpose, kernel: 'primes', params: { lo, hi, span, blockSize } }, units, now);
}

function ownership(spec: JobOwnership): JobOwnership {
  return { ...(spec.requester ? { requester: spec.requester } : {}), ...(spec.priority ? { priority: spec.priority } : {}) };
}

export function randomSeed(): string {
  return `0x${randomBytes(8).toString('hex')}`;
}

/** Keeps the demo from running dry: when no unit is ready, a new demo job is made. */
export async function ensureDemoWork(db: Db, demo: DemoJobConfig): Promise<void> {
  const waiting = await db.selectFrom('units').select('id').where('state', '=', 'ready').limit(1).executeTakeFirst();
  if (waiting) return;
  const active = await db
    .selectFrom('jobs')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('status', '=', 'active')
    .executeTakeFirstOrThrow();
  await createMatmulJob(db, {
    name: `Demo matrix product #${Number(active.count) + 1}`,
    purpose: `a ${demo.size}×${demo.size} product of random matrices (inner dimension ${demo.k}), the core operation of machine learning, checked with Freivalds' algorithm`,
    seed: randomSeed(),
    rows: demo.size,
    cols: demo.size,
    k: demo.k,
    block: demo.block,
  });
}
