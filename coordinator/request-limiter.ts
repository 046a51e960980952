import { errorCodes } from '../src/protocol/error-codes.ts';
import { HttpError } from './http-error.ts';

/**
 * Requests a minute per key (a session, an owner), in fixed one-minute windows, besides the
 * per-address limit of @fastify/rate-limit: one owner's many sessions, or one session behind
 * many addresses, cannot take more than its share. Counts are per process, like the address
 * limit; a limit of 0 turns it off.
 */
export class RequestLimiter {
  private window = -1;
  private counts = new Map<string, number>();

  constructor(
    readonly perMinute: number,
    readonly what: 'session' | 'owner',
  ) {}

  /** Counts one request for `key`, or throws a 429 that says when to try again (and sets `retryAfter`). */
  take(key: string, now: number, retryAfter?: (seconds: number) => void): void {
    if (this.perMinute <= 0) return;
    const window = Math.floor(now / 60_000);
    if (window !== this.window) {
      this.window = window;
      this.counts.clear();
    }
    const count = (this.counts.get(key) ?? 0) + 1;
    this.counts.set(key, count);
    if (count > this.perMinute) {
      const seconds = Math.ceil(((window + 1) * 60_000 - now) / 1000);
      retryAfter?.(seconds);
      throw new HttpError(
        429,
        errorCodes.rateLimited,
        `Too many requests from this ${this.what}: the limit is ${this.perMinute} a minute; try again in ${seconds} seconds.`,
        this.what,
      );
    }
  }
}
