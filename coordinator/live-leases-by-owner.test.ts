import { type Compilable, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from './db/database.ts';
import { openLeaseCount } from './feeder.ts';
import { pendingLeasesOf } from './result-intake.ts';

let db: Db | undefined;

afterEach(async () => {
  await db?.destroy();
  db = undefined;
});

/**
 * SQLite's plan for a query as it is prepared, before any value is bound: each parameter stands
 * as NULL. (Once a value is bound, SQLite prepares the statement again with it, on every run.)
 */
async function planOf(query: Compilable<unknown>): Promise<string> {
  const unbound = query.compile().sql.replaceAll('?', 'null');
  const rows = (await sql.raw(`explain query plan ${unbound}`).execute(db!)).rows as { detail: string }[];
  return rows.map((row) => row.detail).join('; ');
}

// Only partial indexes read leases by owner (migration 0014), and SQLite uses one only when the
// query's own text names its state. With the state bound as a value, SQLite would prepare the
// statement again on every run to find it. (SQLite's planner is deterministic here; PostgreSQL's
// weighs table sizes.)
describe('leases by owner', () => {
  it("counts an owner's open leases from the index of open leases", async () => {
    db = await openDatabase(':memory:');
    expect(await planOf(openLeaseCount(db, '0xowner', 1_000))).toMatch(/USING COVERING INDEX leases_open_by_owner/);
  });

  it("finds an owner's pending replicas from the index of pending leases", async () => {
    db = await openDatabase(':memory:');
    expect(await planOf(pendingLeasesOf(db, '0xowner'))).toMatch(/USING INDEX leases_pending_by_owner/);
  });
});
