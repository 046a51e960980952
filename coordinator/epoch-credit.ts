import type { Transaction } from 'kysely';
import { runPrepared } from './db/run-prepared.ts';
import type { Database } from './db/schema.ts';

type Trx = Transaction<Database>;

/** One credit epoch: its start (creditEpochStart) and its length, both in ms. */
export interface CreditEpoch {
  start: number;
  ms: number;
}

/**
 * What `owner` has earned in `epoch`, for the cap. Kept as a running total per owner and epoch,
 * which `addEarned` raises in the transaction that grants the credit: summing the ledger instead
 * read every credit of the owner's epoch on every grant, so an owner with many browsers paid more
 * for each result as the day went on. A total not kept yet (the owner's first grant of the epoch,
 * an epoch begun before the table existed, or epochs of a new length) is summed from the ledger
 * once and kept.
 */
export async function earnedThisEpoch(trx: Trx, owner: string, epoch: CreditEpoch): Promise<number> {
  const key = { owner, start: epoch.start, ms: epoch.ms };
  const { rows } = await runPrepared(trx, 'epoch-credit-earned', key, (values) =>
    trx
      .selectFrom('owner_epoch_credit')
      .select('earned')
      .where('owner', '=', values.owner)
      .where('epoch_start', '=', values.start)
      .where('epoch_ms', '=', values.ms),
  );
  if (rows[0]) return Number(rows[0].earned);
  const { rows: summed } = await runPrepared(trx, 'epoch-credit-sum', { owner, start: epoch.start, end: epoch.start + epoch.ms }, (values) =>
    trx
      .selectFrom('credits')
      .select((eb) => eb.fn.sum<number>('amount').as('sum'))
      .where('owner', '=', values.owner)
      .where('created_at', '>=', values.start)
      .where('created_at', '<', values.end),
  );
  const earned = Number(summed[0]?.sum ?? 0);
  await runPrepared(trx, 'epoch-credit-start', { ...key, earned }, (values) =>
    trx
      .insertInto('owner_epoch_credit')
      .values({ owner: values.owner, epoch_start: values.start, epoch_ms: values.ms, earned: values.earned })
      .onConflict((oc) => oc.columns(['owner', 'epoch_start', 'epoch_ms']).doNothing()),
  );
  return earned;
}

/** Adds credit just granted to `owner` to its epoch's total, if one is kept (`earnedThisEpoch` makes it, in the same transaction). */
export async function addEarned(trx: Trx, owner: string, epoch: CreditEpoch, amount: number): Promise<void> {
  if (amount <= 0) return;
  await runPrepared(trx, 'epoch-credit-add', { owner, start: epoch.start, ms: epoch.ms, amount }, (values) =>
    trx
      .updateTable('owner_epoch_credit')
      .set((eb) => ({ earned: eb('earned', '+', values.amount) }))
      .where('owner', '=', values.owner)
      .where('epoch_start', '=', values.start)
      .where('epoch_ms', '=', values.ms),
  );
}
