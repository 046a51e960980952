import type SqliteDatabase from 'better-sqlite3';
import type { SqliteDatabase as KyselySqliteDatabase } from 'kysely';

/** Distinct SQL texts kept prepared; `in (?, ?, …)` lists of many lengths are why there is a bound. */
const kMaxStatements = 1000;

/**
 * The better-sqlite3 database as Kysely's SQLite dialect sees it, with prepared statements
 * kept by SQL text. Kysely prepares every query anew, and preparing (parsing and planning)
 * cost more than running most of the coordinator's queries (a profile of the result path
 * showed about a tenth of the process's time in `prepare`). A statement still being
 * iterated (a streamed query) is not reused: that one query gets a fresh statement.
 */
export function withStatementCache(sqlite: SqliteDatabase.Database): KyselySqliteDatabase {
  const statements = new Map<string, SqliteDatabase.Statement>();
  return {
    close: () => sqlite.close(),
    prepare(sql: string) {
      const kept = statements.get(sql);
      if (kept && !kept.busy) return kept;
      const statement = sqlite.prepare(sql);
      if (!kept) {
        if (statements.size >= kMaxStatements) statements.delete(statements.keys().next().value!);
        statements.set(sql, statement);
      }
      return statement;
    },
  };
}
