import { randomBytes } from 'node:crypto';
import type { Insertable } from 'kysely';
import { formatFixed, type MandelbrotTileRequest, mandelbrotTile, parseFixed } from '../src/kernels/fixed-point.ts';
import { assertMandelbrotFits, mandelbrot } from '../src/kernels/mandelbrot.ts';
import { matmulF32 } from '../src/kernels/matmul-f32.ts';
import { assertPrimesFits, primes } from '../src/kernels/primes.ts';
import type { KernelName, MandelbrotParams, MatmulParams, PrimesParams } from '../src/protocol/schemas.ts';
import type { DemoJobConfig } from './config.ts';
import { type Db, dialectOf } from './db/database.ts';
import { writeTransaction } from './db/group-commit.ts';
import type { UnitsTable } from './db/schema.ts';

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
  const count = Math.ceil(spec.rows / spec.block) * Math.ceil(spec.cols / spec.block);
  function* units(): Generator<UnitRow> {
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
        yield { kernel: 'matmul-f32', version: matmulF32.version, params, operations: matmulF32.plan(params).operations };
      }
    }
  }
  const job = { seed: spec.seed, rows: spec.rows, cols: spec.cols, k: spec.k, block: spec.block };
  return insertJob(db, { ...ownership(spec), name: spec.name, purpose: spec.purpose, kernel: 'matmul-f32', params: job }, count, units(), now);
}

interface UnitRow {
  kernel: KernelName;
  version: number;
  params: unknown;
  operations: number;
}

/** Units made and inserted per transaction: a few milliseconds, so leases and results go on between them. */
const kInsertBatch = 500;

/** How long a job may stay preparing before it is deemed abandoned by its maker. */
const kPreparingTimeoutMs = 10 * 60 * 1000;

/** The most units one job may have: a job of more would take the coordinator minutes to make. */
export const kMaxJobUnits = 1_000_000;

/** Who asked for a job and how urgent it is; demo jobs have no requester. */
export interface JobOwnership {
  requester?: string;
  /** Higher is leased first; 0 by default. */
  priority?: number;
}

/**
 * Inserts a job and its `count` units. A large job takes seconds to make (600,000 units took
 * 1.8 s in one transaction, with no lease answered meanwhile), so its units are made and
 * inserted kInsertBatch at a time, each batch a write of its own. Meanwhile the job is
 * `preparing`: the feeder leases units of active jobs only. It turns active once every unit
 * is in. If making a unit fails, the job and the units made so far are deleted, and the error
 * is thrown. A coordinator that stops half way leaves a preparing job that
 * abandonPreparingJobs fails.
 */
