import type { Transaction } from 'kysely';
import type { Hex, PrivateKeyAccount } from 'viem';
import { addUnitsDoneToJob, closeJobIfComplete } from './assimilator.ts';
import { creditRoom } from './credit-ledger.ts';
import type { DatabaseDialect } from './db/database.ts';
import { runPrepared } from './db/run-prepared.ts';
import type { Database } from './db/schema.ts';
import { textPerRow } from './db/text-per-row.ts';
import { addEarned } from './epoch-credit.ts';
import { HttpError } from './http-error.ts';
import { assertLeaseOpen, type Judged, judgeResult, type LeaseFacts, type StoredResult } from './result-intake.ts';
import type { TrustConfig } from './trust-config.ts';
import type { Verdict } from './validators/verdict.ts';

type Trx = Transaction<Database>;

/** One result of a batch whose receipt entry, lease and output passed the checks that need no transaction. */
export interface BatchItem {
  index: number;
  lease: LeaseFacts;
  /** The results-table key of this result (see batchItemDigest), worked out only for a result that gets a row. */
  itemDigest: () => Hex;
  resultHash: string;
  output: Uint8Array;
  verdict: Verdict;
}

export interface BatchJudgeContext {
  seq: string;
  now: number;
  trust: TrustConfig;
  dialect: DatabaseDialect;
  coordinator: PrivateKeyAccount;
}

/**
 * What became of each result (by batch index), and how many units of each job the bulk
 * assimilated: the caller adds those to the jobs' counts last, just before COMMIT (see
 * addUnitsDone).
 */
export interface JudgedBatch {
  outcomes: Map<number, BatchOutcome>;
  unitsDone: Map<number, number>;
}

/** What became of one result: judged (or judged before), or refused with the single endpoint's error. */
export type BatchOutcome = Judged | { repeat: StoredResult } | { refused: HttpError };

/**
 * Judges every result of a batch inside the caller's transaction, with the same rules as
 * `judgeResult` but a few statements for the whole batch instead of a dozen per result: the
 * common case, a valid result of a unit that needs no quorum (or a canary), is credited,
 * recorded and assimilated in bulk. Results that wait for or complete a quorum, and invalid
 * ones, go through `judgeResult` one at a time, after the bulk, so an invalid result in a
 * batch still leaves its owner's streak at zero.
 */
export async function judgeBatch(trx: Trx, items: readonly BatchItem[], context: BatchJudgeContext): Promise<JudgedBatch> {
  const outcomes = new Map<number, BatchOutcome>();
  const unitsDone = new Map<number, number>();
  if (items.length === 0) return { outcomes, unitsDone };
  const current = await currentStates(trx, items, context.dialect);
  const bulk: BatchItem[] = [];
  const oneByOne: BatchItem[] = [];
  // No result of this batch was judged before: its digest (which every result's key derives
  // from) was checked in this transaction, and it is written with them.
  for (const item of items) {
    const state = current.get(item.lease.id)!;
    const canary = item.lease.canary === 1;
    try {
      assertLeaseOpen({ state: state.state, unitState: canary ? 'leased' : state.unitState });
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      outcomes.set(item.index, { refused: error });
      continue;
    }
    (item.verdict.valid && (canary || state.quorum <= 1) ? bulk : oneByOne).push(item);
  }
  for (const [index, credit] of await creditValidated(trx, bulk, context, unitsDone))
    outcomes.set(index, { status: 'validated', credit, countersignature: null });
  for (const item of oneByOne) {
    try {
      outcomes.set(item.index, await judgeResult(trx, { ...context, ...item, digest: item.itemDigest(), countersignature: async () => null }));
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      outcomes.set(item.index, { refused: error });
    }
  }
  return { outcomes, unitsDone };
}

/** The leases' and units' states now, read in the transaction (on PostgreSQL the units are locked, in id order). */
async function currentStates(trx: Trx, items: readonly BatchItem[], dialect: DatabaseDialect) {
  const { rows } = await runPrepared(trx, 'batch-lease-states', { ids: items.map((item) => item.lease.id) }, (values) =>
    trx
      .selectFrom('leases')
      .innerJoin('units', 'units.id', 'leases.unit_id')
      .select(['leases.id', 'leases.state', 'units.state as unitState', 'units.quorum'])
      .where('leases.id', 'in', values.ids)
      .orderBy('units.id')
      .$if(dialect === 'postgres', (qb) => qb.forUpdate(['units'])),
  );
  return new Map(rows.map((row) => [row.id, row]));
}

/**
 * Credits, records and assimilates valid results that need no quorum, all of one session
 * (so one owner): the credit ledger's cap applied in unit order, one row per unit and owner,
 * as `grantCredit` does; reputation as `recordValid` applied once per result. Returns the
 * credit granted per batch index.
 *
 * They get no row in `results`: nothing reads one back (a unit without a quorum has no
 * replicas to compare, and a batch sent again is answered from `result_batches`), and each
 * would be an insert into two indexes on random keys. What the result was is kept all the
 * same: the lease's state and result hash, the credit row, the unit's output, and the batch's
 * row with every verdict and the countersigned root.
 */
