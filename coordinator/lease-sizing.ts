import type { KernelName, LeaseRequest } from '../src/protocol/schemas.ts';

/** A client is offered units it finishes in this share of the lease at its measured speed, so a slow slice or a short pause still makes the deadline. */
const kLeaseFill = 0.8;

/**
 * The most credit per kernel a client can finish before its lease's deadline, from the
 * speeds it measured (work-estimate operations per second at its limits). Credit is the
 * work estimate in millions of operations (work-generator.ts, `creditFor`), so the caps
 * compare with `units.credit` directly.
 */
export function leaseCreditCaps(speeds: NonNullable<LeaseRequest['speeds']>, leaseMs: number): { kernel: KernelName; maxCredit: number }[] {
  return speeds.map(({ kernel, opsPerSecond }) => ({ kernel, maxCredit: (opsPerSecond * (leaseMs / 1000) * kLeaseFill) / 1e6 }));
}
