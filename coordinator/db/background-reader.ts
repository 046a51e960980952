import { Worker } from 'node:worker_threads';
import type { CompiledQuery } from 'kysely';

const kOpen = 1;
const kClosed = 2;
/** How long closing the database waits for the thread to close its connection. */
const kStopWaitMs = 2000;
/** Distinct SQL texts the thread keeps prepared. */
const kMaxStatements = 100;

// Plain JavaScript, run with `eval`, as the checkpoint thread is: a read-only connection to the
// file that runs the SQL it is sent and answers the rows (WAL: it reads the last commit and never
// waits for the writer). On 'stop' it closes its connection and says so through `state`.
const kWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const state = new Int32Array(workerData.state);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
Atomics.store(state, 0, ${kOpen});
const statements = new Map();
parentPort.on('message', (message) => {
  if (message === 'stop') {
    db.close();
    Atomics.store(state, 0, ${kClosed});
    Atomics.notify(state, 0);
    parentPort.close();
    return;
  }
  const { id, sql, parameters } = message;
  try {
    let statement = statements.get(sql);
    if (!statement) {
      if (statements.size >= ${kMaxStatements}) statements.delete(statements.keys().next().value);
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    parentPort.postMessage({ id, rows: statement.all(parameters) });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface Waiting {
  resolve: (rows: unknown[]) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  state: Int32Array;
  waiting: Map<number, Waiting>;
}

/**
 * Reads that scan much of a large table (the dashboard's statistics: the credit ledger grouped by
 * owner and by partner site) on a thread of their own, with its own read-only connection, so
 * that they never stop the event loop that answers leases and results (better-sqlite3 runs a
 * query to its end before it returns). The thread starts on the first query; one that stops
 * fails the queries it held, and the next query starts another.
 */
export class BackgroundReader {
  #thread: Thread | undefined;
  #nextId = 0;
  #closed = false;

  constructor(
    private readonly file: string,
    private readonly driver: string,
  ) {}

  /** The rows of a compiled (read-only) query. */
  query<Row>(compiled: CompiledQuery<Row>): Promise<Row[]> {
    if (this.#closed) return Promise.reject(new Error('the database is closed'));
    const thread = this.#started();
    const id = this.#nextId++;
    return new Promise<Row[]>((resolve, reject) => {
      if (thread.waiting.size === 0) thread.worker.ref();
      thread.waiting.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
      thread.worker.postMessage({ id, sql: compiled.sql, parameters: compiled.parameters });
    });
  }

  /** Closes the thread's connection (waiting up to kStopWaitMs), so that the writer, closed after it, is the file's last. */
  stop(): void {
    this.#closed = true;
    const thread = this.#thread;
    this.#thread = undefined;
    if (!thread) return;
    thread.worker.postMessage('stop');
    if (Atomics.load(thread.state, 0) === kOpen) Atomics.wait(thread.state, 0, kOpen, kStopWaitMs);
    this.#fail(thread, new Error('the database is closed'));
  }

  #started(): Thread {
    if (this.#thread) return this.#thread;
    const state = new Int32Array(new SharedArrayBuffer(4));
    // No execArgv: the parent's (a TypeScript loader, a profiler) would only slow the thread's start.
    const worker = new Worker(kWorkerSource, { eval: true, execArgv: [], workerData: { file: this.file, driver: this.driver, state: state.buffer } });
    const thread: Thread = { worker, state, waiting: new Map() };
    worker.on('message', (reply: { id: number; rows?: unknown[]; error?: string }) => {
      const waiting = thread.waiting.get(reply.id);
      if (!waiting) return;
      thread.waiting.delete(reply.id);
      if (thread.waiting.size === 0) worker.unref();
      if (reply.error !== undefined) waiting.reject(new Error(`a background read failed: ${reply.error}`));
      else waiting.resolve(reply.rows!);
    });
    const stopped = (why: string) => {
      if (this.#thread === thread) this.#thread = undefined;
      this.#fail(thread, new Error(`the background read thread stopped (${why})`));
    };
    worker.on('error', (error) => stopped(error.message));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    // An idle thread never keeps the process alive (after the listeners: adding one refs it again).
    worker.unref();
    this.#thread = thread;
    return thread;
  }

  #fail(thread: Thread, error: Error): void {
    for (const waiting of thread.waiting.values()) waiting.reject(error);
    thread.waiting.clear();
  }
}