async function creditValidated(
  trx: Trx,
  items: readonly BatchItem[],
  context: BatchJudgeContext,
  unitsDone: Map<number, number>,
): Promise<Map<number, number>> {
  const granted = new Map<number, number>();
  if (items.length === 0) return granted;
  const { now, trust, dialect } = context;
  const owner = items[0]!.lease.owner;
  if (items.some((item) => item.lease.owner !== owner)) throw new Error('a batch holds the results of one owner');
  const unitIds = items.map((item) => item.lease.unit_id);
  const paidBefore = await runPrepared(trx, 'batch-paid-units', { owner, unitIds }, (values) =>
    trx.selectFrom('credits').select('unit_id').where('owner', '=', values.owner).where('unit_id', 'in', values.unitIds),
  );
  const paid = new Set(paidBefore.rows.map((row) => row.unit_id));
  const capped = await creditRoom(trx, owner, now, trust, dialect);
  const { epoch } = capped;
  let room = capped.room;
  const credits: Database['credits'][] = [];
  for (const item of items) {
    if (paid.has(item.lease.unit_id)) {
      granted.set(item.index, 0);
      continue;
    }
    const amount = Math.min(item.lease.credit, room);
    room -= amount;
    granted.set(item.index, amount);
    credits.push({ unit_id: item.lease.unit_id, owner, lease_id: item.lease.id, amount, created_at: now });
    paid.add(item.lease.unit_id);
  }
  if (credits.length > 0) {
    await runPrepared(trx, 'batch-credits', credits, (values) =>
      trx
        .insertInto('credits')
        .values(values)
        .onConflict((oc) => oc.columns(['unit_id', 'owner']).doNothing()),
    );
    // The units paid before are left out above. Over PostgreSQL a row another process inserted meanwhile
    // would be skipped yet counted here: the total then errs towards the cap, never past it.
    await addEarned(
      trx,
      owner,
      epoch,
      credits.reduce((sum, credit) => sum + credit.amount, 0),
    );
  }
  const validated = {
    state: 'validated' as const,
    hashes: items.map((item) => [item.lease.id, item.resultHash] as const),
    ids: items.map((item) => item.lease.id),
  };
  await runPrepared(trx, 'batch-validated-leases', validated, (values) =>
    trx
      .updateTable('leases')
      .set({ state: values.state, result_hash: textPerRow(values.hashes) })
      .where('id', 'in', values.ids),
  );
  if (trust.replication === 'adaptive') await recordValidResults(trx, owner, trust, items.length, items.filter((item) => item.lease.canary === 1).length);
  await assimilate(
    trx,
    items.filter((item) => item.lease.canary !== 1),
    unitsDone,
  );
  return granted;
}

/** `recordValid` for `valid` results at once, `canaries` of them canaries. */
async function recordValidResults(trx: Trx, owner: string, trust: TrustConfig, valid: number, canaries: number): Promise<void> {
  const [host] = (
    await runPrepared(trx, 'batch-host', { owner }, (values) =>
      trx.selectFrom('hosts').select(['streak', 'quota', 'probation']).where('owner', '=', values.owner),
    )
  ).rows;
  if (!host) return;
  const standing = {
    owner,
    streak: host.streak + valid,
    quota: Math.min(trust.maxQuota, host.quota + trust.quotaStep * valid),
    probation: Math.max(0, host.probation - canaries),
  };
  await runPrepared(trx, 'batch-host-standing', standing, (values) =>
    trx.updateTable('hosts').set({ streak: values.streak, quota: values.quota, probation: values.probation }).where('owner', '=', values.owner),
  );
}

/**
 * The assimilator's part (`keepUnitOutput`) for units done by these results: outputs kept
 * once per unit and the units done; `unitsDone` counts, per job, the outputs actually kept.
 */
async function assimilate(trx: Trx, items: readonly BatchItem[], unitsDone: Map<number, number>): Promise<void> {
  if (items.length === 0) return;
  const outputs = items.map((item) => ({ unit_id: item.lease.unit_id, output: item.output }));
  const { rows: kept } = await runPrepared(trx, 'batch-unit-outputs', outputs, (values) =>
    trx
      .insertInto('unit_outputs')
      .values(values)
      .onConflict((oc) => oc.column('unit_id').doNothing())
      .returning('unit_id'),
  );
  const done = { state: 'done' as const, cleared: null, assimilated: 1, ids: items.map((item) => item.lease.unit_id) };
  await runPrepared(trx, 'batch-units-done', done, (values) =>
    trx
      .updateTable('units')
      .set({ state: values.state, lease_deadline: values.cleared, current_lease: values.cleared, assimilated: values.assimilated })
      .where('id', 'in', values.ids),
  );
  const keptIds = new Set(kept.map((row) => row.unit_id));
  for (const item of items) if (keptIds.has(item.lease.unit_id)) unitsDone.set(item.lease.job_id, (unitsDone.get(item.lease.job_id) ?? 0) + 1);
}

/**
 * Adds units done to their jobs' counts and closes the jobs now complete (or failed). Every
 * result of a job writes its one row: on PostgreSQL the row stays locked until COMMIT, so this
 * is the transaction's last statement, and transactions of several processes wait for each
 * other only that long.
 */
export async function addUnitsDone(trx: Trx, unitsDone: ReadonlyMap<number, number>, closing: ReadonlyMap<number, boolean>): Promise<void> {
  for (const jobId of [...new Set([...unitsDone.keys(), ...closing.keys()])].sort((a, b) => a - b)) {
    const done = unitsDone.get(jobId) ?? 0;
    if (done > 0) await addUnitsDoneToJob(trx, jobId, done);
    if (closing.has(jobId)) await closeJobIfComplete(trx, jobId, closing.get(jobId));
  }
}
