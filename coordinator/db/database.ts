import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { type Compilable, type CompiledQuery, Kysely, PostgresDialect, type SqliteDatabase as SqliteConnection, SqliteDialect, type Transaction } from 'kysely';
import pg from 'pg';
import { BackgroundReader } from './background-reader.ts';
import { type Checkpointer, startCheckpointer } from './checkpointer.ts';
import { lendConnection, revokeConnection } from './direct-connections.ts';
import { migrateToLatest } from './migrations.ts';
import type { Database } from './schema.ts';
import { withStatementCache } from './statement-cache.ts';

export type Db = Kysely<Database>;
export type DatabaseDialect = 'sqlite' | 'postgres';

const dialects = new WeakMap<Db, DatabaseDialect>();

/**
 * 8 MiB of page cache per SQLite connection (the default is 2 MiB; negative means KiB). The hot
 * pages fit: new leases and credits go to the right edge of their time-ordered keys, and the
 * units being leased are next to each other. More is slower: at 64 MiB, SQLite's sweeps of
 * the cache's hash table (pcache1TruncateUnsafe) took about 3% of the coordinator's time under
 * load, and 0.8% at 8 MiB, with no more reads from the file (docs/decisions/0014).
 */
const kCacheKiB = -8192;

/** Which engine is behind a database handle: the few queries that differ ask this. */
export function dialectOf(db: Db): DatabaseDialect {
  return dialects.get(db) ?? 'sqlite';
}

export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//.test(location);
}

// PostgreSQL's int8 (bigint, count(*)) comes back from pg as a string; every such value here
// (timestamps in ms, credit, counts) is well inside 2⁵³, so read it as a number.
pg.types.setTypeParser(20, (value) => Number(value));

/**
 * Opens the coordinator's database and migrates it to the newest schema: an SQLite file
 * (made with its folder; WAL, so readers never wait for the writer) by default, or PostgreSQL
 * when `location` is a postgres:// URL, which several coordinator processes can share.
 */
export async function openDatabase(location: string): Promise<Db> {
  let db: Db;
  if (isPostgresUrl(location)) {
    const pool = new pg.Pool({ connectionString: location, max: 10 });
    // An idle connection the server ends (a restart, a failover, an administrator) is dropped
    // from the pool and the next query opens another; unhandled, its error would end the process.
    pool.on('error', () => {});
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    dialects.set(db, 'postgres');
  } else {
    if (location !== ':memory:') mkdirSync(dirname(location), { recursive: true });
    const sqlite = new SqliteDatabase(location);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 5000');
    sqlite.pragma(`cache_size = ${kCacheKiB}`);
    // Statement and savepoint journals in memory: on disk each page they keep was a write call.
    sqlite.pragma('temp_store = MEMORY');
    const writer = withStatementCache(sqlite);
    const onDisk = location !== ':memory:';
    const reader = onDisk ? new SqliteDatabase(location, { readonly: true }) : undefined;
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const checkpointer = onDisk ? startCheckpointer(sqlite, location, driver) : undefined;
    const background = onDisk ? new BackgroundReader(location, driver) : undefined;
    db = new Kysely<Database>({
      dialect: new SqliteDialect({
        database: {
          prepare: (text) => writer.prepare(text),
          close: () => {
            // A background read that outlasted the wait may still hold its connection: the -shm
            // handle then stays open, as closing it would drop that connection's locks.
            const backgroundClosed = background?.stop() ?? true;
            checkpointer?.stop();
            reader?.close();
            writer.close();
            if (backgroundClosed) checkpointer?.release();
          },
        },
      }),
    });
    dialects.set(db, 'sqlite');
    writers.set(db, writer);
    if (checkpointer) checkpointers.set(db, checkpointer);
    if (background) backgroundReaders.set(db, background);
    await migrateToLatest(db, 'sqlite');
    if (reader) {
      reader.pragma(`cache_size = ${kCacheKiB}`);
      reader.pragma('busy_timeout = 5000');
      const readConnection = withStatementCache(reader);
      const readHandle = new Kysely<Database>({ dialect: new SqliteDialect({ database: readConnection }) });
      // Reads only, no transactions: its statements can run on the connection directly (direct-connections.ts).
      lendConnection(readHandle, readConnection);
      readers.set(db, readHandle);
    }
    return db;
  }
  await migrateToLatest(db, dialectOf(db));
  return db;
}

const readers = new WeakMap<Db, Db>();
const writers = new WeakMap<Db, SqliteConnection>();
const backgroundReaders = new WeakMap<Db, BackgroundReader>();
const checkpointers = new WeakMap<Db, Checkpointer>();

/**
 * What a write transaction waits for first: on an SQLite file whose WAL has grown long, the
 * checkpoint thread copying it back, so that the transaction starts the WAL over
 * (checkpointer.ts); otherwise undefined, and it goes on at once.
 */
export function walCheckpointWait(db: Db): Promise<void> | undefined {
  return checkpointers.get(db)?.beforeWrite();
}

/**
 * Runs `work` in a transaction on an SQLite database's writing connection, with the
 * statements it prepares (run-prepared.ts) run on that connection directly while the
 * transaction is open (direct-connections.ts): the group commit's transactions.
 */
export function sqliteTransaction<T>(db: Db, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    const connection = writers.get(db);
    if (connection) lendConnection(trx, connection);
    try {
      return await work(trx);
    } finally {
      revokeConnection(trx);
    }
  });
}

/**
 * A handle for reads that need not see a transaction in progress: on an SQLite file a second,
 * read-only connection, which (WAL) reads the last commit and never waits for the writer, so
 * requests go on with their checks while a group of writes commits (group-commit.ts); on
 * PostgreSQL (and SQLite in memory) the database itself. Closed with the database.
 */
export function readerOf(db: Db): Db {
  return readers.get(db) ?? db;
}

/**
 * The rows of a read that scans much of a large table: on an SQLite file, run on the background
 * read thread (background-reader.ts), so the event loop goes on meanwhile; on PostgreSQL (whose
 * queries never hold the event loop) and SQLite in memory, by the reading handle here.
 */
export async function backgroundRows<Row>(db: Db, query: Compilable<Row> | CompiledQuery<Row>): Promise<Row[]> {
  const compiled = 'compile' in query ? query.compile() : query;
  const background = backgroundReaders.get(db);
  if (background) return background.query(compiled);
  return (await readerOf(db).executeQuery(compiled)).rows;
}
