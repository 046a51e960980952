import { closeSync, existsSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { parseFixed } from '../src/kernels/fixed-point.ts';
import type { KernelName, MandelbrotParams, MatmulParams, PrimesParams } from '../src/protocol/schemas.ts';
import type { Db } from './db/database.ts';

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

export function jobOutputPath(outputDir: string, jobId: number): string {
  return join(outputDir, `job-${jobId}.bin`);
}

/**
 * The assimilator (BOINC's name): writes a validated unit's output into its job's output
 * file and marks the unit assimilated, then closes the job when no unit is left. Writing the
 * same bytes to the same place twice changes nothing, so a retry after a crash is harmless;
 * the `assimilated` flag makes the normal path write each unit exactly once.
 */
export async function assimilate(db: Db, outputDir: string, unitId: number, output: Uint8Array): Promise<void> {
  const unit = await db
    .selectFrom('units')
    .innerJoin('jobs', 'jobs.id', 'units.job_id')
    .select(['units.params as unitParams', 'units.assimilated', 'jobs.id as jobId', 'jobs.kernel', 'jobs.params as jobParams'])
    .where('units.id', '=', unitId)
    .executeTakeFirstOrThrow();
  if (unit.assimilated) return;
  const kernel = unit.kernel as KernelName;
  const jobParams = JSON.parse(unit.jobParams) as unknown;
  const path = jobOutputPath(outputDir, unit.jobId);
  mkdirSync(outputDir, { recursive: true });
  const fresh = !existsSync(path);
  const fd = openSync(path, fresh ? 'w+' : 'r+');
  try {
    if (fresh) ftruncateSync(fd, jobOutputBytes(kernel, jobParams));
    for (const { offset, start, length } of placements(kernel, jobParams, JSON.parse(unit.unitParams))) writeSync(fd, output, start, length, offset);
  } finally {
    closeSync(fd);
  }
  await db.updateTable('units').set({ assimilated: 1 }).where('id', '=', unitId).execute();
  await closeJobIfComplete(db, unit.jobId);
}

/** A job is done when every unit is assimilated, and failed when a unit failed for good. */
export async function closeJobIfComplete(db: Db, jobId: number): Promise<void> {
  const counts = await db
    .selectFrom('units')
    .select((eb) => [
      eb.fn.countAll<number>().as('total'),
      eb.fn.sum<number>(eb.case().when('assimilated', '=', 1).then(1).else(0).end()).as('assimilated'),
      eb.fn.sum<number>(eb.case().when('state', '=', 'failed').then(1).else(0).end()).as('failed'),
    ])
    .where('job_id', '=', jobId)
    .executeTakeFirstOrThrow();
  if (Number(counts.failed) > 0) {
    await db
      .updateTable('jobs')
      .set({ status: 'failed', reason: `${counts.failed} unit(s) failed validation from several contributors` })
      .where('id', '=', jobId)
      .where('status', '=', 'active')
      .execute();
  } else if (Number(counts.assimilated) === Number(counts.total)) {
    await db.updateTable('jobs').set({ status: 'done' }).where('id', '=', jobId).where('status', '=', 'active').execute();
  }
}

export function readJobOutput(outputDir: string, jobId: number): Uint8Array {
  return readFileSync(jobOutputPath(outputDir, jobId));
}
