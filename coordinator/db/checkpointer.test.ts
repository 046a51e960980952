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

async function freshDatabase(): Promise<{ db: Db; file: string }> {
  folder = mkdtempSync(join(tmpdir(), 'surge-checkpoint-'));
  const file = join(folder, 'surge.db');
  db = await openDatabase(file);
  await sql`create table blobs (id integer primary key, body blob not null)`.execute(db);
  return { db, file };
}

describe('WAL checkpoints on SQLite', () => {
  it('copies commits into the database file from another thread, before any commit would checkpoint them', async () => {
    const { db, file } = await freshDatabase();
    const before = statSync(file).size;
    // 2 MiB: 512 pages, well under the 24,000 after which writes wait for a checkpoint.
    const body = new Uint8Array(512 * 1024).fill(7);
    for (let commit = 0; commit < 4; commit++) await writeTransaction(db, (trx) => sql`insert into blobs (body) values (${body})`.execute(trx));
    await expect.poll(() => statSync(file).size - before, { timeout: 5_000 }).toBeGreaterThanOrEqual(2 * kMiB);
  });

  it('starts the WAL over while commits come back to back, without the writer checkpointing, and removes it on close with every write kept', async () => {
    const { db: open, file } = await freshDatabase();
    // 224 MiB in 224 commits of 1 MiB, with no pause in which a checkpoint could catch up.
    // Writes wait for the thread at 24,000 frames (about 94 MiB); the writer's own checkpoint
    // would only run at twice that, so a WAL under 98 MiB means the waits bounded it.
    const body = new Uint8Array(kMiB).fill(9);
    let largestWal = 0;
    for (let commit = 0; commit < 224; commit++) {
      await writeTransaction(open, (trx) => sql`insert into blobs (body) values (${body})`.execute(trx));
      largestWal = Math.max(largestWal, statSync(`${file}-wal`).size);
    }
    expect(largestWal).toBeLessThan(98 * kMiB);
    expect(statSync(file).size).toBeGreaterThan(140 * kMiB);

    // The thread's connection closes first: the writer, last to close, empties and removes the WAL.
    await open.destroy();
    expect(existsSync(`${file}-wal`)).toBe(false);
    db = await openDatabase(file);
    const count = await sql<{ count: number }>`select count(*) as count from blobs`.execute(db);
    expect(count.rows[0]?.count).toBe(224);
  });
});
