import { randomBytes } from 'node:crypto';
import type { KernelName, Lease, WorkSpec } from '../src/protocol/schemas.ts';
import { type Db, dialectOf } from './db/database.ts';

/**
 * The feeder: hands one unit to a session as a lease with a deadline. A unit is free when
 * it is ready, or leased with its deadline passed (the transitioner's reissue, done here
 * lazily at lease time). One transaction, so two requests never get the same unit.
 */
export async function leaseUnit(
  db: Db,
  options: {
    session: string;
    owner: string;
    now: number;
    leaseMs: number;
    kernels?: readonly KernelName[] | undefined;
    /** The most credit (work) per kernel this client finishes within a lease: see lease-sizing.ts. */
    creditCaps?: readonly { kernel: KernelName; maxCredit: number }[] | undefined;
  },
): Promise<Lease | undefined> {
  const { session, owner, now, leaseMs, kernels, creditCaps } = options;
  return db.transaction().execute(async (trx) => {
    const unit = await trx
      .selectFrom('units')
      .innerJoin('jobs', 'jobs.id', 'units.job_id')
      .select(['units.id', 'units.kernel', 'units.kernel_version', 'units.params', 'units.credit', 'jobs.id as jobId', 'jobs.name', 'jobs.purpose'])
      .where('jobs.status', '=', 'active')
      .$if(kernels !== undefined, (qb) => qb.where('units.kernel', 'in', kernels!))
      .$if(creditCaps !== undefined && creditCaps.length > 0, (qb) =>
        qb.where((eb) => eb.and(creditCaps!.map((cap) => eb.or([eb('units.kernel', '!=', cap.kernel), eb('units.credit', '<=', cap.maxCredit)])))),
      )
      .where((eb) => eb.or([eb('units.state', '=', 'ready'), eb.and([eb('units.state', '=', 'leased'), eb('units.lease_deadline', '<', now)])]))
      // An owner whose result for a unit was invalid never gets that unit again, so one
      // client cannot fail a unit by returning garbage over and over.
      .where((eb) =>
        eb.not(
          eb.exists(
            eb
              .selectFrom('leases as earlier')
              .select('earlier.id')
              .whereRef('earlier.unit_id', '=', 'units.id')
              .where('earlier.owner', '=', owner)
              .where('earlier.state', '=', 'invalid'),
          ),
        ),
      )
      .orderBy('jobs.priority', 'desc')
      .orderBy('units.id')
      .limit(1)
      // Several coordinator processes over PostgreSQL: each claims a different unit, and none
      // waits for another's claim (SQLite has one writer at a time, so needs neither).
      .$if(dialectOf(db) === 'postgres', (qb) => qb.forUpdate(['units']).skipLocked())
      .executeTakeFirst();
    if (!unit) return undefined;
    const deadline = now + leaseMs;
    const id = `0x${randomBytes(32).toString('hex')}`;
    await trx.updateTable('units').set({ state: 'leased', lease_deadline: deadline, current_lease: id }).where('id', '=', unit.id).execute();
    await trx.insertInto('leases').values({ id, unit_id: unit.id, session, owner, deadline, state: 'open', created_at: now }).execute();
    return {
      id,
      jobId: unit.jobId,
      jobName: unit.name,
      jobPurpose: unit.purpose,
      unitId: unit.id,
      ...({ kernel: unit.kernel, params: JSON.parse(unit.params) } as WorkSpec),
      kernelVersion: unit.kernel_version,
      units: String(unit.credit),
      deadline: new Date(deadline).toISOString(),
    };
  });
}
