import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from './database.ts';
import { writeTransaction } from './group-commit.ts';

let folder: string;
let db: Db | undefined;

afterEach(async () => {
  await db?.destroy();
  rmSync(folder, { recursive: true, force: true });
});

const kMiB = 1024 * 1024;
const pause = (ms: number) => new Promise((resume) => setTimeout(resume, ms));

describe('WAL checkpoints on SQLite', () => {
  it('copies committed writes into the database file from another thread, so the WAL stays small and no commit checkpoints', async () => {
    folder = mkdtempSync(join(tmpdir(), 'surge-checkpoint-'));
    const file = join(folder, 'surge.db');
    db = await openDatabase(file);
    await sql`create table blobs (id integer primary key, body blob not null)`.execute(db);
    // The writer itself never checkpoints: that is the background thread's job.
    expect((await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(db)).rows[0]?.wal_autocheckpoint).toBe(0);

    // 48 MiB in 96 commits of 512 KiB, with pauses a server would have between requests.
    const body = new Uint8Array(512 * 1024).fill(7);
    let largestWal = 0;
    for (let commit = 0; commit < 96; commit++) {
      await writeTransaction(db, (trx) => sql`insert into blobs (body) values (${body})`.execute(trx));
      largestWal = Math.max(largestWal, statSync(`${file}-wal`).size);
      if (commit % 8 === 7) await pause(300);
    }
    await pause(600);
    expect(statSync(file).size).toBeGreaterThan(40 * kMiB);
    // Without checkpoints the WAL would hold all 48 MiB.
    expect(largestWal).toBeLessThan(24 * kMiB);

    // Closed, the thread's connection first: the writer, last to close, empties and removes the WAL.
    await db.destroy();
    expect(existsSync(`${file}-wal`)).toBe(false);
    // Every write is there when the database is opened again.
    db = await openDatabase(file);
    const count = await sql<{ count: number }>`select count(*) as count from blobs`.execute(db);
    expect(count.rows[0]?.count).toBe(96);
  });
});
