import { SurgeError } from '../src/errors/surge-error.ts';
import type { ErrorCode } from '../src/protocol/error-codes.ts';

/** An answer to bad input: an HTTP status, a stable code, and a message naming the problem. */
export class HttpError extends SurgeError {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(code, message);
  }
}
