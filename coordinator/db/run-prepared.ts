import { type Compilable, CompiledQuery, type Kysely, type QueryResult } from 'kysely';
import { runDirectly } from './direct-connections.ts';
import type { Database } from './schema.ts';

/**
 * Statements built once. Kysely's builders make a new tree of frozen nodes for every
 * statement and compile it to SQL again, which on the coordinator's hot path cost more CPU
 * than SQLite took to run the statement (docs/decisions/0014-prepared-statements.md). A
 * statement run for every lease and every batch is built once per shape (its name and the
 * lengths of its lists) with stand-ins for its values; later runs only put the new values in
 * place of the stand-ins, in the order the compiled SQL wants them.
 *
 * Every value must come in through `values`: a value the builder takes from elsewhere (a
 * variable around it, a literal) would be kept in the SQL of the first run for good, so a
 * statement that binds one, or has one written into its SQL, is refused when it is built.
 * What no check can see is a name taken from a variable (`orderBy(column)`, `sql.raw`). The builder must not decide anything
 * from a value either (it sees stand-ins, whose arithmetic and comparisons throw); what is
 * decided from values belongs in `values` already decided, or in `name`.
 */

/** The stand-in for one value while a statement is built. */
class Slot {
  constructor(
    readonly index: number,
    readonly statement: string,
  ) {}

  [Symbol.toPrimitive](): never {
    throw new Error(`The prepared statement ${this.statement} computed with one of its values while it was built: compute it before, and pass it in.`);
  }
}

interface PreparedStatement {
  sql: string;
  /** For each parameter of the SQL, the index of the value that goes there. */
  order: readonly number[];
}

/** Shapes kept per dialect: lists of every length up to a batch's limit make many; the oldest goes first past this. */
const kMaxPrepared = 5000;

/** Statements by the dialect adapter's class (their SQL is the dialect's), then by name and shape. */
const prepared = new WeakMap<object, Map<string, PreparedStatement>>();

/**
 * Runs the statement `build` makes from `values`, building and compiling it only the first
 * time this name sees values of this shape. `values` is a tree of arrays and plain objects
 * whose leaves are the statement's values; `undefined` leaves are left out of statements by
 * Kysely, so they are part of the shape, not values.
 */
export async function runPrepared<Values, Row>(
  db: Kysely<Database>,
  name: string,
  values: Values,
  build: (values: Values) => Compilable<Row>,
): Promise<QueryResult<Row>> {
  const dialect = db.getExecutor().adapter.constructor;
  let byKey = prepared.get(dialect);
  if (!byKey) {
    byKey = new Map();
    prepared.set(dialect, byKey);
  }
  const leaves: unknown[] = [];
  const shape = shapeOf(values, leaves);
  const key = `${name} ${shape}`;
  let statement = byKey.get(key);
  if (!statement) {
    statement = compile(name, values, build);
    if (byKey.size >= kMaxPrepared) byKey.delete(byKey.keys().next().value!);
    byKey.set(key, statement);
  }
  const parameters = statement.order.map((index) => leaves[index]);
  // On a connection the handle holds (a group commit's transaction, the read-only connection), straight to SQLite.
  return runDirectly<Row>(db, statement.sql, parameters) ?? db.executeQuery<Row>(CompiledQuery.raw(statement.sql, parameters) as CompiledQuery<Row>);
}

function compile<Values, Row>(name: string, values: Values, build: (values: Values) => Compilable<Row>): PreparedStatement {
  let count = 0;
  const standIns = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(standIns);
    if (isPlainObject(value)) return Object.fromEntries(Object.keys(value).map((key) => [key, standIns(value[key])]));
    return value === undefined ? undefined : new Slot(count++, name);
  };
  const compiled = build(standIns(values) as Values).compile();
  // Kysely writes some values into the SQL text instead of binding them (numbers and null in a
  // CASE's then, eb.lit): one of those would be kept from this call for good.
  const written = writtenValue(compiled.query);
  if (written) throw new Error(`The prepared statement ${name} has a value written into its SQL (${String(written.value)}): pass it in its values.`);
  const order = compiled.parameters.map((parameter, position) => {
    if (!(parameter instanceof Slot)) {
      throw new Error(`The prepared statement ${name} has a value (parameter ${position + 1}, ${String(parameter)}) that did not come in through its values.`);
    }
    return parameter.index;
  });
  return { sql: compiled.sql, order };
}

