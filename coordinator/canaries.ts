import { keccak256 } from 'viem';
import { mandelbrotReference } from '../src/kernels/mandelbrot.ts';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulU32Reference } from '../src/kernels/matmul-u32.ts';
import { primesReference } from '../src/kernels/primes.ts';
import { kernelDefinitions } from '../src/kernels/registry.ts';
import type { KernelName, WorkSpec } from '../src/protocol/schemas.ts';
import { closeJobIfComplete, keepUnitOutput } from './assimilator.ts';
import { type Db, dialectOf } from './db/database.ts';

/** Kernels whose outputs are the same bytes on every device, so results compare by hash. */
export const exactKernels: ReadonlySet<KernelName> = new Set(['matmul-u32', 'mandelbrot', 'primes']);

/** Canaries one job holds at most: each costs the coordinator one unit of compute, once. */
const kCanariesPerJob = 4;
/** The largest unit the coordinator computes itself to make a canary (the work estimate's operations). */
const kMaxCanaryOperations = 2 ** 26;

/** The coordinator's own answer for a unit, from the reference kernels (the validators' code). */
export function referenceOutput(spec: WorkSpec): Uint8Array {
  switch (spec.kernel) {
    case 'primes':
      return primesReference(spec.params);
    case 'mandelbrot':
      return new Uint8Array(mandelbrotReference(spec.params).buffer);
    case 'matmul-u32': {
      const { m, n, k } = spec.params;
      return new Uint8Array(matmulU32Reference(matmulInputA(spec.params, 'u32'), matmulInputB(spec.params, 'u32'), m, n, k).buffer);
    }
    case 'matmul-f32':
      throw new Error('matmul-f32 outputs differ by rounding between devices: no canary compares them by hash');
  }
}

/**
 * Makes a canary for a contributor who can run `kernels`: the coordinator computes one small,
 * not yet leased unit of an active job itself, keeps that output as the unit's (so the job
 * loses nothing), and from then on hands the same unit out as a canary. On the wire it is
 * that real unit (its job, its id, its parameters), so a contributor cannot tell it apart.
 * Returns whether a canary was made.
 */
export async function makeCanary(db: Db, kernels: readonly KernelName[] | undefined): Promise<boolean> {
  const wanted = [...exactKernels].filter((kernel) => !kernels || kernels.includes(kernel));
  if (wanted.length === 0) return false;
  // Jobs with room for another canary first: a handful of rows, where the units are thousands.
  const jobs = await db
    .selectFrom('jobs')
    .select('jobs.id')
    .where('jobs.status', '=', 'active')
    .where('jobs.kernel', 'in', wanted)
    .where((eb) =>
      eb(
        eb
          .selectFrom('units')
          .select((u) => u.fn.countAll<number>().as('n'))
          .whereRef('units.job_id', '=', 'jobs.id')
          .where('units.canary', '=', 1),
        '<',
        kCanariesPerJob,
      ),
    )
    .execute();
  if (jobs.length === 0) return false;
  const candidates = await db
    .selectFrom('units')
    .innerJoin('jobs', 'jobs.id', 'units.job_id')
    .select(['units.id', 'units.job_id', 'units.kernel', 'units.params'])
    .where('jobs.status', '=', 'active')
    .where(
      'units.job_id',
      'in',
      jobs.map((job) => job.id),
    )
    .where('units.kernel', 'in', wanted)
    .where('units.canary', '=', 0)
    .where('units.state', '=', 'ready')
    .where((eb) => eb.not(eb.exists(eb.selectFrom('leases').select('leases.id').whereRef('leases.unit_id', '=', 'units.id'))))
    .orderBy('units.id')
    .limit(8)
    .execute();
  for (const candidate of candidates) {
    const spec = { kernel: candidate.kernel, params: JSON.parse(candidate.params) } as WorkSpec;
    const operations = (kernelDefinitions[spec.kernel].plan as (params: WorkSpec['params']) => { operations: number })(spec.params).operations;
    if (operations > kMaxCanaryOperations) continue;
    let output: Uint8Array;
    try {
      output = referenceOutput(spec);
    } catch {
      continue;
    }
    const made = await db.transaction().execute(async (trx) => {
      // Other requests may have made this job's last canaries since its room was read: count again,
      // with the job's row locked on PostgreSQL, where those requests run beside this one.
      if (dialectOf(db) === 'postgres') await trx.selectFrom('jobs').select('id').where('id', '=', candidate.job_id).forUpdate().execute();
      const { count } = await trx
        .selectFrom('units')
        .select((u) => u.fn.countAll<number>().as('count'))
        .where('job_id', '=', candidate.job_id)
        .where('canary', '=', 1)
        .executeTakeFirstOrThrow();
      if (Number(count) >= kCanariesPerJob) return false;
      const claimed = await trx
        .updateTable('units')
        .set({ canary: 1, expected_hash: keccak256(output), state: 'done', lease_deadline: null, current_lease: null })
        .where('id', '=', candidate.id)
        .where('state', '=', 'ready')
        .where('canary', '=', 0)
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) === 0) return false;
      await keepUnitOutput(trx, candidate.id, candidate.job_id, output);
      return true;
    });
    if (made) {
      await closeJobIfComplete(db, candidate.job_id);
      return true;
    }
  }
  return false;
}
