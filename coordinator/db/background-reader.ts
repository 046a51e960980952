import { Worker } from 'node:worker_threads';
import type { CompiledQuery } from 'kysely';

// The thread's state, in memory both sides share: it opens only from kStarting, so a stop that
// comes first (kStopping) keeps it from opening the file after the writer has closed.
const kStarting = 0;
const kOpen = 1;
const kClosed = 2;
const kOpening = 3;
const kStopping = 4;
const kFailed = 5;
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
// A stop that came first: the file is never opened.
if (Atomics.compareExchange(state, 0, ${kStarting}, ${kOpening}) !== ${kStarting}) parentPort.close();
else serve();
function serve() {
  let db;
  try {
    db = new Database(workerData.file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (error) {
    Atomics.store(state, 0, ${kFailed});
    Atomics.notify(state, 0);
    throw error;
  }
  Atomics.store(state, 0, ${kOpen});
  Atomics.notify(state, 0);
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
}
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
  /** When the next read may start (performance.now()), and the read before it: see query(). */
  #restUntil = 0;
  #previous: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly driver: string,
  ) {}

  /**
   * The rows of a compiled (read-only) query. Reads run one at a time, and each rests, before it
   * starts, for as long as the one before it took: a read holds a snapshot, and while it does the
   * WAL cannot be copied back past it and start over, so reads back to back (many dashboards, a
   * large ledger) would let it grow without end. Resting as long as it read leaves the checkpoints
   * at least half the time.
   */
  query<Row>(compiled: CompiledQuery<Row>): Promise<Row[]> {
    const read = this.#previous.then(() => this.#read(compiled));
    this.#previous = read.then(
      () => undefined,
      () => undefined,
    );
    return read;
  }

  async #read<Row>(compiled: CompiledQuery<Row>): Promise<Row[]> {
    const rest = this.#restUntil - performance.now();
    if (rest > 0) await new Promise((resume) => setTimeout(resume, rest));
    if (this.#closed) throw new Error('the database is closed');
    const thread = this.#started();
    const id = this.#nextId++;
    const started = performance.now();
    try {
      return await new Promise<Row[]>((resolve, reject) => {
        if (thread.waiting.size === 0) thread.worker.ref();
        thread.waiting.set(id, { resolve: resolve as (rows: unknown[]) => void, reject });
        try {
          thread.worker.postMessage({ id, sql: compiled.sql, parameters: compiled.parameters });
        } catch (error) {
          // A value a message cannot carry: this read fails alone.
          thread.waiting.delete(id);
          if (thread.waiting.size === 0) thread.worker.unref();
          reject(error);
        }
      });
    } finally {
      const ended = performance.now();
      this.#restUntil = ended + (ended - started);
    }
  }

  /**
   * Closes the thread's connection, so that the writer, closed after it, is the file's last: a
   * thread that has not opened it yet never will, and an open one is waited for up to
   * kStopWaitMs. False when that ran out (a read still going): the connection may still be open,
   * and the thread is ended as soon as its read returns.
   */
  stop(): boolean {
    this.#closed = true;
    const thread = this.#thread;
    this.#thread = undefined;
    if (!thread) return true;
    const { state, worker } = thread;
    this.#fail(thread, new Error('the database is closed'));
    if (Atomics.compareExchange(state, 0, kStarting, kStopping) === kStarting) {
      void worker.terminate();
      return true;
    }
    if (Atomics.load(state, 0) === kOpening) Atomics.wait(state, 0, kOpening, kStopWaitMs);
    if (Atomics.load(state, 0) === kOpen) {
      worker.postMessage('stop');
      Atomics.wait(state, 0, kOpen, kStopWaitMs);
    }
    const closed = Atomics.load(state, 0) !== kOpen && Atomics.load(state, 0) !== kOpening;
    if (!closed) void worker.terminate();
    return closed;
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
