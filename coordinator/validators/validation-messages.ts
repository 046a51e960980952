import type { Hex } from 'viem';
import { KernelError } from '../../src/errors/kernel-error.ts';
import { SurgeError } from '../../src/errors/surge-error.ts';
import type { ResultsCheck, ResultsChecked } from './results-check.ts';
import type { ValidationOutcome } from './validate-output.ts';
import type { Verdict } from './verdict.ts';

/**
 * What the coordinator's thread and a validation thread send each other: a receipt's results
 * to check (`ResultsCheck`, cloned: its outputs are still base64 strings), and what the check
 * found. The outputs' bytes come back packed in one buffer that is transferred, not copied.
 */
export interface CheckRequest {
  id: number;
  check: ResultsCheck;
}

/** An error as it crosses: its Surge code, if it has one, keeps a kernel's error a KernelError. */
interface SentError {
  code: string | undefined;
  shortMessage: string;
  details: string | undefined;
}

export type SentOutcome = { verdict: Verdict; seconds: number } | { error: SentError };

export interface CheckReply {
  id: number;
  rootMatches: boolean;
  signer: string | undefined;
  hashes: Hex[];
  /** Output i's bytes are bytes[ends[i − 1] … ends[i]) (from 0 for the first). */
  bytes: ArrayBuffer;
  ends: number[];
  validations: (SentOutcome | undefined)[];
}

/** The reply to request `id`; its `bytes` is the buffer to transfer with it. */
export function packReply(id: number, checked: ResultsChecked): CheckReply {
  const ends: number[] = [];
  let length = 0;
  for (const { bytes } of checked.outputs) {
    length += bytes.byteLength;
    ends.push(length);
  }
  const packed = new Uint8Array(length);
  for (const [i, { bytes }] of checked.outputs.entries()) packed.set(bytes, i === 0 ? 0 : ends[i - 1]);
  return {
    id,
    rootMatches: checked.rootMatches,
    signer: checked.signer,
    hashes: checked.outputs.map((output) => output.hash),
    bytes: packed.buffer,
    ends,
    validations: checked.outputs.map((output) => (output.validation === undefined ? undefined : sendOutcome(output.validation))),
  };
}

export function unpackReply({ rootMatches, signer, hashes, bytes, ends, validations }: CheckReply): ResultsChecked {
  return {
    rootMatches,
    signer,
    outputs: hashes.map((hash, i) => {
      const start = i === 0 ? 0 : ends[i - 1]!;
      const validation = validations[i];
      return { hash, bytes: new Uint8Array(bytes, start, ends[i]! - start), validation: validation === undefined ? undefined : receiveOutcome(validation) };
    }),
  };
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
