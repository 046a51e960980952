/**
 * A validation thread (started by ValidationThreads): it checks each request's receipt and
 * outputs (results-check.ts) with the coordinator's validators and its own secure randomness,
 * and answers what it found.
 */
import { parentPort } from 'node:worker_threads';
import { checkResults } from './results-check.ts';
import { type CheckRequest, packReply } from './validation-messages.ts';

const port = parentPort;
if (!port) throw new Error('validation-worker.ts runs as a worker thread (see validation-threads.ts)');
port.on('message', async (request: CheckRequest) => {
  const reply = packReply(request.id, await checkResults(request.check));
  port.postMessage(reply, [reply.bytes]);
});