/** A value node of the statement's tree that Kysely writes into the SQL rather than binding, if there is one. */
function writtenValue(node: unknown): { value: unknown } | undefined {
  if (typeof node !== 'object' || node === null) return undefined;
  if (Array.isArray(node)) {
    for (const item of node) {
      const found = writtenValue(item);
      if (found) return found;
    }
    return undefined;
  }
  const record = node as Record<string, unknown>;
  if (record.kind === 'ValueNode' && record.immediate === true) return { value: record.value };
  for (const key of Object.keys(record)) {
    if (record[key] instanceof Slot) continue;
    const found = writtenValue(record[key]);
    if (found) return found;
  }
  return undefined;
}

/** The shape of a values tree as a string (array lengths, object keys, missing values), its leaves appended to `leaves` in order. */
function shapeOf(value: unknown, leaves: unknown[]): string {
  if (Array.isArray(value)) {
    const rows = shapeOfRows(value, leaves);
    if (rows !== undefined) return rows;
    let shape = `[${value.length}`;
    for (const item of value) shape += shapeOf(item, leaves);
    return `${shape}]`;
  }
  if (isPlainObject(value)) {
    let shape = '{';
    for (const key of Object.keys(value)) shape += `${key}:${shapeOf(value[key], leaves)},`;
    return `${shape}}`;
  }
  if (value === undefined) return 'u';
  leaves.push(value);
  return '.';
}

/**
 * The shape of an array of rows that are alike (a bulk insert's, a batch's): plain objects with
 * the same keys in the same order, each holding a value, none an array or object; or of values
 * alone (a list of ids). Worked out from the first row and checked against the others, without
 * building a string per row: shapeOf's general walk made about an eighth of the coordinator's
 * garbage on the hot path. The leaves go in the order the general walk (and `compile`'s
 * stand-ins) would give them. Undefined (and the leaves left as they were) for anything else.
 */
function shapeOfRows(rows: readonly unknown[], leaves: unknown[]): string | undefined {
  const first = rows[0];
  if (rows.length < 2) return undefined;
  if (isLeaf(first)) {
    // A list of values (ids in an `in`): all of them leaves, or the general walk.
    const start = leaves.length;
    for (const value of rows) {
      if (!isLeaf(value)) return restored(leaves, start);
      leaves.push(value);
    }
    return `[${rows.length}x.]`;
  }
  if (!isPlainObject(first)) return undefined;
  const keys = Object.keys(first);
  const start = leaves.length;
  for (const row of rows) {
    if (!isPlainObject(row)) return restored(leaves, start);
    let at = 0;
    for (const key in row) {
      if (key !== keys[at]) return restored(leaves, start);
      const leaf = row[key];
      if (!isLeaf(leaf)) return restored(leaves, start);
      leaves.push(leaf);
      at++;
    }
    if (at !== keys.length) return restored(leaves, start);
  }
  return `[${rows.length}*${JSON.stringify(keys)}]`;
}

/** A value the general walk would take as one leaf: not missing, not an array or plain object. */
function isLeaf(value: unknown): boolean {
  return value !== undefined && !Array.isArray(value) && !isPlainObject(value);
}

/** Drops the leaves pushed since `start`; undefined, so the caller walks the tree the general way. */
function restored(leaves: unknown[], start: number): undefined {
  leaves.length = start;
  return undefined;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
