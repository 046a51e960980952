import { sql, type Transaction } from 'kysely';
import type { Hex, PrivateKeyAccount } from 'viem';
import { getAddress } from 'viem';
import { KernelError } from '../src/errors/kernel-error.ts';
import { kernelDefinitions } from '../src/kernels/registry.ts';
import { errorCodes } from '../src/protocol/error-codes.ts';
import type { ReceiptDomain, WorkReceipt } from '../src/protocol/receipt.ts';
import type { ResultRequest, ResultResponse, WorkSpec } from '../src/protocol/schemas.ts';
import { closeJobIfComplete, keepUnitOutput } from './assimilator.ts';
import { grantCredit } from './credit-ledger.ts';
import { type DatabaseDialect, type Db, dialectOf, readerOf } from './db/database.ts';
import { writeTransaction } from './db/group-commit.ts';
import { runPrepared } from './db/run-prepared.ts';
import type { Database, ResultsTable } from './db/schema.ts';
import { HttpError } from './http-error.ts';
import type { CoordinatorMetrics } from './metrics.ts';
import { ownersLinkedTo } from './owner-links.ts';
import { countersign, nonCanonicalSignature, receiptDigest } from './receipts.ts';
import { recordInvalid, recordValid } from './reputation.ts';
import { recoverSigner } from './secp256k1.ts';
import { refreshUnit } from './transitioner.ts';
import { defaultTrustConfig, type TrustConfig } from './trust-config.ts';
import type { ResultsCheck, ResultsChecked } from './validators/results-check.ts';
import { inlineValidator, type Validator } from './validators/validation-threads.ts';
import type { Verdict } from './validators/verdict.ts';

export interface IntakeContext {
  db: Db;
  metrics?: CoordinatorMetrics;
  domain: ReceiptDomain;
  coordinator: PrivateKeyAccount;
  now: number;
  trust?: TrustConfig;
  /** Where outputs are validated: validation threads in a running coordinator; on this thread, with secure draws, when unset. */
  validator?: Validator;
}

/** What the context's validator finds for a receipt's results, each validation's time recorded in the metrics. */
export async function checkInContext(context: IntakeContext, check: ResultsCheck): Promise<ResultsChecked> {
  const checked = await (context.validator ?? inlineValidator()).check(check);
  for (const [i, { validation }] of checked.outputs.entries()) {
    const kernel = check.outputs[i]!.spec?.kernel;
    if (kernel && validation && !('error' in validation)) context.metrics?.validationSeconds.observe({ kernel }, validation.seconds);
  }
  return checked;
}

/** A canary's verdict: its answer is known, so the output's hash decides. */
export function canaryVerdict(resultHash: string, expectedHash: string | null): Verdict {
  return resultHash === expectedHash ? { valid: true } : { valid: false, reason: 'the output differs from the verified answer for this unit' };
}

/** Whether a check failed because the unit's data inputs cannot be read here (a URL down, or its bytes changed): no fault of the contributor's. */
export function inputsUnreadable(error: unknown): error is KernelError {
  return error instanceof KernelError && error.code.startsWith('SURGE_E_KERNEL_INPUT_');
}

/** After this many invalid results (from as many owners) a unit is failed rather than reissued. */
const kMaxUnitErrors = 5;

/** How long a unit is held for a result the coordinator could not validate yet (inputs unreachable). */
const kInputRetryHoldMs = 60 * 60 * 1000;

/**
 * A result counts while its lease is open: before the deadline, and after it too until the
 * unit is offered to someone else (BOINC accepts late results the work unit still needs),
 * which marks the lease expired. A unit completed by other results closes every other lease.
 */
export function assertLeaseOpen(lease: { state: string; unitState: string }): void {
  if (lease.unitState === 'done' || lease.unitState === 'failed')
    throw new HttpError(409, errorCodes.leaseClosed, 'This unit was already completed by other results; lease new work.', 'lease');
  if (lease.state === 'expired') {
    throw new HttpError(410, errorCodes.leaseExpired, 'This lease passed its deadline and its unit was offered again; lease new work.', 'lease');
  }
  if (lease.state !== 'open') throw new HttpError(409, errorCodes.leaseClosed, `This lease is already closed (${lease.state}); lease new work.`, 'lease');
}

