import type { QueryResult, SqliteDatabase } from 'kysely';

/**
 * The SQLite connections that prepared statements (run-prepared.ts) may run on directly, by
 * the handle that owns them: the read-only connection's handle, and each group-commit
 * transaction's handle while it is open. Kysely runs a query through a chain of async
 * functions (connection provider, executor, driver) that on the coordinator's hot path made
 * about a fifth of its garbage; better-sqlite3 runs a statement synchronously, so for these
 * handles nothing of that chain is needed.
 *
 * Only handles that hold their connection may be here: the writer's root handle may not, as a
 * statement run on it directly would land inside whatever transaction is open on that
 * connection (Kysely makes it wait for its turn).
 */
const connections = new WeakMap<object, SqliteDatabase>();

/** Lets statements run on `handle` go to `connection` directly, until `revokeConnection`. */
export function lendConnection(handle: object, connection: SqliteDatabase): void {
  connections.set(handle, connection);
}

/** Statements on `handle` go through Kysely again (its transaction has ended). */
export function revokeConnection(handle: object): void {
  connections.delete(handle);
}

/**
 * Runs `sql` with `parameters` on the connection lent to `handle`, with the result Kysely's
 * SQLite driver would give; undefined when `handle` has no connection lent.
 */
export function runDirectly<Row>(handle: object, sql: string, parameters: readonly unknown[]): QueryResult<Row> | undefined {
  const connection = connections.get(handle);
  if (!connection) return undefined;
  const statement = connection.prepare(sql);
  if (statement.reader) return { rows: statement.all(parameters) as Row[] };
  const { changes, lastInsertRowid } = statement.run(parameters);
  return {
    numAffectedRows: changes !== undefined && changes !== null ? BigInt(changes) : undefined,
    insertId: lastInsertRowid !== undefined && lastInsertRowid !== null ? BigInt(lastInsertRowid) : undefined,
    rows: [],
  };
}
