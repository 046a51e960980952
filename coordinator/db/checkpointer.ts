import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** How often the background thread copies the WAL back into the database file. */
const kCheckpointEveryMs = 250;
/** WAL pages a commit checkpoints itself after, if the background thread is gone (SQLite's default). */
const kFallbackAutocheckpointPages = 1000;

/** How long closing the database waits for the thread to close its connection. */
const kStopWaitMs = 2000;

// Plain JavaScript, run with `eval`: a worker file would need the TypeScript loader in the
// worker too. It opens its own connection to the same file and runs a PASSIVE checkpoint
// (which never waits for, or blocks, the writer or readers) on a timer. It reports a failure
// once (not every tick), and on 'stop' closes its connection and says so through `closed`.
const kWorkerSource = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const closed = new Int32Array(workerData.closed);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
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
  Atomics.store(closed, 0, 1);
  Atomics.notify(closed, 0);
  parentPort.close();
});
`;

export interface Checkpointer {
  /**
   * Closes the thread's connection (waiting up to 2 s for it), so that the writer, closed next,
   * is the last one and checkpoints and removes the WAL itself. Safe to call twice.
   */
  stop(): void;
}

/**
 * Takes WAL checkpoints off the coordinator's thread. By default SQLite checkpoints inside the
 * COMMIT that takes the WAL past 1,000 pages: that commit copies them all back into the
 * database file and waits for an fsync, tens of milliseconds during which no request is served
 * (the lease p99). Here the writer never checkpoints (`wal_autocheckpoint = 0`) and a worker
 * thread with its own connection does, every 250 ms. If the thread fails, the writer goes back
 * to checkpointing itself, so the WAL never grows without bound.
 */
export function startCheckpointer(writer: SqliteDatabase.Database, file: string, driver: string): Checkpointer {
  const closed = new SharedArrayBuffer(4);
  const worker = new Worker(kWorkerSource, { eval: true, workerData: { file, driver, everyMs: kCheckpointEveryMs, closed } });
  worker.unref();
  writer.pragma('wal_autocheckpoint = 0');
  let stopped = false;
  let exited = false;
  const fallBack = () => {
    exited = true;
    if (!stopped && writer.open) writer.pragma(`wal_autocheckpoint = ${kFallbackAutocheckpointPages}`);
  };
  worker.on('message', (message: { failed?: string }) => {
    if (message.failed) process.emitWarning(`Surge: a background WAL checkpoint failed: ${message.failed}`);
  });
  worker.on('error', fallBack);
  worker.on('exit', fallBack);
  return {
    stop() {
      if (stopped) return;
      stopped = true;
      if (exited) return;
      worker.postMessage('stop');
      Atomics.wait(new Int32Array(closed), 0, 0, kStopWaitMs);
    },
  };
}