/** Extends a lease and its unit's deadline, while the unit is still out on that lease. */
async function holdLease(db: Db, leaseId: string, unitId: number, until: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const held = await trx.updateTable('units').set({ lease_deadline: until }).where('id', '=', unitId).where('lease_deadline', '<', until).executeTakeFirst();
    if (Number(held.numUpdatedRows) > 0)
      await trx.updateTable('leases').set({ deadline: until }).where('id', '=', leaseId).where('state', '=', 'open').execute();
  });
}

export type StoredResult = { outcome: 'validated' | 'invalid' | 'pending'; reason: string | null; credit: number; countersignature: string | null };

/** Answers a receipt that was judged before with the same verdict, and no new credit. */
function repeatVerdict(digest: Hex, stored: StoredResult): ResultResponse {
  if (stored.outcome === 'invalid') {
    throw new HttpError(422, errorCodes.resultInvalid, `This result was already judged invalid: ${stored.reason}.`, 'output');
  }
  return { status: stored.outcome, digest, credit: String(stored.credit), countersignature: stored.countersignature ?? '0x', duplicate: true };
}

/**
 * Takes one result: checks its receipt against the lease and its signature, validates the
 * output, and on success credits the unit in the same transaction that closes the lease.
 * The same receipt sent again (same EIP-712 digest) gets the same verdict and no new
 * credit; any other result for a closed lease is refused.
 */
