import { randomFillSync } from 'node:crypto';
import { type ExpressionBuilder, sql, type Transaction } from 'kysely';
import type { KernelName, Lease, WorkSpec } from '../src/protocol/schemas.ts';
import { exactKernels, makeCanary } from './canaries.ts';
import { type DatabaseDialect, type Db, dialectOf } from './db/database.ts';
import { writeTransaction } from './db/group-commit.ts';
import { runPrepared } from './db/run-prepared.ts';
import type { Database } from './db/schema.ts';
import { textPerRow } from './db/text-per-row.ts';
import { issuedLeasesOf } from './issued-leases.ts';
import { countLease, hostStanding, untilNextDay, wantsReplica } from './reputation.ts';
import { expireOverdueLeases, refreshUnit } from './transitioner.ts';
import { defaultTrustConfig, type TrustConfig } from './trust-config.ts';

export interface LeaseOptions {
  session: string;
  owner: string;
  /** The network address the request came from: two replicas of a unit never share one. */
  address?: string | undefined;
  now: number;
  leaseMs: number;
  kernels?: readonly KernelName[] | undefined;
  /** The most credit (work) per kernel this client finishes within a lease: see lease-sizing.ts. */
  creditCaps?: readonly { kernel: KernelName; maxCredit: number }[] | undefined;
  trust?: TrustConfig;
  /** The feeder's randomness (canary draws, re-checks of trusted owners); tests fix it. */
  random?: () => number;
}

/** A lease, or none: no work fits, or the owner's daily quota is spent until `retryAfterMs`. */
export type LeaseOutcome = { lease: Lease; retryAfterMs?: undefined } | { lease: undefined; retryAfterMs?: number };

type Trx = Transaction<Database>;

/** The states of a lease that holds a replica of its unit: out now, waiting for a quorum, or accepted. */
const kLiveLeaseStates = ['open', 'pending', 'validated'] as const;

/** How long an owner with `maxInProgress` leases open waits before asking again. */
const kBusyRetryMs = 5000;
/** How long an owner on probation waits when no canary is to be had. */
const kProbationRetryMs = 10 * 60 * 1000;

/**
 * The feeder: hands one unit to a session as a lease with a deadline. A unit is free when it
 * wants another replica (`ready`), or when one of its leases passed its deadline (the
 * transitioner's reissue, done here lazily at lease time). A unit never goes to an owner that
 * holds or held a live replica of it or failed it, nor to a second replica at the same
 * network address. With adaptive replication (reputation.ts) a new owner's first lease is a
 * canary, and the first replica of a unit decides its quorum: 2 for an untrusted owner, 1 for
 * a trusted one except for random re-checks. One transaction, so two requests never get the
 * same replica.
 */
export async function leaseUnit(db: Db, options: LeaseOptions): Promise<LeaseOutcome> {
  const { leases, retryAfterMs } = await leaseUnits(db, options, 1);
  return leases[0] ? { lease: leases[0] } : { lease: undefined, retryAfterMs };
}

/**
 * Batched leases: up to `count` units for one session in one transaction, under the feeder's
 * rules above (quota, leases in progress, canaries, replicas never to one owner or address
 * twice); `leaseUnit` is a batch of one. With adaptive replication a batch holds no more than the owner's quota and
 * in-progress limit leave room for, and a canary drawn for it sits at a random place among
 * the others, so a batch with a canary looks like any other.
 */
export async function leaseUnits(db: Db, options: LeaseOptions, count: number): Promise<{ leases: Lease[]; retryAfterMs?: number }> {
  const trust = options.trust ?? defaultTrustConfig;
  const random = options.random ?? Math.random;
  if (trust.replication !== 'adaptive') return { leases: await leaseReplicas(db, options, trust, random, count) };
  const host = await writeTransaction(db, (trx) => hostStanding(trx, options.owner, options.now, trust), { urgent: true });
  if (host.leased_today >= host.quota) return { leases: [], retryAfterMs: untilNextDay(options.now) };
  const held = await openLeaseCount(db, options.owner, options.now).executeTakeFirstOrThrow();
  const room = Math.min(count, host.quota - host.leased_today, trust.maxInProgress - Number(held.count));
  if (room <= 0) return { leases: [], retryAfterMs: kBusyRetryMs };
  const wantsCanary = host.probation > 0 || random() < trust.canaryRate;
  const suspect = host.probation > 0 && host.invalid_results > 0;
  let canary: Lease | undefined;
  if (wantsCanary) {
    canary = await leaseCanary(db, options);
    if (!canary) {
      await makeCanary(db, options.kernels);
      canary = await leaseCanary(db, options);
    }
    // On probation after a wrong answer: canaries only.
    if (suspect) return canary ? { leases: [canary] } : { leases: [], retryAfterMs: kProbationRetryMs };
  }
  const leases = await leaseReplicas(db, options, trust, random, room - (canary ? 1 : 0));
  if (canary) leases.splice(Math.floor(random() * (leases.length + 1)), 0, canary);
  return { leases };
}

