/**
 * The one base error of Surge, in the style of viem's `BaseError`: a short message a
 * person can act on, optional details, a `cause`, and a stable code that is also the
 * anchor of its entry in `docs/errors.md`.
 */
export interface SurgeErrorOptions {
  details?: string;
  cause?: unknown;
}

export class SurgeError extends Error {
  override name = 'SurgeError';
  readonly code: string;
  readonly shortMessage: string;
  readonly details: string | undefined;

  constructor(code: string, shortMessage: string, options: SurgeErrorOptions = {}) {
    const lines = [shortMessage];
    if (options.details) lines.push('', `Details: ${options.details}`);
    lines.push(`Code: ${code}`);
    super(lines.join('\n'), options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.shortMessage = shortMessage;
    this.details = options.details;
  }
}

/** The code of any error: a Surge code where there is one, else `SURGE_E_UNKNOWN`. */
export function errorCode(error: unknown): string {
  return error instanceof SurgeError ? error.code : 'SURGE_E_UNKNOWN';
}

/** A message for people from any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof SurgeError) return error.shortMessage;
  if (error instanceof Error) return error.message;
  return String(error);
}