export async function acceptResult(body: ResultRequest, context: IntakeContext): Promise<ResultResponse> {
  const { db, domain, now } = context;
  const trust = context.trust ?? defaultTrustConfig;
  const dialect = dialectOf(db);
  // The schema has checked every field's hex pattern.
  const receipt = body.receipt as WorkReceipt;
  if (receipt.lease.toLowerCase() !== body.lease.toLowerCase()) {
    throw new HttpError(400, errorCodes.receiptMismatch, 'receipt.lease differs from the lease the result is sent for.', 'receipt.lease');
  }
  if (BigInt(receipt.seq) >= 2n ** 64n) throw new HttpError(400, errorCodes.badRequest, 'receipt.seq is over the uint64 range.', 'receipt.seq');
  if (BigInt(receipt.units) >= 2n ** 256n) throw new HttpError(400, errorCodes.badRequest, 'receipt.units is over the uint256 range.', 'receipt.units');
  const malleated = nonCanonicalSignature(body.signature as Hex);
  if (malleated) throw new HttpError(401, errorCodes.receiptMalleable, `The receipt's signature is not canonical: ${malleated}.`, 'signature');
  const digest = receiptDigest(domain, receipt);
  // Read on the last commit (no wait for writes in progress); the transaction reads again where it holds.
  const reader = readerOf(db);
  const previous = await resultOfDigest(reader, digest);
  if (previous) {
    // The same receipt again (an outbox retry): the same verdict, once its signature is the session's.
    if ((await recoverSigner(digest, body.signature as Hex)) !== previous.session) throw badSignature(domain);
    return repeatVerdict(digest, previous);
  }

  const [lease] = await leasesForResults(reader, [body.lease.toLowerCase()]);
  if (!lease) throw new HttpError(404, errorCodes.leaseUnknown, `No lease ${body.lease} was issued here.`, 'lease');
  if (receipt.session.toLowerCase() !== lease.session) {
    throw new HttpError(
      403,
      errorCodes.leaseNotYours,
      'This lease was issued to another session; a result can only be sent under the session that holds the lease.',
      'receipt.session',
    );
  }
  if (receipt.owner.toLowerCase() !== lease.owner)
    throw new HttpError(403, errorCodes.leaseNotYours, 'receipt.owner is not the owner of the session that holds this lease.', 'receipt.owner');
  if (receipt.units !== String(lease.credit)) {
    throw new HttpError(400, errorCodes.receiptMismatch, `receipt.units is ${receipt.units}, but the lease offers ${lease.credit}.`, 'receipt.units');
  }
  const { spec, outputBytes } = leaseSpec(lease);
  const resultHash = receipt.resultHash.toLowerCase();
  // What the lease's and session's states refuse is read now and said after the receipt's own
  // checks, as before; a result they refuse is not validated.
  const refusedByState = await stateRefusal(reader, lease, receipt, now);
  // The output's hash, the signer and the validation, off the event loop (results-check.ts).
  const checked = await checkInContext(context, {
    digest,
    signature: body.signature as Hex,
    session: lease.session,
    outputs: [{ base64: body.output, resultHash, expectedBytes: outputBytes, spec: lease.canary === 1 || refusedByState ? undefined : spec }],
  });
  const { bytes: output, hash, validation } = checked.outputs[0]!;
  if (hash !== resultHash) {
    throw new HttpError(400, errorCodes.receiptMismatch, 'receipt.resultHash is not the keccak-256 of the output sent.', 'receipt.resultHash');
  }
  if (checked.signer !== lease.session) throw badSignature(domain);
  if (refusedByState) throw refusedByState;
  assertOutputShape(output, spec, outputBytes, 'output');
  // A canary's answer is known: its hash decides. Any other result gets its kernel's cheap check.
  const checkedOutput = lease.canary === 1 ? { verdict: canaryVerdict(resultHash, lease.expectedHash) } : validation;
  if (!checkedOutput) throw new Error('a result that passed every check came back from the validator unvalidated');
  if ('error' in checkedOutput) {
    // Inputs unreadable here: the result waits in the contributor's outbox and comes back later.
    if (inputsUnreadable(checkedOutput.error)) {
      // Hold the unit for this lease meanwhile, so the retry is not refused as expired.
      await holdLease(db, lease.id, lease.unit_id, now + kInputRetryHoldMs);
      throw new HttpError(
        503,
        errorCodes.inputUnavailable,
        `The coordinator cannot read this unit's inputs right now (${checkedOutput.error.shortMessage}); send the result again later.`,
      );
    }
    throw checkedOutput.error;
  }
  const { verdict } = checkedOutput;

  // One write transaction, shared with others at the same moment (group commit on SQLite).
  const outcome = await writeTransaction(db, async (trx) => {
    await lockSession(trx, dialect, lease.session);
    const judged = await judgeResult(trx, {
      lease,
      digest,
      seq: receipt.seq,
      checkSeq: true,
      resultHash,
      output,
      verdict,
      now,
      trust,
      dialect,
      coordinator: context.coordinator,
      countersignature: () => countersign(context.coordinator, digest),
    });
    // A unit's output is now in (or it failed for good): the job may be complete.
    if ('status' in judged && judged.status !== 'pending') await closeJobIfComplete(trx, lease.job_id, judged.status === 'invalid' && judged.unitFailed);
    return judged;
  });
  if ('repeat' in outcome) {
    context.metrics?.results.inc({ outcome: 'duplicate', kernel: spec.kernel });
    return repeatVerdict(digest, outcome.repeat);
  }
  context.metrics?.results.inc({ outcome: outcome.status, kernel: spec.kernel });
  if (outcome.status === 'invalid')
    throw new HttpError(422, errorCodes.resultInvalid, `The result is wrong: ${outcome.reason}. No credit was granted.`, 'output');
  if (outcome.status === 'pending') return { status: 'pending', digest, credit: '0', countersignature: '0x', duplicate: false };
  return { status: 'validated', digest, credit: String(outcome.credit), countersignature: outcome.countersignature ?? '0x', duplicate: false };
}

/** A lease with the unit fields a result is judged against. */
export type LeaseForResult = Awaited<ReturnType<typeof leasesForResults>>[number];

/**
 * What never changes about a lease once issued: whose it is and what unit, kernel and credit it
 * offers. Judging reads the states again in its transaction, so it takes no more than this.
 */
