import { closeSync, openSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { Worker } from 'node:worker_threads';
import type SqliteDatabase from 'better-sqlite3';

/** How often the background thread copies the WAL back into the database file while commits go on. */
const kCheckpointEveryMs = 100;
/**
 * WAL frames (pages) after which writes wait for the thread to finish a checkpoint, so that
 * the next commit starts the WAL over: what bounds the WAL (96 MiB of 4 KiB pages). Each wait
 * lasts about as long whatever the size (two fsyncs and the last 100 ms of pages: about 20 ms
 * on the 2-core VM the benchmarks ran on), so a larger WAL waits less often. At 5,000 results a
 * second the writes then wait once every 3 to 4 s, 0.6% of the time, and fewer than 1% of
 * leases meet a wait, which keeps the waits out of the lease p99: at 8,000 frames they came
 * about once a second, 1.8% of the time, and 2.7% of leases met one (decision 0016).
 */
const kRestartFrames = 24_000;
/**
 * The writer's own checkpoint, which runs inside a COMMIT on the event loop: only a backstop,
 * reached if the thread is gone or cannot finish (a reader holding an old snapshot).
 */
const kBackstopPages = 2 * kRestartFrames;
/** How long writes wait for the thread's checkpoint at most before going on anyway. */
const kCatchUpWaitMs = 1000;
/** How long after a checkpoint that could not finish writes go on before waiting for another. */
const kRetryAfterMs = kCheckpointEveryMs;
/** How long closing the database waits for the thread to close its connection. */
const kStopWaitMs = 2000;

/** The thread's state, in a shared Int32Array: its connection not yet open (0), open, or closed. */
const kOpen = 1;
const kClosed = 2;

// Plain JavaScript, run with `eval`: a worker file would need the TypeScript loader in the
// worker too. It opens its own connection to the same file and runs a PASSIVE checkpoint
// (which never waits for, or blocks, the writer or readers) on a timer, and at once when asked
// to catch up, answering whether the whole WAL is now in the database file. It reports a
// failure once (not every tick), and on 'stop' closes its connection and says so through `state`.
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
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    failing = false;
    return row.busy === 0 && row.log === row.checkpointed;
  } catch (error) {
    if (!failing) parentPort.postMessage({ failed: String((error && error.message) || error) });
    failing = true;
    return false;
  }
};
const timer = setInterval(checkpoint, workerData.everyMs);
parentPort.on('message', (message) => {
  if (typeof message === 'object' && message !== null && 'catchUp' in message) {
    parentPort.postMessage({ caughtUp: message.catchUp, complete: checkpoint() });
    return;
  }
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
   * Called before each write transaction of the group commit. Undefined (go on) while the WAL
   * is short; once it holds kRestartFrames, a promise that settles when the thread has copied
   * all of it back (or could not, or took too long): the transaction that follows starts the
   * WAL over. Never rejects.
   */
  beforeWrite(): Promise<void> | undefined;
  /**
   * Closes the thread's connection (waiting up to 2 s for it, if it is open), so that the
   * writer, closed next, is the last one and checkpoints and removes the WAL itself. Safe to
   * call twice.
   */
  stop(): void;
  /**
   * Closes this side's handle on the WAL index, once every connection of this process is
   * closed: closing any handle on a file drops all of the process's POSIX locks on it, SQLite's
   * included, so before then another process could rebuild the index under ours.
   */
  release(): void;
}

/**
 * Copies the WAL back into the database file from a worker thread, so that no COMMIT on the
 * event loop copies pages or waits for an fsync. SQLite's own checkpoint runs inside the
 * COMMIT that takes the WAL past its threshold: that commit copies what is left back and waits
 * for two fsyncs, about 12 ms during which the coordinator serves no request (the lease p99).
 *
 * Here a worker thread with its own connection runs a PASSIVE checkpoint every 100 ms. Such a
 * checkpoint never finishes while commits keep coming (new pages arrive while it copies), and
 * the WAL only starts over after one that finished: so once the WAL holds 24,000 frames, the
 * group commit waits, without blocking the event loop, while the thread finishes one (it has
 * only the last 100 ms of pages left to copy). The next commit then starts the WAL over.
 * Requests go on being parsed, checked and read meanwhile; only writes wait.
 *
 * The writer keeps its own checkpoint, at twice that size, for when the thread is gone.
 */
export function startCheckpointer(writer: SqliteDatabase.Database, file: string, driver: string): Checkpointer {
  writer.pragma(`wal_autocheckpoint = ${kBackstopPages}`);
  const state = new Int32Array(new SharedArrayBuffer(4));
  // No execArgv: the parent's (a TypeScript loader, a profiler) would only slow the thread's start.
  const worker = new Worker(kWorkerSource, { eval: true, execArgv: [], workerData: { file, driver, everyMs: kCheckpointEveryMs, state: state.buffer } });
  worker.unref();
  const walIndex = walIndexReader(file);
  let stopped = false;
  let gone = false;
  // Each request is numbered, and a reply settles only the wait that asked for it: a reply that
  // comes after its wait timed out must not end the next wait before its checkpoint has run.
  let requests = 0;
  let catchingUp: { id: number; promise: Promise<void>; settle: () => void } | undefined;
  let waitUntil = 0;
  const settleCatchUp = () => {
    catchingUp?.settle();
    catchingUp = undefined;
  };
  worker.on('message', (message: { failed?: string; caughtUp?: number; complete?: boolean }) => {
    if (message.failed && !stopped) process.emitWarning(`Surge: a background WAL checkpoint failed (commits still checkpoint): ${message.failed}`);
    if (message.caughtUp !== undefined && message.caughtUp === catchingUp?.id) {
      // A WAL the thread could not finish is left to grow a little before writes wait again.
      if (!message.complete) waitUntil = Date.now() + kRetryAfterMs;
      settleCatchUp();
    }
  });
  // A thread that starts after the database closed (and perhaps its folder went) fails to open it: nothing lost.
  worker.on('error', (error) => {
    if (!stopped) process.emitWarning(`Surge: the WAL checkpoint thread stopped (commits still checkpoint): ${error.message}`);
  });
  worker.on('exit', () => {
    gone = true;
    settleCatchUp();
  });
  return {
    beforeWrite() {
      if (catchingUp) return catchingUp.promise;
      if (stopped || gone || Date.now() < waitUntil || walIndex.frames() < kRestartFrames) return undefined;
      let settle!: () => void;
      const promise = new Promise<void>((resolve) => (settle = resolve));
      const timeout = setTimeout(() => {
        waitUntil = Date.now() + kRetryAfterMs;
        settleCatchUp();
      }, kCatchUpWaitMs);
      const id = ++requests;
      catchingUp = {
        id,
        promise,
        settle: () => {
          clearTimeout(timeout);
          settle();
        },
      };
      worker.postMessage({ catchUp: id });
      return promise;
    },
    stop() {
      if (stopped) return;
      stopped = true;
      settleCatchUp();
      worker.postMessage('stop');
      // A thread whose connection is not open yet closes it when it reads 'stop'; one that failed never opened it.
      if (Atomics.load(state, 0) === kOpen) Atomics.wait(state, 0, kOpen, kStopWaitMs);
    },
    release() {
      walIndex.close();
    },
  };
}

/**
 * The number of frames in the WAL, read from its index (the `-shm` file every connection to
 * the database maps): the header's `mxFrame`, a 32-bit integer in the machine's byte order at
 * byte 16 (https://www.sqlite.org/walformat.html, "The WAL-Index Header"). A few microseconds,
 * and no lock: the writer reads it between its own transactions, when it is current.
 */
function walIndexReader(file: string): { frames(): number; close(): void } {
  const header = Buffer.alloc(20);
  let fd: number | undefined;
  return {
    frames() {
      try {
        fd ??= openSync(`${file}-shm`, 'r');
        if (readSync(fd, header, 0, header.length, 0) < header.length) return 0;
      } catch {
        // No index (yet): nothing to wait for; the writer's own checkpoint still bounds the WAL.
        return 0;
      }
      return endianness() === 'LE' ? header.readUInt32LE(16) : header.readUInt32BE(16);
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
