import { sql, type Transaction } from 'kysely';
import { type Db, dialectOf } from './database.ts';
import type { Database } from './schema.ts';

type Work<T> = (trx: Transaction<Database>) => Promise<T>;

interface Waiting {
  work: Work<unknown>;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit for SQLite: write transactions that arrive while one is running are run
 * together, each in its own savepoint, under one COMMIT. SQLite has one writer at a time, so
 * they would have waited anyway; a commit writes every page the transaction changed to the
 * WAL, and the pages several requests share (a job's row, the units and leases indexes) are
 * written once per group instead of once per request. A request that fails rolls back to its
 * savepoint and fails alone; a failed COMMIT fails the whole group, and nothing of it is kept.
 * Each caller's promise settles after the COMMIT, so an answer is never sent for work that
 * could still be lost. A group starts at the end of the event loop's turn; with no other
 * request in that turn it is one transaction, as before.
 */
class GroupCommit {
  private readonly waiting: Waiting[] = [];
  private running = false;
  private scheduled = false;

  constructor(private readonly db: Db) {}

  run<T>(work: Work<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.waiting.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (this.running || this.scheduled) return;
      // Started at the end of this turn of the event loop: every request that arrived in the same
      // turn (SQLite's queries resolve without ever yielding to I/O) reaches here first and joins.
      this.scheduled = true;
      setImmediate(() => {
        this.scheduled = false;
        void this.drain();
      });
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.waiting.length > 0) {
        let group: Waiting[] = [];
        const settled: { ok: boolean; value: unknown }[] = [];
        try {
          await this.db.transaction().execute(async (trx) => {
            // Taken once the transaction holds the connection: every request that queued
            // meanwhile (behind other requests' reads) joins this group.
            group = this.waiting.splice(0);
            for (const { work } of group) {
              await sql`savepoint surge_request`.execute(trx);
              try {
                settled.push({ ok: true, value: await work(trx) });
              } catch (error) {
                await sql`rollback to surge_request`.execute(trx);
                settled.push({ ok: false, value: error });
              }
              await sql`release surge_request`.execute(trx);
            }
          });
        } catch (error) {
          // The transaction could not begin or commit: none of the group is kept.
          if (group.length === 0) group = this.waiting.splice(0);
          for (const { reject } of group) reject(error);
          continue;
        }
        for (const [i, { resolve, reject }] of group.entries()) {
          const outcome = settled[i]!;
          if (outcome.ok) resolve(outcome.value);
          else reject(outcome.value);
        }
      }
    } finally {
      this.running = false;
    }
  }
}

const groups = new WeakMap<Db, GroupCommit>();

/**
 * Runs `work` in a write transaction: grouped with the others waiting on SQLite (see
 * GroupCommit), its own transaction on PostgreSQL, where transactions run side by side on
 * the pool's connections. `work` must not catch its own database errors and go on: a failed
 * statement rolls back only to the request's savepoint.
 */
export function writeTransaction<T>(db: Db, work: Work<T>): Promise<T> {
  if (dialectOf(db) === 'postgres') return db.transaction().execute(work);
  let group = groups.get(db);
  if (!group) {
    group = new GroupCommit(db);
    groups.set(db, group);
  }
  return group.run(work);
}
