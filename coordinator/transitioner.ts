import type { Transaction } from 'kysely';
import type { Database } from './db/schema.ts';

type Trx = Transaction<Database>;

/**
 * The transitioner (BOINC's name): works out a unit's state from its replicas. A unit is
 * `ready` while it needs more replicas out than it has (its quorum, less the largest group of
 * pending results that agree, less the leases still open), else `leased`. Its deadline is
 * the earliest open lease's, so the feeder offers it again once any replica is overdue.
 * Call it in the transaction that changed the unit's leases; a done or failed unit stays so.
 */
export async function refreshUnit(trx: Trx, unitId: number): Promise<void> {
  const unit = await trx.selectFrom('units').select(['state', 'quorum', 'canary']).where('id', '=', unitId).executeTakeFirstOrThrow();
  if (unit.state === 'done' || unit.state === 'failed' || unit.canary === 1) return;
  const live = await trx
    .selectFrom('leases')
    .select(['id', 'state', 'deadline', 'result_hash', 'created_at'])
    .where('unit_id', '=', unitId)
    .where('state', 'in', ['open', 'pending'])
    .orderBy('created_at')
    .execute();
  const open = live.filter((lease) => lease.state === 'open');
  const groups = new Map<string, number>();
  for (const lease of live) if (lease.state === 'pending' && lease.result_hash) groups.set(lease.result_hash, (groups.get(lease.result_hash) ?? 0) + 1);
  const agreeing = Math.max(0, ...groups.values());
  const wanted = unit.quorum - agreeing - open.length;
  await trx
    .updateTable('units')
    .set({
      state: wanted > 0 ? 'ready' : 'leased',
      lease_deadline: open.length > 0 ? Math.min(...open.map((lease) => lease.deadline)) : null,
      current_lease: open.at(-1)?.id ?? null,
    })
    .where('id', '=', unitId)
    .execute();
}

/** Marks units' overdue open leases expired, as they are offered again: their late results are refused from now on. */
export async function expireOverdueLeases(trx: Trx, unitIds: readonly number[], now: number): Promise<void> {
  await trx.updateTable('leases').set({ state: 'expired' }).where('unit_id', 'in', unitIds).where('state', '=', 'open').where('deadline', '<', now).execute();
}
