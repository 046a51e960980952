/**
 * A duty cycle: after each slice of compute, how long to rest so that busy / (busy + rest)
 * stays at the limit. It counts busy time and wall time since a window opened, so a rest
 * that a timer stretched, or time spent messaging between slices, is made up on the next
 * rest instead of drifting. Time spent not computing (waiting for work, paused) is never
 * banked as credit: when the window is under the limit it starts again.
 *
 * @example
 * const duty = new DutyCycle();
 * const busyMs = computeSlice();
 * await sleep(duty.restAfter(busyMs, 0.25)); // 25%: about three times busyMs
 */
export class DutyCycle {
  private limit = 1;
  private windowStart = 0;
  private busyMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /** The rest in milliseconds after a slice of `busyMs` that ended just now, at `limit` (0 to 1]. */
  restAfter(busyMs: number, limit: number): number {
    const clamped = clampLimit(limit);
    if (clamped !== this.limit) {
      this.limit = clamped;
      this.busyMs = 0;
    }
    if (clamped >= 1) return 0;
    const now = this.now();
    if (this.busyMs === 0) this.windowStart = now - busyMs;
    this.busyMs += busyMs;
    const rest = this.windowStart + this.busyMs / clamped - now;
    if (rest > 0) return rest;
    // Under the limit (the slice followed time spent elsewhere): a new window opens with this slice.
    this.windowStart = now - busyMs;
    this.busyMs = busyMs;
    return (busyMs * (1 - clamped)) / clamped;
  }

  /** Forgets the window, as after a pause. */
  reset(): void {
    this.busyMs = 0;
  }
}

/** A limit as a fraction in [0.05, 1]: a limit of 0 would never compute, which a pause does better. */
export function clampLimit(limit: number): number {
  if (!Number.isFinite(limit)) return 1;
  return Math.min(1, Math.max(0.05, limit));
}
