import { sql, type Transaction } from 'kysely';
import { parseFixed } from '../src/kernels/fixed-point.ts';
import type { KernelName, MandelbrotParams, MatmulParams, PrimesParams } from '../src/protocol/schemas.ts';
import type { Db } from './db/database.ts';
import { runPrepared } from './db/run-prepared.ts';
import type { Database } from './db/schema.ts';

/** The job-level parameters the work generator stores, by kernel. */
export interface MatmulJobParams {
  seed: string;
  rows: number;
  cols: number;
  k: number;
  block: number;
}
export interface MandelbrotJobParams extends MandelbrotParams {
  tile: number;
}
export interface PrimesJobParams {
  lo: number;
  hi: number;
  span: number;
  blockSize: number;
}

/** Where each byte range of a unit's output goes in its job's output. */
interface Placement {
  offset: number;
  start: number;
  length: number;
}

/** Bytes of a job's whole output: C (f32), the image's counts (u32), or per-block counts (2 × u32). */
export function jobOutputBytes(kernel: KernelName, params: unknown): number {
  switch (kernel) {
    case 'matmul-f32':
    case 'matmul-u32': {
      const { rows, cols } = params as MatmulJobParams;
      return rows * cols * 4;
    }
    case 'mandelbrot': {
      const { width, height } = params as MandelbrotJobParams;
      return width * height * 4;
    }
    case 'primes': {
      const { lo, hi, blockSize } = params as PrimesJobParams;
      return Math.ceil((hi - lo) / blockSize) * 8;
    }
  }
}

/** Rows of a 2-D block (row-major, 4-byte elements) placed into a wider row-major array. */
function placeRows(row0: number, column0: number, rows: number, columns: number, fullColumns: number): Placement[] {
  return Array.from({ length: rows }, (_, r) => ({ offset: ((row0 + r) * fullColumns + column0) * 4, start: r * columns * 4, length: columns * 4 }));
}

function placements(kernel: KernelName, jobParams: unknown, unitParams: unknown): Placement[] {
  switch (kernel) {
    case 'matmul-f32':
    case 'matmul-u32': {
      const unit = unitParams as MatmulParams;
      return placeRows(unit.rowOffset, unit.colOffset, unit.m, unit.n, (jobParams as MatmulJobParams).cols);
    }
    case 'mandelbrot': {
      const job = jobParams as MandelbrotJobParams;
      const unit = unitParams as MandelbrotParams;
      const step = parseFixed(job.step);
      const column = Number((parseFixed(unit.x0) - parseFixed(job.x0)) / step);
      const row = Number((parseFixed(unit.y0) - parseFixed(job.y0)) / step);
      return placeRows(row, column, unit.height, unit.width, job.width);
    }
    case 'primes': {
      const job = jobParams as PrimesJobParams;
      const unit = unitParams as PrimesParams;
      return [{ offset: ((unit.lo - job.lo) / job.blockSize) * 8, start: 0, length: Math.ceil((unit.hi - unit.lo) / unit.blockSize) * 8 }];
    }
  }
}

/**
 * The assimilator (BOINC's name): keeps a validated unit's output for its job and marks the
 * unit assimilated. Called inside the transaction that credits the unit, so output and credit
 * are kept together or not at all; the row is keyed by unit, so it is kept exactly once.
 */
export async function keepUnitOutput(trx: Transaction<Database>, unitId: number, jobId: number, output: Uint8Array): Promise<void> {
  const kept = await runPrepared(trx, 'keep-unit-output', { unit_id: unitId, output }, (values) =>
    trx
      .insertInto('unit_outputs')
      .values(values)
      .onConflict((oc) => oc.column('unit_id').doNothing()),
  );
  if (Number(kept.numAffectedRows ?? 0n) === 0) return;
  await runPrepared(trx, 'unit-assimilated', { unitId, assimilated: 1 }, (values) =>
    trx.updateTable('units').set({ assimilated: values.assimilated }).where('id', '=', values.unitId),
  );
  await addUnitsDoneToJob(trx, jobId, 1);
}

