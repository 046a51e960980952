import { KernelError } from '../../src/errors/kernel-error.ts';
import { SurgeError } from '../../src/errors/surge-error.ts';
import type { WorkSpec } from '../../src/protocol/schemas.ts';
import type { ValidationOutcome, ValidationTask } from './validate-output.ts';
import type { Verdict } from './verdict.ts';

/**
 * What the coordinator's thread and a validation thread send each other. The outputs of a
 * request travel packed in one buffer that is transferred, not copied: a small Buffer from
 * base64 is a view into Node's shared 8 KiB pool, and cloning a view copies all of its memory.
 */
export interface ValidationRequest {
  id: number;
  specs: WorkSpec[];
  /** Task i's output is bytes[ends[i − 1] … ends[i]) (from 0 for the first). */
  bytes: ArrayBuffer;
  ends: number[];
}

/** An error as it crosses: its Surge code, if it has one, keeps a kernel's error a KernelError. */
interface SentError {
  code: string | undefined;
  shortMessage: string;
  details: string | undefined;
}

export type SentOutcome = { verdict: Verdict; seconds: number } | { error: SentError };

export interface ValidationReply {
  id: number;
  outcomes: SentOutcome[];
}

export function packRequest(id: number, tasks: readonly ValidationTask[]): ValidationRequest {
  const ends: number[] = [];
  let length = 0;
  for (const task of tasks) {
    length += task.output.byteLength;
    ends.push(length);
  }
  const packed = new Uint8Array(length);
  for (const [i, task] of tasks.entries()) packed.set(task.output, i === 0 ? 0 : ends[i - 1]);
  return { id, specs: tasks.map((task) => task.spec), bytes: packed.buffer, ends };
}

export function unpackRequest({ specs, bytes, ends }: ValidationRequest): ValidationTask[] {
  return specs.map((spec, i) => ({ spec, output: new Uint8Array(bytes, i === 0 ? 0 : ends[i - 1], ends[i]! - (i === 0 ? 0 : ends[i - 1]!)) }));
}

export function sendOutcome(outcome: ValidationOutcome): SentOutcome {
  if (!('error' in outcome)) return outcome;
  const { error } = outcome;
  if (error instanceof SurgeError) return { error: { code: error.code, shortMessage: error.shortMessage, details: error.details } };
  return { error: { code: undefined, shortMessage: error instanceof Error ? error.message : String(error), details: undefined } };
}

export function receiveOutcome(sent: SentOutcome): ValidationOutcome {
  if (!('error' in sent)) return sent;
  const { code, shortMessage, details } = sent.error;
  const options = details === undefined ? {} : { details };
  if (code?.startsWith('SURGE_E_KERNEL_')) return { error: new KernelError(code as `SURGE_E_KERNEL_${string}`, shortMessage, options) };
  if (code) return { error: new SurgeError(code, shortMessage, options) };
  return { error: new Error(`a validation thread failed: ${shortMessage}`) };
}
