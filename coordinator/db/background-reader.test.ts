import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { backgroundRows, type Db, openDatabase, readerOf } from './database.ts';

let folder: string;
let db: Db | undefined;

afterEach(async () => {
  await db?.destroy();
  db = undefined;
  rmSync(folder, { recursive: true, force: true });
});

async function freshDatabase(): Promise<{ db: Db; file: string }> {
  folder = mkdtempSync(join(tmpdir(), 'surge-background-'));
  const file = join(folder, 'surge.db');
  db = await openDatabase(file);
  return { db, file };
}

/** A read that keeps SQLite busy for a while: the sum of 1..n, counted one row at a time. */
const slowSum = (n: number) =>
  CompiledQuery.raw('with recursive counter(i) as (select 1 union all select i + 1 from counter where i < ?) select sum(i) as total from counter', [
    n,
  ]) as CompiledQuery<{ total: number }>;

/** How many times a 5 ms timer fired while `read` ran. */
async function ticksDuring(read: () => Promise<unknown>): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  try {
    await read();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

describe('reads off the event loop (the dashboard statistics)', () => {
  it('answers a long scan on its own thread while the event loop goes on, where the reading handle would hold it', async () => {
    const { db: open } = await freshDatabase();
    const n = 2_000_000;
    const expected = (n * (n + 1)) / 2;
    let rows: { total: number }[] = [];
    const meanwhile = await ticksDuring(async () => {
      rows = await backgroundRows(open, slowSum(n));
    });
    expect(rows).toEqual([{ total: expected }]);
    // The same read on this thread: no timer fires until it ends.
    const onThisThread = await ticksDuring(async () => {
      await readerOf(open).executeQuery(slowSum(n));
    });
    expect(onThisThread).toBe(0);
    expect(meanwhile).toBeGreaterThanOrEqual(3);
  });

  it('sees the last commit, refuses a bad read with SQLite’s reason, and answers the next one', async () => {
    const { db: open } = await freshDatabase();
    await sql`create table tally (n integer not null)`.execute(open);
    await sql`insert into tally (n) values (1), (2), (3)`.execute(open);
    await expect(backgroundRows(open, CompiledQuery.raw('select * from missing_table', []))).rejects.toThrow(/no such table: missing_table/);
    expect(await backgroundRows(open, CompiledQuery.raw('select sum(n) as total from tally', []))).toEqual([{ total: 6 }]);
  });

  it('closes its connection before the writer, which removes the WAL on close', async () => {
    const { db: open, file } = await freshDatabase();
    await sql`create table tally (n integer not null)`.execute(open);
    await sql`insert into tally (n) values (1)`.execute(open);
    expect(await backgroundRows(open, CompiledQuery.raw('select n from tally', []))).toEqual([{ n: 1 }]);
    expect(existsSync(`${file}-wal`)).toBe(true);
    await open.destroy();
    db = undefined;
    expect(existsSync(`${file}-wal`)).toBe(false);
    await expect(backgroundRows(open, CompiledQuery.raw('select n from tally', []))).rejects.toThrow(/closed/);
  });

  it('closed just as a read starts, fails that read and leaves no WAL: the thread never opens the file after the writer closed it', async () => {
    const { db: open, file } = await freshDatabase();
    await sql`create table tally (n integer not null)`.execute(open);
    const read = backgroundRows(open, CompiledQuery.raw('select n from tally', []));
    await open.destroy();
    db = undefined;
    await expect(read).rejects.toThrow(/closed/);
    // Time for a thread that would open the file late to do it.
    await new Promise((resume) => setTimeout(resume, 300));
    expect(existsSync(`${file}-wal`)).toBe(false);
    expect(existsSync(`${file}-shm`)).toBe(false);
  });
});