/**
 * How many leases `owner` holds open and not overdue. The state is a literal, so that the
 * partial index of open leases serves it (migration 0014): no other index reads leases by owner.
 */
export function openLeaseCount(db: Db, owner: string, now: number) {
  return db
    .selectFrom('leases')
    .select((eb) => eb.fn.countAll<number>().as('count'))
    .where('owner', '=', owner)
    .where('state', '=', sql.lit('open'))
    .where('deadline', '>=', now);
}

/** Unit columns a lease shows. */
const unitColumns = ['units.id', 'units.kernel', 'units.kernel_version', 'units.params', 'units.credit'] as const;
/** Job columns a lease shows, and the job's priority, which orders the feeder's candidates. */
const jobColumns = ['jobs.id as jobId', 'jobs.name', 'jobs.purpose', 'jobs.priority'] as const;
/** Unit columns a lease shows, joined with its job. */
const leaseColumns = [...unitColumns, ...jobColumns] as const;

/**
 * Up to `count` replicas of different units for one session, in one transaction (batched
 * leases): each unit is one the owner holds no replica of, so a batch never hands one owner
 * two replicas of a unit.
 */
async function leaseReplicas(db: Db, options: LeaseOptions, trust: TrustConfig, random: () => number, count: number): Promise<Lease[]> {
  const { owner, now } = options;
  if (count <= 0) return [];
  const { leases, units } = await writeTransaction(
    db,
    async (trx) => {
      const units = await freeUnits(trx, options, count, dialectOf(db));
      if (units.length === 0) return { leases: [], units };
      // The owner's standing is read once: the quorum of each unit it is first out on depends on it.
      const host = trust.replication === 'adaptive' ? await hostStanding(trx, owner, now, trust) : undefined;
      const ids = units.map((unit) => unit.id);
      const { rows: live } = await runPrepared(trx, 'live-leases-of-units', { ids, states: kLiveLeaseStates }, (values) =>
        trx.selectFrom('leases').select(['unit_id', 'state', 'deadline']).where('unit_id', 'in', values.ids).where('state', 'in', values.states),
      );
      const overdue = (lease: (typeof live)[number]) => lease.state === 'open' && lease.deadline < now;
      // The transitioner's reissue, for the whole batch at once: overdue open leases of these units
      // expire (a write only when there are some: fresh units have no leases at all).
      if (live.some(overdue)) await expireOverdueLeases(trx, [...new Set(live.filter(overdue).map((lease) => lease.unit_id))], now);
      const withLive = new Set(live.filter((lease) => !overdue(lease)).map((lease) => lease.unit_id));
      const leases = await issueLeases(trx, units, options);
      // The first replica out decides how many the unit needs (BOINC's adaptive replication); what
      // refreshUnit would work out, in one write per quorum: the new lease is the unit's only live one.
      const firstOut = new Map<number, { id: number; lease: string }[]>();
      for (const [i, unit] of units.entries()) {
        if (withLive.has(unit.id)) {
          await refreshUnit(trx, unit.id);
          continue;
        }
        const quorum = host && exactKernels.has(unit.kernel as KernelName) && wantsReplica(host, trust, random) ? 2 : 1;
        const group = firstOut.get(quorum) ?? [];
        group.push({ id: unit.id, lease: leases[i]!.id });
        firstOut.set(quorum, group);
      }
      for (const [quorum, out] of firstOut) {
        const unitsOut = {
          quorum,
          state: quorum > 1 ? ('ready' as const) : ('leased' as const),
          deadline: now + options.leaseMs,
          leases: out.map((unit) => [unit.id, unit.lease] as const),
          ids: out.map((unit) => unit.id),
        };
        await runPrepared(trx, 'units-out', unitsOut, (values) =>
          trx
            .updateTable('units')
            .set({ quorum: values.quorum, state: values.state, lease_deadline: values.deadline, current_lease: textPerRow(values.leases) })
            .where('id', 'in', values.ids),
        );
      }
      return { leases, units };
    },
    { urgent: true },
  );
  // Committed: the results that come back for these leases need not read them again (issued-leases.ts).
  issuedLeasesOf(db).remember(
    units.map((unit, i) => ({
      id: leases[i]!.id,
      unit_id: unit.id,
      session: options.session,
      owner,
      kernel: unit.kernel,
      params: unit.params,
      credit: unit.credit,
      job_id: unit.jobId,
      canary: 0,
      expectedHash: null,
    })),
  );
  return leases;
}

