import { SurgeError, type SurgeErrorOptions } from './surge-error.ts';

/**
 * An answer from the coordinator that was not a success, or no answer at all.
 * `status` is the HTTP status (0 when the network failed); `retryable` says whether the
 * same request may succeed later (network failures and 5xx), as opposed to a 4xx verdict.
 */
export class ApiError extends SurgeError {
  override name = 'ApiError';
  readonly status: number;

  constructor(status: number, code: string, message: string, options?: SurgeErrorOptions) {
    super(code, message, options);
    this.status = status;
  }

  get retryable(): boolean {
    return this.status === 0 || this.status === 429 || this.status >= 500;
  }
}
