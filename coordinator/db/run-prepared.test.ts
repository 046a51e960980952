import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { freshPostgresDatabase, testDatabases } from '../../test/helpers/test-coordinator.ts';
import { type Db, openDatabase } from './database.ts';
import { runPrepared } from './run-prepared.ts';

function host(owner: string, streak: number) {
  return { owner, streak, quota: 10, day: 0, leased_today: 0, probation: 0, invalid_results: 0, created_at: 0 };
}

describe.each(testDatabases)('prepared statements on $name', ({ name, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  let db: Db;
  let cleanUp: () => Promise<void>;

  beforeEach(async () => {
    if (name === 'postgres') {
      const fresh = await freshPostgresDatabase('surge_prepared');
      db = await openDatabase(fresh.url);
      cleanUp = fresh.drop;
    } else {
      const folder = mkdtempSync(join(tmpdir(), 'surge-prepared-'));
      db = await openDatabase(join(folder, 'surge.db'));
      cleanUp = async () => rmSync(folder, { recursive: true, force: true });
    }
  });

  afterEach(async () => {
    await db.destroy();
    await cleanUp();
  });

  const insertHosts = (rows: ReturnType<typeof host>[]) => runPrepared(db, 'test-insert-hosts', rows, (values) => db.insertInto('hosts').values(values));
  const streaksOf = (owners: string[], minimum: number) =>
    runPrepared(db, 'test-streaks', { owners, minimum }, (values) =>
      db.selectFrom('hosts').select(['owner', 'streak']).where('owner', 'in', values.owners).where('streak', '>=', values.minimum).orderBy('owner'),
    );

  it('runs with each call’s own values, for lists of any length, the same as the statement built each time', async () => {
    await insertHosts([host('0xa', 1), host('0xb', 2)]);
    await insertHosts([host('0xc', 3)]);
    await insertHosts([host('0xd', 4), host('0xe', 5), host('0xf', 6)]);
    expect((await streaksOf(['0xa', '0xc', '0xe'], 0)).rows).toEqual([
      { owner: '0xa', streak: 1 },
      { owner: '0xc', streak: 3 },
      { owner: '0xe', streak: 5 },
    ]);
    expect((await streaksOf(['0xb', '0xf'], 3)).rows).toEqual([{ owner: '0xf', streak: 6 }]);
    expect((await streaksOf(['0xd'], 4)).rows).toEqual([{ owner: '0xd', streak: 4 }]);
    const built = await db.selectFrom('hosts').select(['owner', 'streak']).where('owner', 'in', ['0xb', '0xf']).where('streak', '>=', 3).execute();
    expect((await streaksOf(['0xb', '0xf'], 3)).rows).toEqual(built);
  });

  it('puts each row’s values in its own columns, whether the rows list their keys in one order or not', async () => {
    const reordered = (owner: string, streak: number) => {
      const { created_at, invalid_results, probation, leased_today, day, quota, ...rest } = host(owner, streak);
      return { streak: rest.streak, owner: rest.owner, quota: quota + 1, day, leased_today, probation, invalid_results, created_at };
    };
    await insertHosts([host('0xa', 1), host('0xb', 2)]);
    await insertHosts([host('0xc', 3), reordered('0xd', 4)]);
    await insertHosts([reordered('0xe', 5), reordered('0xf', 6)]);
    await insertHosts([host('0x1', 7), host('0x2', 8)]);
    const stored = await db.selectFrom('hosts').select(['owner', 'streak', 'quota']).orderBy('owner').execute();
    expect(stored).toEqual([
      { owner: '0x1', streak: 7, quota: 10 },
      { owner: '0x2', streak: 8, quota: 10 },
      { owner: '0xa', streak: 1, quota: 10 },
      { owner: '0xb', streak: 2, quota: 10 },
      { owner: '0xc', streak: 3, quota: 10 },
      { owner: '0xd', streak: 4, quota: 11 },
      { owner: '0xe', streak: 5, quota: 11 },
      { owner: '0xf', streak: 6, quota: 11 },
    ]);
  });

  it('runs updates with a CASE per row inside one transaction', async () => {
    await insertHosts([host('0xa', 1), host('0xb', 2), host('0xc', 3)]);
    const setStreaks = (pairs: [string, number][]) =>
      db.transaction().execute((trx) =>
        runPrepared(trx, 'test-set-streaks', { pairs, owners: pairs.map(([owner]) => owner) }, (values) =>
          trx
            .updateTable('hosts')
            .set((eb) => {
              const [[firstOwner, firstStreak], ...rest] = values.pairs as [[string, number], ...[string, number][]];
              let streak = eb.case().when('owner', '=', firstOwner).then(firstStreak);
              for (const [owner, value] of rest) streak = streak.when('owner', '=', owner).then(value);
              // PostgreSQL types a CASE of parameters as text.
              return { streak: eb.cast(streak.end(), 'integer') };
            })
            .where('owner', 'in', values.owners),
        ),
      );
    await setStreaks([
      ['0xa', 10],
      ['0xc', 30],
    ]);
    await setStreaks([['0xb', 20]]);
    const rows = await db.selectFrom('hosts').select(['owner', 'streak']).orderBy('owner').execute();
    expect(rows).toEqual([
      { owner: '0xa', streak: 10 },
      { owner: '0xb', streak: 20 },
      { owner: '0xc', streak: 30 },
    ]);
  });

  it('puts each value where the SQL wants it, whatever order the values come in', async () => {
    await insertHosts([host('0xa', 1), host('0xb', 2)]);
    const setStreak = (owner: string, streak: number) =>
      runPrepared(db, 'test-set-streak', { owner, streak }, (values) =>
        db.updateTable('hosts').set({ streak: values.streak }).where('owner', '=', values.owner),
      );
    await setStreak('0xa', 7);
    await setStreak('0xb', 9);
    expect(await db.selectFrom('hosts').select(['owner', 'streak']).orderBy('owner').execute()).toEqual([
      { owner: '0xa', streak: 7 },
      { owner: '0xb', streak: 9 },
    ]);
  });

  it('builds a statement once per shape, and leaves out what is missing from the values', async () => {
    await insertHosts([host('0xa', 1), host('0xb', 5)]);
    let builds = 0;
    const owners = (minimum: number | undefined) =>
      runPrepared(db, 'test-optional-minimum', { minimum }, (values) => {
        builds++;
        return db
          .selectFrom('hosts')
          .select('owner')
          .$if(values.minimum !== undefined, (q) => q.where('streak', '>=', values.minimum!))
          .orderBy('owner');
      });
    expect((await owners(undefined)).rows).toEqual([{ owner: '0xa' }, { owner: '0xb' }]);
    expect((await owners(3)).rows).toEqual([{ owner: '0xb' }]);
    expect((await owners(1)).rows).toEqual([{ owner: '0xa' }, { owner: '0xb' }]);
    expect((await owners(undefined)).rows).toEqual([{ owner: '0xa' }, { owner: '0xb' }]);
    expect((await owners(6)).rows).toEqual([]);
    expect(builds).toBe(2);
  });

  it('refuses a statement with a value that did not come in through its values, before it runs', async () => {
    await insertHosts([host('0xa', 1)]);
    const minimum = 1;
    await expect(
      runPrepared(db, 'test-built-in-value', { owner: '0xa' }, (values) =>
        db.selectFrom('hosts').select('owner').where('owner', '=', values.owner).where('streak', '>=', minimum),
      ),
    ).rejects.toThrow(/test-built-in-value has a value \(parameter 2, 1\) that did not come in through its values/);
  });

  it('refuses a statement with a value written into its SQL rather than bound', async () => {
    const bonus = 5;
    await expect(
      runPrepared(db, 'test-written-value', { owner: '0xa' }, (values) =>
        db
          .updateTable('hosts')
          .set((eb) => ({ streak: eb.case().when('owner', '=', values.owner).then(bonus).else(0).end() }))
          .where('owner', '=', values.owner),
      ),
    ).rejects.toThrow(/test-written-value has a value written into its SQL \(5\)/);
  });

  it('refuses a builder that computes with a value, which it would otherwise keep from the first call', async () => {
    await expect(
      runPrepared(db, 'test-computed-value', { streak: 1 }, (values) =>
        db
          .updateTable('hosts')
          .set({ quota: values.streak > 0 ? 20 : 10 })
          .where('streak', '=', values.streak),
      ),
    ).rejects.toThrow(/test-computed-value computed with one of its values while it was built/);
  });
});
