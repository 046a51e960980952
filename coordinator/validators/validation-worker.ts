/**
 * A validation thread (started by ValidationThreads): it validates each request's tasks with
 * the coordinator's validators and its own secure randomness, and answers their outcomes.
 */
import { parentPort } from 'node:worker_threads';
import { validateTasks } from './validate-output.ts';
import { sendOutcome, unpackRequest, type ValidationReply, type ValidationRequest } from './validation-messages.ts';

const port = parentPort;
if (!port) throw new Error('validation-worker.ts runs as a worker thread (see validation-threads.ts)');
port.on('message', async (request: ValidationRequest) => {
  const outcomes = await validateTasks(unpackRequest(request));
  const reply: ValidationReply = { id: request.id, outcomes: outcomes.map(sendOutcome) };
  port.postMessage(reply);
});