export type LeaseFacts = Omit<LeaseForResult, 'state' | 'unitState' | 'quorum' | 'deadline'>;

/** The leases (by lowercase id) results are sent for, joined with their units; unknown ids are missing. */
export async function leasesForResults(db: Db, ids: readonly string[]) {
  const { rows } = await runPrepared(db, 'leases-for-results', { ids }, (values) =>
    db
      .selectFrom('leases')
      .innerJoin('units', 'units.id', 'leases.unit_id')
      .select([
        'leases.id',
        'leases.unit_id',
        'leases.session',
        'leases.owner',
        'leases.deadline',
        'leases.state',
        'units.kernel',
        'units.params',
        'units.credit',
        'units.state as unitState',
        'units.job_id',
        'units.quorum',
        'units.canary',
        'units.expected_hash as expectedHash',
      ])
      .where('leases.id', 'in', values.ids),
  );
  return rows;
}

/** What `judgeResult` needs besides the transaction: one result whose receipt and output have been checked. */
export interface JudgeInput {
  lease: LeaseFacts;
  /** The key of the results row: the receipt's digest (a batch item's: see result-batch-intake.ts). */
  digest: Hex;
  seq: string;
  /**
   * Whether the sequence number is checked unused by the lease's session once the digest is
   * known to be new: a single receipt's (a batch's is checked for the whole batch).
   */
  checkSeq?: boolean;
  resultHash: string;
  output: Uint8Array;
  verdict: Verdict;
  now: number;
  trust: TrustConfig;
  dialect: DatabaseDialect;
  coordinator: PrivateKeyAccount;
  /** The countersignature stored with this result once validated (null: the batch's covers it). */
  countersignature: () => Promise<string | null>;
}

/**
 * Records one result's verdict, inside the caller's transaction: the credit, the lease and the
 * unit's state, reputation, the quorum of replicas and the assimilator's part. Throws an
 * HttpError, before writing anything, when the lease is no longer open.
 */
