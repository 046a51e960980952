import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** How often the background thread copies the WAL back into the database file. */
const kCheckpointEveryMs = 100;
/** WAL pages after which a commit checkpoints what is left (SQLite's default): what bounds the WAL. */
const kAutocheckpointPages = 1000;
/** How long closing the database waits for the thread to close its connection. */
const kStopWaitMs = 2000;

/** The thread's state, in a shared Int32Array: its connection not yet open (0), open, or closed. */
const kOpen = 1;
const kClosed = 2;

// Plain JavaScript, run with `eval`: a worker file would need the TypeScript loader in the
// worker too. It opens its own connection to the same file and runs a PASSIVE checkpoint
// (which never waits for, or blocks, the writer or readers) on a timer. It reports a failure
// once (not every tick), and on 'stop' closes its connection and says so through `state`.
const kWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const state = new Int32Array(workerData.state);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
Atomics.store(state, 0, ${kOpen});
let failing = false;
const checkpoint = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
  } catch (error) {
    if (!failing) parentPort.postMessage({ failed: String((error && error.message) || error) });
    failing = true;
  }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', (message) => {
  if (message !== 'stop') return;
  clearInterval(timer);
  db.close();
  Atomics.store(state, 0, ${kClosed});
  Atomics.notify(state, 0);
  parentPort.close();
});
`;

export interface Checkpointer {
  /**
   * Closes the thread's connection (waiting up to 2 s for it, if it is open), so that the
   * writer, closed next, is the last one and checkpoints and removes the WAL itself. Safe to
   * call twice.
   */
  stop(): void;
}

/**
 * Copies the WAL back into the database file from a worker thread. SQLite's own checkpoint runs
 * inside the COMMIT that takes the WAL past 1,000 pages: that commit copies every page back and
 * waits for an fsync, tens of milliseconds during which the coordinator serves no request (the
 * lease p99). Here a worker thread with its own connection runs a PASSIVE checkpoint every
 * 100 ms, so by the time a commit reaches 1,000 pages almost all of them are already copied and
 * its checkpoint has little left to do.
 *
 * The writer keeps its own checkpoint all the same. A checkpoint from another connection cannot
 * finish while commits keep coming (new pages arrive while it copies), and the WAL only starts
 * over after one that finished: without the writer's, the WAL grew by 15 MB a second under load.
 */
export function startCheckpointer(writer: SqliteDatabase.Database, file: string, driver: string): Checkpointer {
  writer.pragma(`wal_autocheckpoint = ${kAutocheckpointPages}`);
  const state = new Int32Array(new SharedArrayBuffer(4));
  // No execArgv: the parent's (a TypeScript loader, a profiler) would only slow the thread's start.
  const worker = new Worker(kWorkerSource, { eval: true, execArgv: [], workerData: { file, driver, everyMs: kCheckpointEveryMs, state: state.buffer } });
  worker.unref();
  let stopped = false;
  worker.on('message', (message: { failed?: string }) => {
    if (message.failed && !stopped) process.emitWarning(`Surge: a background WAL checkpoint failed (commits still checkpoint): ${message.failed}`);
  });
  // A thread that starts after the database closed (and perhaps its folder went) fails to open it: nothing lost.
  worker.on('error', (error) => {
    if (!stopped) process.emitWarning(`Surge: the WAL checkpoint thread stopped (commits still checkpoint): ${error.message}`);
  });
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      worker.postMessage('stop');
      // A thread whose connection is not open yet closes it when it reads 'stop'; one that failed never opened it.
      if (Atomics.load(state, 0) === kOpen) Atomics.wait(state, 0, kOpen, kStopWaitMs);
    },
  };
}