/**
 * Up to `count` units this host may take, highest job priority first, then oldest: units
 * that want another replica (`ready`) and units whose lease passed its deadline. Asked per
 * active job and per kind, so each query walks an index in order and stops after `count`
 * rows instead of sorting every free unit (a job may have millions). Several coordinator
 * processes over PostgreSQL: each claims different units, and none waits for another's
 * claim (SKIP LOCKED; SQLite has one writer at a time, so needs neither).
 */
async function freeUnits(trx: Trx, options: LeaseOptions, count: number, dialect: DatabaseDialect) {
  const { owner, address, now, kernels, creditCaps } = options;
  if (count <= 0) return [];
  const postgres = dialect === 'postgres';
  // The values every candidate query binds (run-prepared.ts: each comes in as a value, none is built in).
  const filters = {
    active: 'active' as const,
    canary: 0,
    kernels,
    creditCaps: creditCaps !== undefined && creditCaps.length > 0 ? creditCaps : undefined,
    host: {
      owner,
      address: address || undefined,
      now,
      expired: 'expired' as const,
      open: 'open' as const,
      sameAddress: kLiveLeaseStates,
    },
    count,
  };
  type Filters = typeof filters;
  const candidates = (f: Filters) =>
    trx
      .selectFrom('units')
      .select([...unitColumns, 'units.quorum'])
      .where('units.canary', '=', f.canary)
      .$if(f.kernels !== undefined, (q) => q.where('units.kernel', 'in', f.kernels!))
      .$if(f.creditCaps !== undefined, (q) =>
        q.where((eb) => eb.and(f.creditCaps!.map((cap) => eb.or([eb('units.kernel', '!=', cap.kernel), eb('units.credit', '<=', cap.maxCredit)])))),
      )
      .where((eb) => eb.not(eb.exists(replicasOfThisHost(eb, f.host))))
      .limit(f.count)
      .$if(postgres, (q) => q.forUpdate(['units']).skipLocked());
  // Overdue leases are few: one query over every job, by the (state, lease_deadline) index. Most of
  // the time there are none, which the index's first leased entry says for a fraction of the
  // query's cost (a sixth of a lease's SQL time went to finding nothing).
  const { rows: overdue } = !(await anyLeaseOverdue(trx, now))
    ? { rows: [] }
    : await runPrepared(trx, 'overdue-units', { ...filters, leased: 'leased' as const }, (f) =>
        candidates(f)
          .innerJoin('jobs', 'jobs.id', 'units.job_id')
          .select(jobColumns)
          .where('jobs.status', '=', f.active)
          .where('units.state', '=', f.leased)
          .where('units.lease_deadline', '<', f.host.now)
          .orderBy('jobs.priority', 'desc')
          .orderBy('units.id'),
      );
  const { rows: jobs } = await runPrepared(trx, 'active-jobs', { active: 'active' as const }, (values) =>
    trx.selectFrom('jobs').select(jobColumns).where('status', '=', values.active).orderBy('priority', 'desc').orderBy('id'),
  );
  const ready: typeof overdue = [];
  for (const job of jobs) {
    if (ready.length >= count) break;
    // By the (job_id, state) index, whose entries are in unit id order: no sort. The job's own
    // columns come from its row above, not from a join on every unit (a quarter to a third of
    // the query's time).
    const { rows } = await runPrepared(trx, 'ready-units', { ...filters, jobId: job.jobId, ready: 'ready' as const }, (f) =>
      candidates(f).where('units.job_id', '=', f.jobId).where('units.state', '=', f.ready).orderBy('units.id'),
    );
    for (const unit of rows) ready.push({ ...unit, ...job });
  }
  return [...overdue, ...ready].sort((a, b) => b.priority - a.priority || a.id - b.id).slice(0, count);
}

/** Whether any leased unit's deadline has passed: the earliest deadline of a leased unit, by the (state, lease_deadline) index. */
async function anyLeaseOverdue(trx: Trx, now: number): Promise<boolean> {
  const { rows } = await runPrepared(trx, 'earliest-lease-deadline', { leased: 'leased' as const }, (values) =>
    trx
      .selectFrom('units')
      .select((eb) => eb.fn.min('lease_deadline').as('earliest'))
      .where('state', '=', values.leased)
      // min() passes over nulls anyway; said here (written, not bound), it lets the index of
      // deadlines, which holds only units that have one, serve.
      .where(sql<boolean>`lease_deadline is not null`),
  );
  const earliest = rows[0]?.earliest;
  return earliest !== null && earliest !== undefined && Number(earliest) < now;
}

