import { Worker } from 'node:worker_threads';
import { checkResults, type ResultsCheck, type ResultsChecked } from './results-check.ts';
import { type CheckReply, unpackReply } from './validation-messages.ts';

/** Where results are checked and validated: on the coordinator's own thread, or on validation threads. */
export interface Validator {
  /** What `checkResults` finds; a validator that throws costs only its own output's outcome. */
  check(request: ResultsCheck): Promise<ResultsChecked>;
  /** Stops the threads; validations still waiting are refused. */
  close(): Promise<void>;
}

/** Validation on the calling thread, with the given randomness (tests fix it) or the coordinator's secure draws. */
export function inlineValidator(random?: () => number): Validator {
  return { check: (request) => checkResults(request, random), close: async () => {} };
}

interface Waiting {
  resolve: (checked: ResultsChecked) => void;
  reject: (error: Error) => void;
  tasks: number;
}

interface Thread {
  worker: Worker;
  waiting: Map<number, Waiting>;
  /** Tasks sent and not yet answered: the next request goes to the thread with the fewest. */
  load: number;
}

/**
 * A thread starts here and loads its TypeScript module through tsx's API, as the coordinator
 * itself runs (a worker does not inherit the loader hooks that `tsx` registers for the main thread).
 */
const kBootstrap = `
const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then(({ tsImport }) => tsImport(workerData.script, workerData.script));
`;
const kTsxApi = import.meta.resolve('tsx/esm/api');

/**
 * Checks and validation on `count` worker threads, so the coordinator's event loop spends its
 * time on HTTP and SQLite while they run beside it (decisions 0015 and 0019). Each request (a
 * receipt's results) goes whole to the least loaded thread, or, for a seeded matmul-f32 job, to the
 * thread its seed names. A thread that dies fails the validations it
 * held, with an error (the client sends its results again; nothing was written for them), and
 * is started again for the next request.
 */
export class ValidationThreads implements Validator {
  readonly #threads: (Thread | undefined)[];
  readonly #script: URL;
  #nextId = 0;
  #closed = false;

  /** `script` is the thread's module: validation-worker.ts, or a test's stand-in that wraps it. */
  constructor(count: number, script = new URL('./validation-worker.ts', import.meta.url)) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`ValidationThreads needs at least one thread, not ${count}`);
    this.#script = script;
    this.#threads = Array.from({ length: count }, () => undefined);
    // Started now rather than on the first result: loading the validators takes a moment.
    for (let slot = 0; slot < count; slot++) this.#threads[slot] = this.#start(slot);
  }

  check(check: ResultsCheck): Promise<ResultsChecked> {
    if (this.#closed) return Promise.reject(new Error('the validation threads are closed'));
    const thread = this.#threadFor(check);
    const id = this.#nextId++;
    // Every output is hashed, and most are validated: the load counts them all, and the receipt as one more.
    const tasks = check.outputs.length + 1;
    return new Promise((resolve, reject) => {
      // A thread with work keeps the process alive until it answers; an idle one does not (see #start).
      if (thread.waiting.size === 0) thread.worker.ref();
      thread.waiting.set(id, { resolve, reject, tasks });
      thread.load += tasks;
      thread.worker.postMessage({ id, check });
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.filter((thread) => thread !== undefined);
    this.#threads.fill(undefined);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
    for (const thread of threads) this.#fail(thread, new Error('the validation threads were closed'));
  }

  /**
   * A large seeded matmul-f32 job's results all go to one thread, chosen by its seed: the
   * thread keeps the job's generated blocks and projections (`WasmFreivaldsF32`), which
   * another thread would make again. Everything else goes to the least loaded thread.
   */
  #threadFor(check: ResultsCheck): Thread {
    const seeded = check.outputs.find(({ spec }) => spec?.kernel === 'matmul-f32' && !spec.params.inputs)?.spec;
    if (seeded?.kernel !== 'matmul-f32') return this.#leastLoaded();
    return this.#threadAt(Number(BigInt(seeded.params.seed) % BigInt(this.#threads.length)));
  }

  /** The thread in `slot`, started again if it stopped. */
  #threadAt(slot: number): Thread {
    const thread = this.#threads[slot] ?? this.#start(slot);
    this.#threads[slot] = thread;
    return thread;
  }

  #leastLoaded(): Thread {
    let best: Thread | undefined;
    for (let slot = 0; slot < this.#threads.length; slot++) {
      const thread = this.#threadAt(slot);
      if (!best || thread.load < best.load) best = thread;
    }
    return best!;
  }

  #start(slot: number): Thread {
    const worker = new Worker(kBootstrap, { eval: true, workerData: { tsxApi: kTsxApi, script: this.#script.href } });
    const thread: Thread = { worker, waiting: new Map(), load: 0 };
    worker.on('message', (reply: CheckReply) => {
      const waiting = thread.waiting.get(reply.id);
      if (!waiting) return;
      thread.waiting.delete(reply.id);
      thread.load -= waiting.tasks;
      if (thread.waiting.size === 0) worker.unref();
      waiting.resolve(unpackReply(reply));
    });
    const stopped = (why: string) => {
      if (this.#threads[slot] === thread) this.#threads[slot] = undefined;
      this.#fail(thread, new Error(`a validation thread stopped (${why}); the results it held were not judged`));
      // A thread whose answer could not be read may still run: end it, so it holds no memory.
      void worker.terminate();
    };
    worker.on('error', (error) => stopped(error.message));
    worker.on('messageerror', (error) => stopped(error.message));
    worker.on('exit', (code) => stopped(`exit code ${code}`));
    // Idle threads never keep the process alive. After the listeners: on Node 20 adding a
    // 'message' listener refs the worker again.
    worker.unref();
    return thread;
  }

  #fail(thread: Thread, error: Error): void {
    for (const waiting of thread.waiting.values()) waiting.reject(error);
    thread.waiting.clear();
    thread.load = 0;
  }
}
