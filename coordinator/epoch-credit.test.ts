import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { type Db, openDatabase } from './db/database.ts';
import { writeTransaction } from './db/group-commit.ts';
import { addEarned, earnedThisEpoch } from './epoch-credit.ts';
import { createPrimesJob } from './work-generator.ts';

const kHour = 60 * 60 * 1000;
const kDay = 24 * kHour;
const owner = `0x${'ab'.repeat(20)}`;

let folder: string;
let db: Db;

afterEach(async () => {
  await db.destroy();
  rmSync(folder, { recursive: true, force: true });
});

describe("an owner's credit per epoch", () => {
  it('starts a new total from the ledger when the epochs change length, so the cap counts all of the new epoch', async () => {
    folder = mkdtempSync(join(tmpdir(), 'surge-epoch-credit-'));
    db = await openDatabase(join(folder, 'surge.db'));
    await createPrimesJob(db, { name: 'Primes', purpose: 'test', lo: 1e9, hi: 1e9 + 4 * 1024, span: 1024, blockSize: 1024 });
    const day = 20_000 * kDay;
    // Hourly epochs first: 5 credit at 00:30 and 7 at 01:30, each kept in its hour's total.
    const hourly = (at: number) => ({ start: Math.floor(at / kHour) * kHour, ms: kHour });
    for (const [unit, at, amount] of [
      [1, day + kHour / 2, 5],
      [2, day + kHour + kHour / 2, 7],
    ] as const) {
      await writeTransaction(db, async (trx) => {
        await earnedThisEpoch(trx, owner, hourly(at));
        await trx
          .insertInto('credits')
          .values({ unit_id: unit, owner, lease_id: `0x${unit}`, amount, created_at: at })
          .execute();
        await addEarned(trx, owner, hourly(at), amount);
      });
    }
    const earned = (epoch: { start: number; ms: number }) => writeTransaction(db, (trx) => earnedThisEpoch(trx, owner, epoch));
    expect(await earned(hourly(day))).toBe(5);
    expect(await earned(hourly(day + kHour))).toBe(7);
    // Then daily epochs, whose first starts where the first hour did: both hours count.
    expect(await earned({ start: day, ms: kDay })).toBe(12);
    // A credit of the next day is not this day's, whenever the total is first made.
    await db
      .insertInto('credits')
      .values({ unit_id: 3, owner, lease_id: '0x3', amount: 11, created_at: day + kDay + 1 })
      .execute();
    expect(await earned({ start: day, ms: kDay })).toBe(12);
    expect(await earned({ start: day - kDay, ms: 2 * kDay })).toBe(12);
  });
});
