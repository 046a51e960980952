import type { Db } from '../db/database.ts';

/**
 * Every payee's cumulative validated credit, from the credit ledger (lowercase address →
 * credit). Credit rows are only ever added, so each sum never decreases.
 *
 * This is the one place that decides who is paid for whose credit: the owner key that earned
 * it, or, for credit earned after the owner key was linked to a wallet (`owner-links.ts`),
 * that wallet. Credit from before the link stays the owner key's: it may already sit in a
 * posted root the key can claim, and moving it would let the wallet claim it a second time
 * (and make the key's cumulative amount go down).
 */
export async function cumulativeCreditByPayee(db: Db): Promise<Map<string, bigint>> {
  const rows = await db
    .selectFrom('credits')
    .leftJoin('owner_links', (join) => join.onRef('owner_links.owner', '=', 'credits.owner').onRef('owner_links.created_at', '<=', 'credits.created_at'))
    .select((eb) => [eb.fn.coalesce('owner_links.wallet', 'credits.owner').as('payee'), eb.fn.sum<number | string>('credits.amount').as('credit')])
    .groupBy((eb) => eb.fn.coalesce('owner_links.wallet', 'credits.owner'))
    .execute();
  const credit = new Map<string, bigint>();
  for (const row of rows) {
    const payee = row.payee.toLowerCase();
    credit.set(payee, (credit.get(payee) ?? 0n) + BigInt(row.credit ?? 0));
  }
  return credit;
}
