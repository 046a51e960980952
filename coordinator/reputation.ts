import type { Transaction } from 'kysely';
import { runPrepared } from './db/run-prepared.ts';
import type { Database, HostsTable } from './db/schema.ts';
import type { TrustConfig } from './trust-config.ts';

type Trx = Transaction<Database>;

const kDayMs = 24 * 60 * 60 * 1000;

/**
 * An owner's standing (BOINC's host reputation), made on first sight: no streak, the initial
 * daily quota, and one canary to pass before other work. The day's lease count starts over
 * each UTC day.
 */
export async function hostStanding(trx: Trx, owner: string, now: number, trust: TrustConfig): Promise<HostsTable> {
  const day = Math.floor(now / kDayMs);
  const [found] = (await runPrepared(trx, 'host-standing', { owner }, (values) => trx.selectFrom('hosts').selectAll().where('owner', '=', values.owner))).rows;
  if (!found) {
    const host: HostsTable = {
      owner,
      streak: 0,
      quota: trust.initialQuota,
      day,
      leased_today: 0,
      probation: trust.newHostCanaries,
      invalid_results: 0,
      created_at: now,
    };
    await trx
      .insertInto('hosts')
      .values(host)
      .onConflict((oc) => oc.column('owner').doNothing())
      .execute();
    return host;
  }
  if (found.day !== day) {
    await trx.updateTable('hosts').set({ day, leased_today: 0 }).where('owner', '=', owner).execute();
    return { ...found, day, leased_today: 0 };
  }
  return found;
}

/** Milliseconds until the owner's daily quota starts over. */
export function untilNextDay(now: number): number {
  return kDayMs - (now % kDayMs);
}

/**
 * Adaptive replication (BOINC): an owner without a run of `trustStreak` valid results is
 * always replicated; a trusted one is still re-checked at random with probability 1/streak.
 */
export function wantsReplica(host: Pick<HostsTable, 'streak'>, trust: TrustConfig, random: () => number = Math.random): boolean {
  if (host.streak < trust.trustStreak) return true;
  return random() < 1 / host.streak;
}

/** Counts `leases` new leases against the owner's daily quota. */
export async function countLease(trx: Trx, owner: string, leases = 1): Promise<void> {
  await runPrepared(trx, 'count-leases', { owner, leases }, (values) =>
    trx
      .updateTable('hosts')
      .set((eb) => ({ leased_today: eb('leased_today', '+', values.leases) }))
      .where('owner', '=', values.owner),
  );
}

/** A valid result: the streak grows, the quota grows by a step, a passed canary shortens probation. */
export async function recordValid(trx: Trx, owner: string, trust: TrustConfig, canary: boolean): Promise<void> {
  const host = await trx.selectFrom('hosts').select(['streak', 'quota', 'probation']).where('owner', '=', owner).executeTakeFirst();
  if (!host) return;
  await trx
    .updateTable('hosts')
    .set({
      streak: host.streak + 1,
      quota: Math.min(trust.maxQuota, host.quota + trust.quotaStep),
      probation: canary ? Math.max(0, host.probation - 1) : host.probation,
    })
    .where('owner', '=', owner)
    .execute();
}

/**
 * An invalid result: the streak starts over and the quota halves (at least 1). A wrong canary
 * also puts the owner on probation: only canaries until it passes a few.
 */
export async function recordInvalid(trx: Trx, owner: string, trust: TrustConfig, canary: boolean): Promise<void> {
  const host = await trx.selectFrom('hosts').select(['quota', 'probation']).where('owner', '=', owner).executeTakeFirst();
  if (!host) return;
  await trx
    .updateTable('hosts')
    .set((eb) => ({
      streak: 0,
      quota: Math.max(1, Math.floor(host.quota / 2)),
      invalid_results: eb('invalid_results', '+', 1),
      ...(canary ? { probation: Math.max(host.probation, trust.probationAfterCanaryFailure) } : {}),
    }))
    .where('owner', '=', owner)
    .execute();
}
