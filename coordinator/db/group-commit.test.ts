import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase, readerOf } from './database.ts';
import { writeTransaction } from './group-commit.ts';
import { runPrepared } from './run-prepared.ts';

let folder: string;
let db: Db;

afterEach(async () => {
  await db.destroy();
  rmSync(folder, { recursive: true, force: true });
});

function host(owner: string) {
  return { owner, streak: 0, quota: 10, day: 0, leased_today: 0, probation: 0, invalid_results: 0, created_at: 0 };
}

describe('write transactions on SQLite', () => {
  it('runs requests that arrive together in one group, and a failing one loses only its own writes', async () => {
    folder = mkdtempSync(join(tmpdir(), 'surge-group-'));
    db = await openDatabase(join(folder, 'surge.db'));
    const owners = Array.from({ length: 20 }, (_, i) => `0x${i.toString(16).padStart(40, '0')}`);
    const outcomes = await Promise.allSettled(
      owners.map((owner, i) =>
        writeTransaction(db, async (trx) => {
          await trx.insertInto('hosts').values(host(owner)).execute();
          await trx.updateTable('hosts').set({ streak: i }).where('owner', '=', owner).execute();
          if (i === 7) throw new Error('request 7 fails after writing');
          // A duplicate key fails in the database itself: only this request is undone.
          if (i === 12) await trx.insertInto('hosts').values(host(owners[0]!)).execute();
          return i;
        }),
      ),
    );
    expect(outcomes.map((outcome) => outcome.status)).toEqual(owners.map((_, i) => (i === 7 || i === 12 ? 'rejected' : 'fulfilled')));
    expect(outcomes[7]).toMatchObject({ reason: new Error('request 7 fails after writing') });
    expect(outcomes[3]).toEqual({ status: 'fulfilled', value: 3 });
    const kept = await db.selectFrom('hosts').select(['owner', 'streak']).orderBy('streak').execute();
    expect(kept).toEqual(owners.map((owner, i) => ({ owner, streak: i })).filter((_, i) => i !== 7 && i !== 12));
  });

  it('undoes the writes of a request that fails alone, and the next request goes on', async () => {
    folder = mkdtempSync(join(tmpdir(), 'surge-group-'));
    db = await openDatabase(join(folder, 'surge.db'));
    const failing = writeTransaction(db, async (trx) => {
      await trx.insertInto('hosts').values(host('0x01')).execute();
      throw new Error('fails after writing');
    });
    await expect(failing).rejects.toThrow('fails after writing');
    const duplicate = writeTransaction(db, async (trx) => {
      await trx.insertInto('hosts').values(host('0x02')).execute();
      await trx.insertInto('hosts').values(host('0x02')).execute();
    });
    await expect(duplicate).rejects.toThrow(/UNIQUE/);
    await writeTransaction(db, (trx) => trx.insertInto('hosts').values(host('0x03')).execute());
    expect((await db.selectFrom('hosts').select('owner').execute()).map((row) => row.owner)).toEqual(['0x03']);
  });

  it('keeps what it answered for: the rows are there in a database opened afresh', async () => {
    folder = mkdtempSync(join(tmpdir(), 'surge-group-'));
    const file = join(folder, 'surge.db');
    db = await openDatabase(file);
    await Promise.all(['0x01', '0x02', '0x03'].map((owner) => writeTransaction(db, (trx) => trx.insertInto('hosts').values(host(owner)).execute())));
    const reopened = await openDatabase(file);
    expect((await reopened.selectFrom('hosts').select('owner').orderBy('owner').execute()).map((row) => row.owner)).toEqual(['0x01', '0x02', '0x03']);
    await reopened.destroy();
  });

  describe('statements built once (run-prepared.ts), which run on the connection directly inside a group', () => {
    const insertHost = (handle: Db, owner: string) =>
      runPrepared(handle, 'test-insert-host', host(owner), (values) => handle.insertInto('hosts').values(values));
    const owners = async (handle: Db) =>
      (await runPrepared(handle, 'test-owners', {}, () => handle.selectFrom('hosts').select('owner').orderBy('owner'))).rows.map((row) => row.owner);

    it('undo with the request that ran them, alone or in a group', async () => {
      folder = mkdtempSync(join(tmpdir(), 'surge-group-'));
      db = await openDatabase(join(folder, 'surge.db'));
      const failing = (owner: string) =>
        writeTransaction(db, async (trx) => {
          await insertHost(trx, owner);
          throw new Error(`${owner} fails after writing`);
        });
      await expect(failing('0x01')).rejects.toThrow('0x01 fails');
      const group = await Promise.allSettled([
        writeTransaction(db, (trx) => insertHost(trx, '0x02')),
        failing('0x03'),
        writeTransaction(db, (trx) => insertHost(trx, '0x04')),
      ]);
      expect(group.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(await owners(db)).toEqual(['0x02', '0x04']);
    });

    it('on the database itself wait for the open transaction, and are not undone with it', async () => {
      folder = mkdtempSync(join(tmpdir(), 'surge-group-'));
      db = await openDatabase(join(folder, 'surge.db'));
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let written!: () => void;
      const insideWritten = new Promise<void>((resolve) => (written = resolve));
      const failing = writeTransaction(db, async (trx) => {
        await insertHost(trx, '0x01');
        written();
        await released;
        throw new Error('fails after writing');
      });
      await insideWritten;
      // Run on the writing connection now, this insert would be part of the transaction above and undone with it.
      const outside = insertHost(db, '0x02');
      release();
      await expect(failing).rejects.toThrow('fails after writing');
      await outside;
      expect(await owners(db)).toEqual(['0x02']);
    });

    it('on the reading handle see the last commit, not the writes of a transaction still open', async () => {
      folder = mkdtempSync(join(tmpdir(), 'surge-group-'));
      db = await openDatabase(join(folder, 'surge.db'));
      const seenInside = await writeTransaction(db, async (trx) => {
        await insertHost(trx, '0x01');
        return { byReader: await owners(readerOf(db)), byTransaction: await owners(trx) };
      });
      expect(seenInside).toEqual({ byReader: [], byTransaction: ['0x01'] });
      expect(await owners(readerOf(db))).toEqual(['0x01']);
    });
  });
});