export async function judgeResult(trx: Transaction<Database>, input: JudgeInput): Promise<{ repeat: StoredResult } | Judged> {
  const { lease, digest, resultHash, output, verdict, now, trust, dialect } = input;
  const adaptive = trust.replication === 'adaptive';
  const canary = lease.canary === 1;
  // Re-read inside the transaction: another request may have closed the lease meanwhile.
  // On PostgreSQL, lock the unit row: results of one unit's replicas are judged one at a time.
  const [unit] = (
    await runPrepared(trx, 'judged-unit', { id: lease.unit_id }, (values) =>
      trx
        .selectFrom('units')
        .select(['state as unitState', 'errors', 'quorum'])
        .where('id', '=', values.id)
        .$if(dialect === 'postgres', (qb) => qb.forUpdate()),
    )
  ).rows;
  const [current] = (await runPrepared(trx, 'judged-lease', { id: lease.id }, (values) => trx.selectFrom('leases').select('state').where('id', '=', values.id)))
    .rows;
  if (!unit || !current) throw new Error(`lease ${lease.id} or its unit ${lease.unit_id} is missing`);
  const judged = await resultOfDigest(trx, digest);
  if (judged) return { repeat: judged };
  if (input.checkSeq) await assertSeqUnused(trx, lease.session, { session: lease.session, seq: input.seq });
  assertLeaseOpen({ state: current.state, unitState: canary ? 'leased' : unit.unitState });
  const record = (outcome: ResultsTable['outcome'], reason: string | null, credit: number, countersignature: string | null) => {
    const row = {
      digest,
      lease_id: lease.id,
      unit_id: lease.unit_id,
      owner: lease.owner,
      session: lease.session,
      result_hash: resultHash,
      seq: input.seq,
      outcome,
      reason,
      credit,
      countersignature,
      created_at: now,
    };
    return runPrepared(trx, 'insert-result', row, (values) => trx.insertInto('results').values(values));
  };
  const setLeaseVerdict = (state: 'validated' | 'invalid' | 'pending') =>
    runPrepared(trx, 'judged-lease-state', { id: lease.id, state, resultHash }, (values) =>
      trx.updateTable('leases').set({ state: values.state, result_hash: values.resultHash }).where('id', '=', values.id),
    );

  if (!verdict.valid) {
    let unitFailed = false;
    await setLeaseVerdict('invalid');
    await record('invalid', verdict.reason, 0, null);
    if (adaptive) await recordInvalid(trx, lease.owner, trust, canary);
    // A wrong canary marks its owner: the results it has waiting for a quorum are not paid.
    if (canary) await withholdPending(trx, lease.owner);
    else {
      // Each invalid result comes from a different owner (the feeder never gives an owner a
      // unit it failed), so kMaxUnitErrors means that many independent failures.
      const errors = unit.errors + 1;
      unitFailed = errors >= kMaxUnitErrors;
      await trx
        .updateTable('units')
        .set({ errors, ...(unitFailed ? { state: 'failed' as const, lease_deadline: null, current_lease: null } : {}) })
        .where('id', '=', lease.unit_id)
        .execute();
      if (!unitFailed) await refreshUnit(trx, lease.unit_id);
    }
    return { status: 'invalid', reason: verdict.reason, unitFailed };
  }

  if (canary || unit.quorum <= 1) {
    const countersignature = await input.countersignature();
    const credit = await grantCredit(trx, { unitId: lease.unit_id, owner: lease.owner, leaseId: lease.id, amount: lease.credit, now }, trust, dialect);
    await setLeaseVerdict('validated');
    await record('validated', null, credit, countersignature);
    if (adaptive) await recordValid(trx, lease.owner, trust, canary);
    if (!canary) {
      // The assimilator's part happens in the same transaction as the credit, so a crash can
      // never leave a unit paid for but missing from its job's output.
      await keepUnitOutput(trx, lease.unit_id, lease.job_id, output);
      await markUnitDone(trx, lease.unit_id);
    }
    return { status: 'validated', credit, countersignature };
  }

  // Replicated: the result waits until `quorum` replicas agree on its hash (exact kernels).
  await setLeaseVerdict('pending');
  await record('pending', null, 0, null);
  const agreeing = await trx
    .selectFrom('leases')
    .select(['id', 'owner'])
    .where('unit_id', '=', lease.unit_id)
    .where('state', '=', 'pending')
    .where('result_hash', '=', resultHash)
    .execute();
  if (agreeing.length < unit.quorum) {
    await refreshUnit(trx, lease.unit_id);
    return { status: 'pending' };
  }
  let own: Judged = { status: 'pending' };
  for (const replica of agreeing) {
    const stored = await trx
      .selectFrom('results')
      .select('digest')
      .where('lease_id', '=', replica.id)
      .where('outcome', '=', 'pending')
      .executeTakeFirstOrThrow();
    const countersignature = await countersign(input.coordinator, stored.digest as Hex);
    const credit = await grantCredit(trx, { unitId: lease.unit_id, owner: replica.owner, leaseId: replica.id, amount: lease.credit, now }, trust, dialect);
    await trx.updateTable('leases').set({ state: 'validated' }).where('id', '=', replica.id).execute();
    await trx.updateTable('results').set({ outcome: 'validated', credit, countersignature }).where('digest', '=', stored.digest).execute();
    if (adaptive) await recordValid(trx, replica.owner, trust, false);
    if (replica.id === lease.id) own = { status: 'validated', credit, countersignature };
  }
  // The odd ones out: results that passed the cheap check but disagree with the quorum.
  const odd = await trx.selectFrom('leases').select(['id', 'owner']).where('unit_id', '=', lease.unit_id).where('state', '=', 'pending').execute();
  for (const replica of odd) {
    await trx.updateTable('leases').set({ state: 'invalid' }).where('id', '=', replica.id).execute();
    await trx
      .updateTable('results')
      .set({ outcome: 'invalid', reason: `the output differs from ${agreeing.length} agreeing replicas` })
      .where('lease_id', '=', replica.id)
      .execute();
    if (adaptive) await recordInvalid(trx, replica.owner, trust, false);
  }
  await keepUnitOutput(trx, lease.unit_id, lease.job_id, output);
  await markUnitDone(trx, lease.unit_id);
  return own;
}

