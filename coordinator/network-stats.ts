import { sql } from 'kysely';
import type { KernelName, NetworkStats, PublicJob } from '../src/protocol/schemas.ts';
import { backgroundRows, type Db } from './db/database.ts';
import { sharedWhileRunning } from './in-flight.ts';
import { partnerLeaderboard } from './partners.ts';

/** A session counts as online while it holds a live lease or sent a result within this long. */
export const kOnlineWindowMs = 5 * 60_000;
const kMaxJobs = 20;
const kMaxTopContributors = 10;
const kMaxTopPartners = 10;

/** `0x1234…abcd`: enough to recognise one's own address, not a directory of everyone's. */
export function shortAddress(address: string): string {
  return `${address.slice(0, 6)}…${address.slice(-4)}`;
}

/**
 * The public state of the network for the dashboard (`GET /v1/stats`): active jobs with their
 * progress, validated results and credit in the last minute, sessions online, and the top
 * owners and partner sites by validated credit. Only what anyone may see: no requester, parameters or outputs.
 * The reads that scan the ledger run off the event loop (backgroundRows), and requests that
 * come while the figures are being made share them rather than scan again, however many
 * dashboards are open.
 */
export const networkStats: (db: Db, now: number) => Promise<NetworkStats> = sharedWhileRunning(computeNetworkStats);

async function computeNetworkStats(db: Db, now: number): Promise<NetworkStats> {
  const jobs = await db
    .selectFrom('jobs')
    .select(['id', 'name', 'purpose', 'kernel', 'units_total', 'units_done'])
    .where('status', '=', 'active')
    .orderBy('priority', 'desc')
    .orderBy('id')
    .limit(kMaxJobs)
    .execute();
  const [lastMinute] = await backgroundRows(
    db,
    db
      .selectFrom('credits')
      .select((eb) => [eb.fn.countAll<number>().as('results'), eb.fn.sum<number>('amount').as('credit')])
      .where('created_at', '>', now - 60_000),
  );
  const liveSessions = db
    .selectFrom('leases')
    .select('session')
    // A literal: then only the open leases are read, from their partial index (migration 0014).
    .where('state', '=', sql.lit('open'))
    .where('deadline', '>', now)
    .union(
      db
        .selectFrom('results')
        .select('session')
        .where('created_at', '>', now - kOnlineWindowMs),
    )
    // Results sent in batches (those validated in bulk have no row in results).
    .union(
      db
        .selectFrom('result_batches')
        .select('session')
        .where('created_at', '>', now - kOnlineWindowMs),
    );
  const [online] = await backgroundRows(
    db,
    db.selectFrom(liveSessions.as('live')).select((eb) => eb.fn.countAll<number>().as('count')),
  );
  const top = await backgroundRows(
    db,
    db
      .selectFrom('credits')
      .select((eb) => ['owner', eb.fn.sum<number>('amount').as('credit'), eb.fn.countAll<number>().as('results')])
      .groupBy('owner')
      .orderBy(sql`sum(amount)`, 'desc')
      .orderBy('owner')
      .limit(kMaxTopContributors),
  );
  return {
    generatedAt: new Date(now).toISOString(),
    jobs: jobs.map(
      (job): PublicJob => ({
        id: job.id,
        name: job.name,
        purpose: job.purpose,
        kernel: job.kernel as KernelName,
        units: { total: job.units_total, done: job.units_done },
        ...(job.kernel === 'mandelbrot' ? { preview: `/v1/jobs/${job.id}/preview.png` } : {}),
      }),
    ),
    throughput: { resultsPerMinute: Number(lastMinute?.results ?? 0), creditPerMinute: String(Number(lastMinute?.credit ?? 0)) },
    contributorsOnline: Number(online?.count ?? 0),
    topContributors: top.map((row) => ({ owner: shortAddress(row.owner), credit: String(Number(row.credit)), results: Number(row.results) })),
    topPartners: (await partnerLeaderboard(db)).slice(0, kMaxTopPartners),
  };
}