async function insertJob(
  db: Db,
  job: { name: string; purpose: string; kernel: KernelName; params: unknown } & JobOwnership,
  count: number,
  units: Iterable<UnitRow>,
  now: number,
): Promise<number> {
  if (count > kMaxJobUnits) throw new Error(`the job would have ${count} units, over the limit of ${kMaxJobUnits}; make each unit larger`);
  const jobId = await writeTransaction(db, async (trx) => {
    const inserted = await trx
      .insertInto('jobs')
      .values({
        name: job.name,
        purpose: job.purpose,
        kernel: job.kernel,
        params: JSON.stringify(job.params),
        status: 'preparing',
        requester: job.requester ?? null,
        priority: job.priority ?? 0,
        units_total: count,
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return inserted.id;
  });
  try {
    let made = 0;
    let rows: Insertable<UnitsTable>[] = [];
    const flush = async () => {
      const batch = rows;
      rows = [];
      made += batch.length;
      await writeTransaction(db, (trx) => trx.insertInto('units').values(batch).execute());
    };
    for (const unit of units) {
      rows.push({
        job_id: jobId,
        kernel: unit.kernel,
        kernel_version: unit.version,
        params: JSON.stringify(unit.params),
        credit: creditFor(unit.operations),
        state: 'ready',
        lease_deadline: null,
        current_lease: null,
        errors: 0,
        created_at: now,
      });
      if (rows.length === kInsertBatch) await flush();
    }
    if (rows.length > 0) await flush();
    if (made !== count) throw new Error(`the job made ${made} units, not the ${count} it announced`);
    const [activated] = await writeTransaction(db, (trx) =>
      trx.updateTable('jobs').set({ status: 'active' }).where('id', '=', jobId).where('status', '=', 'preparing').execute(),
    );
    // Another process failed it (abandonPreparingJobs) while it was being made: it took too long.
    if (Number(activated?.numUpdatedRows ?? 0) !== 1)
      throw new Error(`job ${jobId} took over ${kPreparingTimeoutMs / 60_000} minutes to make and was given up`);
  } catch (error) {
    await writeTransaction(db, async (trx) => {
      await trx.deleteFrom('units').where('job_id', '=', jobId).execute();
      await trx.deleteFrom('jobs').where('id', '=', jobId).execute();
    });
    throw error;
  }
  return jobId;
}

/**
 * Fails the jobs a coordinator stopped making half way (their requester never got an
 * answer, so it never learnt their id): those preparing for longer than kPreparingTimeoutMs,
 * and at start on SQLite every one (the file's only process is starting, so none is being
 * made). A job this process is making now is never older than the timeout when it is
 * swept, so the sweep each minute leaves it alone.
 */
export async function abandonPreparingJobs(db: Db, now: number, { atStart }: { atStart: boolean }): Promise<void> {
  const before = atStart && dialectOf(db) === 'sqlite' ? now + 1 : now - kPreparingTimeoutMs;
  await db
    .updateTable('jobs')
    .set({ status: 'failed', reason: 'the coordinator stopped while making this job’s units; submit it again' })
    .where('status', '=', 'preparing')
    .where('created_at', '<', before)
    .execute();
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
  // The first tile is the largest.
  if (Math.min(spec.tile, spec.width) * Math.min(spec.tile, spec.height) * 4 > kMaxUnitOutputBytes)
    throw new Error(`a ${spec.tile}×${spec.tile} tile's output is over ${kMaxUnitOutputBytes} bytes`);
  const count = Math.ceil(spec.width / spec.tile) * Math.ceil(spec.height / spec.tile);
  function* units(): Generator<UnitRow> {
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
        yield { kernel: 'mandelbrot', version: mandelbrot.version, params, operations: mandelbrot.plan(params).operations };
      }
    }
  }
  return insertJob(
    db,
    { ...ownership(spec), name: spec.name, purpose: spec.purpose, kernel: 'mandelbrot', params: { ...image, tile: spec.tile } },
    count,
    units(),
    now,
  );
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
  const unitAt = (lo: number): PrimesParams => ({ lo, hi: Math.min(spec.hi, lo + spec.span), blockSize: spec.blockSize });
  const count = Math.ceil((spec.hi - spec.lo) / spec.span);
  // The first unit is the widest and the last the largest numbers: if both fit, every unit does.
  for (const params of [unitAt(spec.lo), unitAt(spec.lo + (count - 1) * spec.span)]) {
    assertPrimesFits(params);
    if (primes.outputBytes(params) > kMaxUnitOutputBytes)
      throw new Error(`a unit of ${spec.span} numbers in blocks of ${spec.blockSize} has too large an output`);
  }
  function* units(): Generator<UnitRow> {
    for (let lo = spec.lo; lo < spec.hi; lo += spec.span) {
      const params = unitAt(lo);
      yield { kernel: 'primes', version: primes.version, params, operations: primes.plan(params).operations };
    }
  }
  const { lo, hi, span, blockSize } = spec;
  return insertJob(
    db,
    { ...ownership(spec), name: spec.name, purpose: spec.purpose, kernel: 'primes', params: { lo, hi, span, blockSize } },
    count,
    units(),
    now,
  );
}

function ownership(spec: JobOwnership): JobOwnership {
  return { ...(spec.requester ? { requester: spec.requester } : {}), ...(spec.priority ? { priority: spec.priority } : {}) };
}

export function randomSeed(): string {
  return `0x${randomBytes(8).toString('hex')}`;
}

/** A demo job being made, per database: requests that find no work meanwhile wait for it instead of making another. */
const makingDemo = new WeakMap<Db, Promise<void>>();

/**
 * Keeps the demo from running dry: when no unit of an active job is ready and no job is being
 * made, a new demo job is made (one at a time, however many requests find no work).
 */
export function ensureDemoWork(db: Db, demo: DemoJobConfig): Promise<void> {
  const inProgress = makingDemo.get(db);
  if (inProgress) return inProgress;
  const making = makeDemoWorkIfDry(db, demo).finally(() => makingDemo.delete(db));
  makingDemo.set(db, making);
  return making;
}

async function makeDemoWorkIfDry(db: Db, demo: DemoJobConfig): Promise<void> {
  // Job by job, each by the (job, state) index: a scan of units for the first ready one would
  // walk past every unit done before it.
  const waiting = await db
    .selectFrom('jobs')
    .select('jobs.id')
    .where('jobs.status', '=', 'active')
    .where((eb) => eb.exists(eb.selectFrom('units').select('units.id').whereRef('units.job_id', '=', 'jobs.id').where('units.state', '=', 'ready')))
    .limit(1)
    .executeTakeFirst();
  if (waiting) return;
  const preparing = await db.selectFrom('jobs').select('id').where('status', '=', 'preparing').limit(1).executeTakeFirst();
  if (preparing) return;
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
