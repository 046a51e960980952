import type { Db } from '../db/database.ts';

/**
 * Every payee's cumulative validated credit, from the credit ledger (lowercase address →
 * credit). Credit rows are only ever added, so each sum never decreases.
 *
 * This is the one place that decides who is paid for whose credit: today the owner key that
 * earned it; owner→wallet links are applied here.
 */
export async function cumulativeCreditByPayee(db: Db): Promise<Map<string, bigint>> {
  const rows = await db
    .selectFrom('credits')
    .select((eb) => ['owner', eb.fn.sum<number | string>('amount').as('credit')])
    .groupBy('owner')
    .execute();
  return new Map(rows.map((row) => [row.owner.toLowerCase(), BigInt(row.credit ?? 0)]));
}
