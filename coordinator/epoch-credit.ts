import type { Transaction } from 'kysely';
import { runPrepared } from './db/run-prepared.ts';
import type { Database } from './db/schema.ts';

type Trx = Transaction<Database>;

/**
 * What `owner` has earned in the credit epoch starting at `epochStart`, for the cap. Kept as a
 * running total per owner and epoch, which `addEarned` raises in the transaction that grants the
 * credit: summing the ledger instead read every credit of the owner's epoch on every grant, so an
 * owner with many browsers paid more for each result as the day went on. A total not kept yet
 * (the owner's first grant of the epoch, or an epoch begun before the table existed) is summed
 * from the ledger once and kept.
 */
export async function earnedThisEpoch(trx: Trx, owner: string, epochStart: number): Promise<number> {
  const key = { owner, epochStart };
  const { rows } = await runPrepared(trx, 'epoch-credit-earned', key, (values) =>
    trx.selectFrom('owner_epoch_credit').select('earned').where('owner', '=', values.owner).where('epoch_start', '=', values.epochStart),
  );
  if (rows[0]) return Number(rows[0].earned);
  const { rows: summed } = await runPrepared(trx, 'epoch-credit-sum', key, (values) =>
    trx
      .selectFrom('credits')
      .select((eb) => eb.fn.sum<number>('amount').as('sum'))
      .where('owner', '=', values.owner)
      .where('created_at', '>=', values.epochStart),
  );
  const earned = Number(summed[0]?.sum ?? 0);
  await runPrepared(trx, 'epoch-credit-start', { ...key, earned }, (values) =>
    trx
      .insertInto('owner_epoch_credit')
      .values({ owner: values.owner, epoch_start: values.epochStart, earned: values.earned })
      .onConflict((oc) => oc.columns(['owner', 'epoch_start']).doNothing()),
  );
  return earned;
}

/** Adds credit just granted to `owner` to its epoch's total (which `earnedThisEpoch` made, in the same transaction). */
export async function addEarned(trx: Trx, owner: string, epochStart: number, amount: number): Promise<void> {
  if (amount <= 0) return;
  await runPrepared(trx, 'epoch-credit-add', { owner, epochStart, amount }, (values) =>
    trx
      .updateTable('owner_epoch_credit')
      .set((eb) => ({ earned: eb('earned', '+', values.amount) }))
      .where('owner', '=', values.owner)
      .where('epoch_start', '=', values.epochStart),
  );
}