/** A unit whose output is in: done, with no deadline and no lease out. */
async function markUnitDone(trx: Transaction<Database>, unitId: number): Promise<void> {
  await runPrepared(trx, 'unit-done', { id: unitId, state: 'done' as const, cleared: null }, (values) =>
    trx.updateTable('units').set({ state: values.state, lease_deadline: values.cleared, current_lease: values.cleared }).where('id', '=', values.id),
  );
}

/** The result recorded under this receipt digest, if any. */
async function resultOfDigest(db: Db, digest: Hex) {
  const { rows } = await runPrepared(db, 'result-of-digest', { digest }, (values) =>
    db.selectFrom('results').select(['session', 'outcome', 'reason', 'credit', 'countersignature']).where('digest', '=', values.digest),
  );
  return rows[0];
}

export type Judged =
  | { status: 'validated'; credit: number; countersignature: string | null }
  | { status: 'pending' }
  | { status: 'invalid'; reason: string; unitFailed: boolean };

/**
 * After a wrong canary: the owner's results still waiting for a quorum are judged invalid and
 * earn nothing, and their units ask for another replica.
 */
async function withholdPending(trx: Transaction<Database>, owner: string): Promise<void> {
  const pending = await pendingLeasesOf(trx, owner).execute();
  for (const replica of pending) {
    await trx.updateTable('leases').set({ state: 'invalid' }).where('id', '=', replica.id).execute();
    await trx
      .updateTable('results')
      .set({ outcome: 'invalid', reason: 'withheld: this owner sent a wrong answer for a unit whose answer is known' })
      .where('lease_id', '=', replica.id)
      .execute();
    await refreshUnit(trx, replica.unit_id);
  }
}

/**
 * The replicas `owner` has waiting for a quorum. The state is a literal, so that the partial
 * index of pending leases serves it (migration 0014): no other index reads leases by owner.
 */
export function pendingLeasesOf(db: Db, owner: string) {
  return db.selectFrom('leases').select(['id', 'unit_id']).where('owner', '=', owner).where('state', '=', sql.lit('pending'));
}

/** The ledger's totals for one owner, with those of the owner keys linked to it (a wallet's). */
export async function ownerCredit(db: Db, owner: string): Promise<{ validatedResults: number; credit: string; linkedOwners: string[] }> {
  const address = owner.toLowerCase();
  const linked = await ownersLinkedTo(db, address);
  // What this address earned itself, and what keys linked to it earned from their link on:
  // the same rule settlement pays by (cumulative-credit-by-payee.ts).
  const row = await db
    .selectFrom('credits')
    .leftJoin('owner_links', (join) => join.onRef('owner_links.owner', '=', 'credits.owner').onRef('owner_links.created_at', '<=', 'credits.created_at'))
    .select((eb) => [eb.fn.countAll<number>().as('results'), eb.fn.sum<number>('credits.amount').as('credit')])
    .where((eb) => eb.or([eb('credits.owner', '=', address), eb('owner_links.wallet', '=', address)]))
    .executeTakeFirstOrThrow();
  return { validatedResults: Number(row.results), credit: String(row.credit ?? 0), linkedOwners: linked.map((linkedOwner) => getAddress(linkedOwner)) };
}

