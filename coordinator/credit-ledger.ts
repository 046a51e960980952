import type { Transaction } from 'kysely';
import type { DatabaseDialect } from './db/database.ts';
import { runPrepared } from './db/run-prepared.ts';
import type { Database } from './db/schema.ts';
import { addEarned, type CreditEpoch, earnedThisEpoch } from './epoch-credit.ts';
import type { TrustConfig } from './trust-config.ts';

/** The start of the credit epoch `now` falls in (epochs are aligned to the Unix epoch). */
export function creditEpochStart(now: number, trust: Pick<TrustConfig, 'creditEpochMs'>): number {
  return Math.floor(now / trust.creditEpochMs) * trust.creditEpochMs;
}

/**
 * The credit epoch `now` falls in, and how much more credit `owner` may earn in it: without
 * limit when there is no cap. Over PostgreSQL it first locks the owner's host row, so that two
 * processes crediting one owner at once take turns.
 */
export async function creditRoom(
  trx: Transaction<Database>,
  owner: string,
  now: number,
  trust: TrustConfig,
  dialect: DatabaseDialect,
): Promise<{ epoch: CreditEpoch; room: number }> {
  const epoch = { start: creditEpochStart(now, trust), ms: trust.creditEpochMs };
  if (trust.creditCapPerEpoch <= 0) return { epoch, room: Number.POSITIVE_INFINITY };
  if (dialect === 'postgres') await trx.selectFrom('hosts').select('owner').where('owner', '=', owner).forUpdate().execute();
  return { epoch, room: Math.max(0, trust.creditCapPerEpoch - (await earnedThisEpoch(trx, owner, epoch))) };
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
  const { epoch, room } = await creditRoom(trx, grant.owner, grant.now, trust, dialect);
  const amount = Math.min(grant.amount, room);
  const credit = { unit_id: grant.unitId, owner: grant.owner, lease_id: grant.leaseId, amount, created_at: grant.now };
  const inserted = await runPrepared(trx, 'insert-credit', credit, (values) =>
    trx
      .insertInto('credits')
      .values(values)
      .onConflict((oc) => oc.columns(['unit_id', 'owner']).doNothing()),
  );
  const granted = Number(inserted.numAffectedRows ?? 0n) > 0 ? amount : 0;
  await addEarned(trx, grant.owner, epoch, granted);
  return granted;
}