/** Adds `done` units to a job's count of units done (one prepared statement, for one unit or a batch's). */
export async function addUnitsDoneToJob(trx: Transaction<Database>, jobId: number, done: number): Promise<void> {
  await runPrepared(trx, 'add-units-done', { jobId, done }, (values) =>
    trx
      .updateTable('jobs')
      .set((eb) => ({ units_done: eb('units_done', '+', values.done) }))
      .where('id', '=', values.jobId),
  );
}

/** Closes every active job whose units are all in: run at start, after a crash between a credit and the job's close. */
export async function closeCompletedJobs(db: Db): Promise<void> {
  const active = await db.selectFrom('jobs').select('id').where('status', '=', 'active').execute();
  for (const job of active) {
    const failed = await db.selectFrom('units').select('id').where('job_id', '=', job.id).where('state', '=', 'failed').limit(1).executeTakeFirst();
    await closeJobIfComplete(db, job.id, failed !== undefined);
  }
}

/** A job's whole output, assembled from its units' outputs in the database. */
export async function readJobOutput(db: Db, jobId: number): Promise<Uint8Array> {
  const job = await db.selectFrom('jobs').select(['kernel', 'params']).where('id', '=', jobId).executeTakeFirstOrThrow();
  const kernel = job.kernel as KernelName;
  const jobParams = JSON.parse(job.params) as unknown;
  const whole = new Uint8Array(jobOutputBytes(kernel, jobParams));
  const rows = await db
    .selectFrom('unit_outputs')
    .innerJoin('units', 'units.id', 'unit_outputs.unit_id')
    .select(['units.params', 'unit_outputs.output'])
    .where('units.job_id', '=', jobId)
    .execute();
  for (const row of rows) {
    const output = new Uint8Array(row.output);
    for (const { offset, start, length } of placements(kernel, jobParams, JSON.parse(row.params))) whole.set(output.subarray(start, start + length), offset);
  }
  return whole;
}

/**
 * Takes the lease deadlines off the leased units of cancelled and failed jobs. The feeder asks
 * first whether any leased unit is overdue (the earliest deadline of all), and looks for
 * overdue units only if one is; it offers units of active jobs only, so one abandoned lease of
 * a cancelled job made every later lease look, and find nothing, for good: about a sixth of a
 * lease's SQL time. Their open leases stay open: a result that still comes back is judged and
 * paid. Run for a job when it stops being active, and for all at start and every minute (a
 * replica's result can set a unit's deadline again).
 */
export async function withdrawDeadlinesOfClosedJobs(db: Db, jobIds?: readonly number[]): Promise<void> {
  // A job that has just closed names itself; otherwise every cancelled and failed job.
  const closed = jobIds ?? (await db.selectFrom('jobs').select('id').where('status', 'in', ['cancelled', 'failed']).execute()).map((job) => job.id);
  for (let start = 0; start < closed.length; start += kJobsPerWithdrawal) {
    await db
      .updateTable('units')
      .set({ lease_deadline: null })
      .where('job_id', 'in', closed.slice(start, start + kJobsPerWithdrawal))
      .where('state', '=', 'leased')
      // `+` keeps SQLite on the (job, state) index: on (state, deadline) it would walk every leased unit of the active jobs too.
      .where(sql`+lease_deadline`, 'is not', null)
      .execute();
  }
}

/** Closed jobs per statement when their deadlines are withdrawn (well under SQLite's limit of bound values). */
const kJobsPerWithdrawal = 500;

/** A job is done when every unit is assimilated, and failed when a unit failed for good. */
export async function closeJobIfComplete(db: Db, jobId: number, unitFailed = false): Promise<void> {
  if (unitFailed) {
    await db
      .updateTable('jobs')
      .set({ status: 'failed', reason: 'a unit failed validation from several contributors' })
      .where('id', '=', jobId)
      .where('status', '=', 'active')
      .execute();
    await withdrawDeadlinesOfClosedJobs(db, [jobId]);
    return;
  }
  await runPrepared(db, 'close-job-if-complete', { jobId, done: 'done' as const, active: 'active' as const }, (values) =>
    db
      .updateTable('jobs')
      .set({ status: values.done })
      .where('id', '=', values.jobId)
      .where('status', '=', values.active)
      .whereRef('units_done', '>=', 'units_total'),
  );
}
