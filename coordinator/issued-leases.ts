import type { Db } from './db/database.ts';
import type { LeaseFacts } from './result-intake.ts';

/** The most leases remembered for one database: about 40 MB, and more than 2,000 clients × 32 hold at once. */
const kMaxRemembered = 131_072;

/**
 * The facts of the leases this process issued lately, so that a batch of results for them
 * need not read its leases back before judging. The read-only connection starts every read
 * after a commit with a cold page cache (WAL), and reading a batch's 32 leases with their units
 * took about 250 µs under load. Only what never changes is kept (`LeaseFacts`): the batch's
 * transaction reads the states again. A lease not found here (issued by another process,
 * forgotten, or a canary, which is never kept) is read from the database as before; so this is
 * no state that another process needs.
 */
export class IssuedLeases {
  readonly #facts = new Map<string, LeaseFacts>();

  /** Keeps these leases' facts (call once their transaction has committed), forgetting the oldest past the limit. */
  remember(leases: readonly LeaseFacts[]): void {
    for (const lease of leases) this.#facts.set(lease.id, lease);
    for (const oldest of this.#facts.keys()) {
      if (this.#facts.size <= kMaxRemembered) break;
      this.#facts.delete(oldest);
    }
  }

  /** The facts known here of these leases (lowercase ids), and the ids that must be read from the database. */
  recall(ids: readonly string[]): { known: LeaseFacts[]; unknown: string[] } {
    const known: LeaseFacts[] = [];
    const unknown: string[] = [];
    for (const id of ids) {
      const facts = this.#facts.get(id);
      if (facts) known.push(facts);
      else unknown.push(id);
    }
    return { known, unknown };
  }

  /** Drops leases whose results were judged: another result for them reads the database. */
  forget(ids: readonly string[]): void {
    for (const id of ids) this.#facts.delete(id);
  }

  get size(): number {
    return this.#facts.size;
  }
}

const byDatabase = new WeakMap<Db, IssuedLeases>();

/** The leases issued through this database handle (the writer's), made on first use. */
export function issuedLeasesOf(db: Db): IssuedLeases {
  let issued = byDatabase.get(db);
  if (!issued) {
    issued = new IssuedLeases();
    byDatabase.set(db, issued);
  }
  return issued;
}