/** A session numbers its receipts, single and batch alike: a number used before is a replay. */
export async function assertSeqUnused(db: Db, session: string, receipt: { session: string; seq: string }): Promise<void> {
  const key = { session, seq: receipt.seq };
  const reused =
    (
      await runPrepared(db, 'batch-of-seq', key, (values) =>
        db.selectFrom('result_batches').select('digest').where('session', '=', values.session).where('seq', '=', values.seq),
      )
    ).rows[0] ??
    (
      await runPrepared(db, 'result-of-seq', key, (values) =>
        db.selectFrom('results').select('digest').where('session', '=', values.session).where('seq', '=', values.seq),
      )
    ).rows[0];
  if (reused) {
    throw new HttpError(
      409,
      errorCodes.receiptReplayed,
      `Session ${receipt.session} already used sequence number ${receipt.seq} for another receipt (${reused.digest}).`,
      'receipt.seq',
    );
  }
}

/**
 * Why the session's or the lease's state refuses a result now, or undefined: the session is
 * revoked or expired, the receipt's sequence number was used, or the lease is closed.
 */
function stateRefusal(db: Db, lease: LeaseForResult, receipt: WorkReceipt, now: number): Promise<HttpError | undefined> {
  return refusalOf(async () => {
    const [session] = (
      await runPrepared(db, 'session-state', { address: lease.session }, (values) =>
        db.selectFrom('sessions').select(['revoked_at', 'expires_at']).where('address', '=', values.address),
      )
    ).rows;
    if (!session) throw new Error(`session ${lease.session} of lease ${lease.id} is missing`);
    assertSessionCurrent(session, lease.session, now);
    await assertSeqUnused(db, lease.session, receipt);
    assertLeaseOpen({ state: lease.state, unitState: lease.canary === 1 ? 'leased' : lease.unitState });
  });
}

/**
 * The HttpError with which `assertions` refuse, or undefined when they pass: a refusal read
 * before a receipt's own checks and said after them. Any other error is thrown.
 */
export async function refusalOf(assertions: () => Promise<void>): Promise<HttpError | undefined> {
  try {
    await assertions();
    return undefined;
  } catch (error) {
    if (error instanceof HttpError) return error;
    throw error;
  }
}

/**
 * Locks the receipt's session row for the transaction on PostgreSQL, so two processes never
 * accept one sequence number twice (SQLite has one writer, and needs no lock).
 */
export async function lockSession(trx: Transaction<Database>, dialect: DatabaseDialect, session: string): Promise<void> {
  if (dialect === 'postgres') await trx.selectFrom('sessions').select('address').where('address', '=', session).forUpdate().execute();
}

/** The unit a lease is for, and the length in bytes of its output. */
export function leaseSpec(lease: { kernel: string; params: string }): { spec: WorkSpec; outputBytes: number } {
  const spec = { kernel: lease.kernel, params: JSON.parse(lease.params) } as WorkSpec;
  return { spec, outputBytes: (kernelDefinitions[spec.kernel].outputBytes as (params: WorkSpec['params']) => number)(spec.params) };
}

/** An output of another length than its unit's is refused (400), naming `field`. */
export function assertOutputShape(output: Uint8Array, spec: WorkSpec, outputBytes: number, field: string): void {
  if (output.byteLength !== outputBytes) {
    throw new HttpError(400, errorCodes.resultShape, `output has ${output.byteLength} bytes; this ${spec.kernel} unit's output has ${outputBytes}.`, field);
  }
}

export function badSignature(domain: ReceiptDomain): HttpError {
  return new HttpError(
    401,
    errorCodes.receiptSignature,
    `The receipt is not signed by the session key it names under this coordinator's EIP-712 domain (chain ${domain.chainId}, verifying contract ${domain.verifyingContract}); a receipt signed for another coordinator or chain is refused.`,
    'signature',
  );
}

/** A receipt counts only while its session is neither revoked nor expired. */
export function assertSessionCurrent(session: { revoked_at: number | null; expires_at: number }, address: string, now: number): void {
  if (session.revoked_at != null) {
    throw new HttpError(401, errorCodes.sessionRevoked, `Session ${address} was revoked; its receipts are refused.`, 'receipt.session');
  }
  if (session.expires_at <= now) {
    throw new HttpError(401, errorCodes.sessionExpired, `Session ${address} expired before this receipt arrived; its receipts are refused.`, 'receipt.session');
  }
}
