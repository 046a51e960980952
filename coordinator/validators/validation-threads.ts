import { Worker } from 'node:worker_threads';
import { type ValidationOutcome, type ValidationTask, validateTasks } from './validate-output.ts';
import { packRequest, receiveOutcome, type ValidationReply } from './validation-messages.ts';

/** Where results are validated: on the coordinator's own thread, or on validation threads. */
export interface Validator {
  /** The outcome of each task, in order; one that throws costs only its own outcome. */
  validate(tasks: readonly ValidationTask[]): Promise<ValidationOutcome[]>;
  /** Stops the threads; validations still waiting are refused. */
  close(): Promise<void>;
}

/** Validation on the calling thread, with the given randomness (tests fix it) or the coordinator's secure draws. */
export function inlineValidator(random?: () => number): Validator {
  return { validate: (tasks) => validateTasks(tasks, random), close: async () => {} };
}

interface Waiting {
  resolve: (outcomes: ValidationOutcome[]) => void;
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
 * Validation on `count` worker threads, so the coordinator's event loop spends its time on
 * HTTP and SQLite while the checks run beside it (decision 0015). Each request (a batch's
 * results) goes whole to the least loaded thread. A thread that dies fails the validations it
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

  validate(tasks: readonly ValidationTask[]): Promise<ValidationOutcome[]> {
    if (this.#closed) return Promise.reject(new Error('the validation threads are closed'));
    if (tasks.length === 0) return Promise.resolve([]);
    const thread = this.#leastLoaded();
    const request = packRequest(this.#nextId++, tasks);
    return new Promise((resolve, reject) => {
      // A thread with work keeps the process alive until it answers; an idle one does not (see #start).
      if (thread.waiting.size === 0) thread.worker.ref();
      thread.waiting.set(request.id, { resolve, reject, tasks: tasks.length });
      thread.load += tasks.length;
      thread.worker.postMessage(request, [request.bytes]);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const threads = this.#threads.filter((thread) => thread !== undefined);
    this.#threads.fill(undefined);
    await Promise.all(threads.map((thread) => thread.worker.terminate()));
    for (const thread of threads) this.#fail(thread, new Error('the validation threads were closed'));
  }

  #leastLoaded(): Thread {
    let best: Thread | undefined;
    for (let slot = 0; slot < this.#threads.length; slot++) {
      const thread = this.#threads[slot] ?? this.#start(slot);
      this.#threads[slot] = thread;
      if (!best || thread.load < best.load) best = thread;
    }
    return best!;
  }

  #start(slot: number): Thread {
    const worker = new Worker(kBootstrap, { eval: true, workerData: { tsxApi: kTsxApi, script: this.#script.href } });
    const thread: Thread = { worker, waiting: new Map(), load: 0 };
    worker.on('message', (reply: ValidationReply) => {
      const waiting = thread.waiting.get(reply.id);
      if (!waiting) return;
      thread.waiting.delete(reply.id);
      thread.load -= waiting.tasks;
      if (thread.waiting.size === 0) worker.unref();
      waiting.resolve(reply.outcomes.map(receiveOutcome));
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
