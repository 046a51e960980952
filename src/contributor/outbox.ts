import type { Hex } from 'viem';
import type { ApiError } from '../errors/api-error.ts';
import { errorMessage } from '../errors/surge-error.ts';
import type { ResultResponse } from '../protocol/schemas.ts';
import type { OutboxEntry, SurgeDb } from '../storage/surge-db.ts';
import type { CoordinatorClient } from './coordinator-client.ts';

/** Backoff after a failed send: 1 s doubling to 5 min, with ±50% jitter so tabs spread out. */
export function retryDelayMs(attempts: number, random = Math.random): number {
  const base = Math.min(300_000, 1000 * 2 ** Math.min(attempts, 20));
  return Math.round(base * (0.5 + random()));
}

/** How long a result waiting for its replicas waits before it is sent again: 15 s doubling to 5 min, ±50%. */
export function pendingDelayMs(checks: number, random = Math.random): number {
  const base = Math.min(300_000, 15_000 * 2 ** Math.min(checks, 10));
  return Math.round(base * (0.5 + random()));
}

export interface FlushReport {
  /** Validated: gone from the outbox, its countersigned receipt kept. */
  accepted: { entry: OutboxEntry; response: ResultResponse }[];
  /** Received but waiting for other replicas of its unit to agree (adaptive replication). */
  pending: number;
  rejected: { entry: OutboxEntry; error: ApiError }[];
  /** Entries kept for a later try (coordinator down, offline). */
  waiting: number;
  /** Why the latest of them is waiting, and when the next is due (epoch ms). */
  lastError?: string;
  nextTryAt?: number;
}

/**
 * Finished results wait here, in IndexedDB, until the coordinator has judged them. A result
 * leaves the outbox only on a verdict: validated, or refused for good (4xx). A network
 * failure or 5xx keeps it, with a backoff, so a closed tab or a coordinator that is down for
 * hours loses nothing. A result the coordinator holds for a quorum (`pending`) stays too, and
 * the same receipt is sent again now and then until its verdict and countersignature come.
 */
export class Outbox {
  private flushing: Promise<FlushReport> | undefined;

  constructor(
    private readonly db: SurgeDb,
    private readonly client: CoordinatorClient,
  ) {}

  async add(entry: Omit<OutboxEntry, 'attempts' | 'notBefore' | 'queuedAt'>, leaseId: Hex): Promise<void> {
    const tx = this.db.transaction(['outbox', 'leases'], 'readwrite');
    await Promise.all([
      tx.objectStore('outbox').put({ ...entry, attempts: 0, notBefore: 0, queuedAt: new Date().toISOString() }),
      tx.objectStore('leases').delete(leaseId),
      tx.done,
    ]);
  }

  async entries(): Promise<OutboxEntry[]> {
    return (await this.db.getAll('outbox')).filter((entry) => entry.coordinator === this.client.baseUrl);
  }

  /** Sends what is due; one flush at a time, so no result is sent twice at once. */
  flush(now = Date.now()): Promise<FlushReport> {
    this.flushing ??= this.sendDue(now).finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  private async sendDue(now: number): Promise<FlushReport> {
    const report: FlushReport = { accepted: [], pending: 0, rejected: [], waiting: 0 };
    for (const entry of await this.entries()) {
      if (entry.notBefore > now) {
        if (entry.pendingChecks) report.pending++;
        else noteWaiting(report, entry.lastError, entry.notBefore);
        continue;
      }
      try {
        const response = await this.client.submitResult(entry.request);
        if (response.status === 'pending') {
          const pendingChecks = (entry.pendingChecks ?? 0) + 1;
          await this.db.put('outbox', { ...entry, pendingChecks, lastError: undefined, notBefore: now + pendingDelayMs(pendingChecks) });
          report.pending++;
          continue;
        }
        const tx = this.db.transaction(['outbox', 'receipts'], 'readwrite');
        await Promise.all([
          tx.objectStore('outbox').delete(entry.digest),
          tx.objectStore('receipts').put({
            digest: entry.digest,
            lease: entry.request.lease as Hex,
            credit: response.credit,
            countersignature: response.countersignature as Hex,
            acceptedAt: new Date().toISOString(),
          }),
          tx.done,
        ]);
        report.accepted.push({ entry, response });
      } catch (error) {
        const apiError = error as ApiError;
        if (apiError.retryable === false) {
          await this.db.delete('outbox', entry.digest);
          report.rejected.push({ entry, error: apiError });
        } else {
          const attempts = entry.attempts + 1;
          const waiting = { ...entry, attempts, lastError: errorMessage(error), notBefore: now + retryDelayMs(attempts) };
          await this.db.put('outbox', waiting);
          noteWaiting(report, waiting.lastError, waiting.notBefore);
        }
      }
    }
    return report;
  }
}

function noteWaiting(report: FlushReport, lastError: string | undefined, notBefore: number): void {
  report.waiting++;
  if (lastError) report.lastError = lastError;
  report.nextTryAt = Math.min(report.nextTryAt ?? notBefore, notBefore);
}
