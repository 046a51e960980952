import type { Transaction } from 'kysely';
import type { DatabaseDialect } from './db/database.ts';
import type { Database } from './db/schema.ts';
import { addEarned, earnedThisEpoch } from './epoch-credit.ts';
import type { TrustConfig } from './trust-config.ts';

/** The start of the credit epoch `now` falls in (epochs are aligned to the Unix epoch). */
export function creditEpochStart(now: number, trust: Pick<TrustConfig, 'creditEpochMs'>): number {
  return Math.floor(now / trust.creditEpochMs) * trust.creditEpochMs;
}

/**
 * Credits one validated replica: the unit's credit, cut so the owner's credit in this epoch
 * stays within `creditCapPerEpoch`. The ledger has one row per unit and owner, so a unit is
 * never paid twice to anyone, whatever is sent again. Returns the credit granted now.
 */
export async function grantCredit(
  trx: Transaction<Database>,
  grant: { unitId: number; owner: string; leaseId: string; amount: number; now: number },
  trust: TrustConfig,
  dialect: DatabaseDialect,
): Promise<number> {
  let amount = grant.amount;
  const epoch = { start: creditEpochStart(grant.now, trust), ms: trust.creditEpochMs };
  if (trust.creditCapPerEpoch > 0) {
    // Over PostgreSQL two processes may credit one owner at once: the host row serialises them.
    if (dialect === 'postgres') await trx.selectFrom('hosts').select('owner').where('owner', '=', grant.owner).forUpdate().execute();
    const earned = await earnedThisEpoch(trx, grant.owner, epoch);
    amount = Math.max(0, Math.min(amount, trust.creditCapPerEpoch - earned));
  }
  const inserted = await trx
    .insertInto('credits')
    .values({ unit_id: grant.unitId, owner: grant.owner, lease_id: grant.leaseId, amount, created_at: grant.now })
    .onConflict((oc) => oc.columns(['unit_id', 'owner']).doNothing())
    .executeTakeFirst();
  const granted = Number(inserted.numInsertedOrUpdatedRows ?? 0n) > 0 ? amount : 0;
  await addEarned(trx, grant.owner, epoch, granted);
  return granted;
}