/** A canary this owner has not had yet, from an active job and a kernel it runs. */
async function leaseCanary(db: Db, options: LeaseOptions): Promise<Lease | undefined> {
  const { owner, kernels } = options;
  return db.transaction().execute(async (trx) => {
    const unit = await trx
      .selectFrom('units')
      .innerJoin('jobs', 'jobs.id', 'units.job_id')
      .select(leaseColumns)
      .where('units.canary', '=', 1)
      .where('jobs.status', '=', 'active')
      .$if(kernels !== undefined, (qb) => qb.where('units.kernel', 'in', kernels!))
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('leases').select('leases.id').whereRef('leases.unit_id', '=', 'units.id').where('leases.owner', '=', owner))),
      )
      .orderBy('units.id')
      .limit(1)
      .executeTakeFirst();
    return unit ? (await issueLeases(trx, [unit], options))[0] : undefined;
  });
}

/**
 * Leases of a unit that keep it from this host: any of the owner's that is not overdue or
 * expired (it holds, held or failed a replica), and any live or accepted one from the same
 * address (two replicas from one address could be one machine agreeing with itself).
 */
function replicasOfThisHost(eb: ExpressionBuilder<Database & { units: Database['units'] }, 'units'>, host: HostFilter) {
  return eb
    .selectFrom('leases')
    .select('leases.id')
    .whereRef('leases.unit_id', '=', 'units.id')
    .where('leases.state', '!=', host.expired)
    .where((l) => l.not(l.and([l('leases.state', '=', host.open), l('leases.deadline', '<', host.now)])))
    .where((l) =>
      l.or([
        l('leases.owner', '=', host.owner),
        ...(host.address !== undefined ? [l.and([l('leases.address', '=', host.address), l('leases.state', 'in', host.sameAddress)])] : []),
      ]),
    );
}

/** Who asks, and the lease states replicasOfThisHost binds (values of a prepared statement). */
interface HostFilter {
  owner: string;
  address: string | undefined;
  now: number;
  expired: 'expired';
  open: 'open';
  sameAddress: readonly ('open' | 'pending' | 'validated')[];
}

type LeasedUnit = { id: number; kernel: string; kernel_version: number; params: string; credit: number; jobId: number; name: string; purpose: string };

/**
 * Lease ids: 6 bytes of the issue time (ms) then 26 random bytes. Ids issued later sort later,
 * so new leases land at the end of the leases index instead of on a random page of it (one
 * page written per batch rather than one per lease), and 208 random bits keep them unguessable.
 */
function leaseIds(count: number, now: number): string[] {
  const random = randomHex(26 * count);
  const time = now.toString(16).padStart(12, '0').slice(-12);
  return Array.from({ length: count }, (_, i) => `0x${time}${random.slice(52 * i, 52 * (i + 1))}`);
}

/** Secure random bytes drawn from a pool refilled 100 KiB at a time: a system call per lease batch cost more than the ids. */
const randomPool = Buffer.alloc(100 * 1024);
let randomPoolNext = randomPool.length;

/** `bytes` fresh random bytes (at most the pool's size) as hex: no byte is handed out twice. */
function randomHex(bytes: number): string {
  if (randomPoolNext + bytes > randomPool.length) {
    randomFillSync(randomPool);
    randomPoolNext = 0;
  }
  randomPoolNext += bytes;
  return randomPool.toString('hex', randomPoolNext - bytes, randomPoolNext);
}

/** Leases on these units for one session, written in one statement, with one count against the owner's quota. */
async function issueLeases(trx: Trx, units: readonly LeasedUnit[], options: LeaseOptions): Promise<Lease[]> {
  const { session, owner, address, now, leaseMs } = options;
  const deadline = now + leaseMs;
  const ids = leaseIds(units.length, now);
  const rows = units.map((unit, i) => ({
    id: ids[i]!,
    unit_id: unit.id,
    session,
    owner,
    address: address ?? null,
    deadline,
    state: 'open' as const,
    created_at: now,
  }));
  await runPrepared(trx, 'insert-leases', rows, (values) => trx.insertInto('leases').values(values));
  if (options.trust?.replication !== 'off') await countLease(trx, owner, units.length);
  return units.map((unit, i) => ({
    id: ids[i]!,
    jobId: unit.jobId,
    jobName: unit.name,
    jobPurpose: unit.purpose,
    unitId: unit.id,
    ...({ kernel: unit.kernel, params: JSON.parse(unit.params) } as WorkSpec),
    kernelVersion: unit.kernel_version,
    units: String(unit.credit),
    deadline: new Date(deadline).toISOString(),
  }));
}
