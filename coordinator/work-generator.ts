import { randomBytes } from 'node:crypto';
import { matmulF32 } from '../src/kernels/matmul-f32.ts';
import type { MatmulParams } from '../src/protocol/schemas.ts';
import type { DemoJobConfig } from './config.ts';
import type { Db } from './db/database.ts';

export interface MatmulJobSpec {
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

/** The work generator: splits a matmul job into block units, all in one transaction. */
export async function createMatmulJob(db: Db, spec: MatmulJobSpec, now = Date.now()): Promise<number> {
  return db.transaction().execute(async (trx) => {
    const job = await trx
      .insertInto('jobs')
      .values({
        name: spec.name,
        purpose: spec.purpose,
        kernel: matmulF32.name,
        params: JSON.stringify({ seed: spec.seed, rows: spec.rows, cols: spec.cols, k: spec.k, block: spec.block }),
        status: 'active',
        created_at: now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const units = [];
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
        units.push({
          job_id: job.id,
          kernel: matmulF32.name,
          kernel_version: matmulF32.version,
          params: JSON.stringify(params),
          credit: creditFor(matmulF32.plan(params).operations),
          state: 'ready' as const,
          lease_deadline: null,
          errors: 0,
          created_at: now,
        });
      }
    }
    await trx.insertInto('units').values(units).execute();
    return job.id;
  });
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
