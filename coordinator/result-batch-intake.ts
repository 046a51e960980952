import { concatHex, type Hex } from 'viem';
import type { BatchVerdict, ResultBatchRequest, ResultBatchResponse } from '../src/protocol/batch-schemas.ts';
import { errorCodes } from '../src/protocol/error-codes.ts';
import { type BatchEntry, batchResultsRoot, type WorkBatchReceipt } from '../src/protocol/receipt.ts';
import type { WorkSpec } from '../src/protocol/schemas.ts';
import { addUnitsDone, judgeBatch } from './batch-judge.ts';
import { type Db, dialectOf, readerOf } from './db/database.ts';
import { writeTransaction } from './db/group-commit.ts';
import { runPrepared } from './db/run-prepared.ts';
import { HttpError } from './http-error.ts';
import { issuedLeasesOf } from './issued-leases.ts';
import { fastKeccak256 } from './keccak.ts';
import { batchReceiptDigest, countersign, nonCanonicalSignature } from './receipts.ts';
import {
  assertOutputShape,
  assertSeqUnused,
  assertSessionCurrent,
  badSignature,
  canaryVerdict,
  checkInContext,
  type IntakeContext,
  inputsUnreadable,
  type Judged,
  type LeaseFacts,
  leaseSpec,
  leasesForResults,
  lockSession,
  refusalOf,
  type StoredResult,
} from './result-intake.ts';
import { defaultTrustConfig } from './trust-config.ts';
import type { ResultsChecked } from './validators/results-check.ts';
import type { Verdict } from './validators/verdict.ts';

/** The results-table key of one result in a batch: keccak256(batch digest ‖ lease). */
export function batchItemDigest(batchDigest: Hex, lease: Hex): Hex {
  return fastKeccak256(concatHex([batchDigest, lease]));
}

/** The hash the coordinator signs for a batch: keccak256(batch digest ‖ root of the results it validated). */
export function batchCountersignedHash(batchDigest: Hex, validatedRoot: Hex): Hex {
  return fastKeccak256(concatHex([batchDigest, validatedRoot]));
}

function rejected(lease: string, error: HttpError): BatchVerdict {
  return { lease, status: 'rejected', credit: '0', code: error.code, message: error.shortMessage };
}

/** A result whose receipt entry, lease and output passed every check that needs no transaction. */
interface Checked {
  index: number;
  lease: LeaseFacts;
  output: Uint8Array;
  resultHash: string;
  verdict: Verdict;
}

/**
 * Takes a batch of results under one `WorkBatchReceipt`: one signature recovered, one
 * replay check, one transaction for every result's bookkeeping. The batch as a whole is
 * refused (4xx, like a single receipt) when it is malformed, forged, replayed, or its session
 * is revoked or expired; otherwise each result gets its own verdict (validated, pending or
 * rejected with the code the single endpoint would answer), and one bad result costs only
 * itself. The same batch sent again answers the same verdicts and pays nothing more.
 */
export async function acceptResultBatch(body: ResultBatchRequest, context: IntakeContext): Promise<ResultBatchResponse> {
  const { db, domain, now } = context;
  const trust = context.trust ?? defaultTrustConfig;
  const dialect = dialectOf(db);
  const receipt = body.receipt as WorkBatchReceipt;
  const session = receipt.session.toLowerCase();
  if (receipt.count !== body.results.length) {
    throw new HttpError(
      400,
      errorCodes.receiptMismatch,
      `receipt.count is ${receipt.count}, but the batch carries ${body.results.length} results.`,
      'receipt.count',
    );
  }
  if (BigInt(receipt.seq) >= 2n ** 64n) throw new HttpError(400, errorCodes.badRequest, 'receipt.seq is over the uint64 range.', 'receipt.seq');
  const leaseIds = body.results.map((result) => result.lease.toLowerCase());
  const firstRepeat = leaseIds.findIndex((id, index) => leaseIds.indexOf(id) !== index);
  if (firstRepeat >= 0)
    throw new HttpError(400, errorCodes.badRequest, `results.${firstRepeat}.lease appears twice in this batch.`, `results.${firstRepeat}.lease`);
  const entries: BatchEntry[] = body.results.map((result) => ({ lease: result.lease as Hex, resultHash: result.resultHash as Hex, units: result.units }));
  const receiptRoot = receipt.resultsRoot.toLowerCase() as Hex;
  const malleated = nonCanonicalSignature(body.signature as Hex);
  const digest = batchReceiptDigest(domain, receipt);

  // What refuses the batch whole (a batch judged before, its session's state) is read on the
  // last commit (no wait for writes in progress), and said once the receipt is known to be the
  // session's; the checks in the transaction hold.
  const reader = readerOf(db);
  const previous = malleated ? undefined : await batchOfDigest(reader, digest);
  const refusedBySession = malleated || previous ? undefined : await refusalOf(() => assertBatchSession(reader, receipt, now));

  // The leases this process issued are known; others are read (issued-leases.ts).
  const issued = issuedLeasesOf(db);
  const { known, unknown } = issued.recall(leaseIds);
  const leases = new Map<string, LeaseFacts>(known.map((lease) => [lease.id, lease]));
  if (unknown.length > 0) for (const lease of await leasesForResults(reader, unknown)) leases.set(lease.id, lease);
  const verdicts: BatchVerdict[] = new Array(body.results.length);
  const prechecked = body.results.map((result, index) => {
    try {
      return precheckResult(index, result, leases.get(leaseIds[index]!), session);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      verdicts[index] = rejected(result.lease, error);
      return undefined;
    }
  });
  // The root, the signer, every output's bytes and hash, and the validations, off the event loop
  // (results-check.ts): a batch refused whole is not validated.
  const validating = !malleated && !previous && !refusedBySession;
  const checked = await checkInContext(context, {
    digest,
    signature: body.signature as Hex,
    session,
    batch: { entries, resultsRoot: receiptRoot },
    outputs: body.results.map((result, index) => {
      const item = prechecked[index];
      return {
        base64: result.output,
        resultHash: result.resultHash.toLowerCase(),
        expectedBytes: item?.outputBytes,
        spec: validating && item && item.lease.canary !== 1 ? item.spec : undefined,
      };
    }),
  });
  if (!checked.rootMatches) {
    throw new HttpError(
      400,
      errorCodes.receiptMismatch,
      'receipt.resultsRoot does not commit to these results (lease, resultHash, units, in this order).',
      'receipt.resultsRoot',
    );
  }
  if (malleated) throw new HttpError(401, errorCodes.receiptMalleable, `The receipt's signature is not canonical: ${malleated}.`, 'signature');
  // One signature for the whole batch: the point of batching (see docs/decisions/0010-result-batches.md).
  if (checked.signer !== session) throw badSignature(domain);
  if (previous) return repeatBatch(reader, digest, previous);
  if (refusedBySession) throw refusedBySession;
  const toJudge = judgeableResults(prechecked, checked, (index, error) => {
    verdicts[index] = rejected(body.results[index]!.lease, error);
  });

  // Units in id order, so two processes judging overlapping batches on PostgreSQL lock them in one order.
  toJudge.sort((a, b) => a.lease.unit_id - b.lease.unit_id);
  const outcomes = new Map<number, Judged | { repeat: StoredResult }>();
  const stored = await writeTransaction(db, async (trx) => {
    await lockSession(trx, dialect, session);
    const judgedBefore = await batchOfDigest(trx, digest);
    if (judgedBefore) return { repeat: await repeatBatch(trx, digest, judgedBefore) };
    await assertBatchSession(trx, receipt, now);
    const { outcomes: judged, unitsDone } = await judgeBatch(
      trx,
      toJudge.map((item) => ({ ...item, itemDigest: () => batchItemDigest(digest, item.lease.id as Hex) })),
      { seq: receipt.seq, now, trust, dialect, coordinator: context.coordinator },
    );
    for (const [index, outcome] of judged) {
      // A lease closed meanwhile is refused before anything is written for it: the others go on.
      if ('refused' in outcome) verdicts[index] = rejected(body.results[index]!.lease, outcome.refused);
      else outcomes.set(index, outcome);
    }
    for (const [index, outcome] of outcomes) verdicts[index] = verdictOf(body.results[index]!.lease, outcome);
    // Units' outputs are in (or failed for good): their jobs may be complete.
    const closing = new Map<number, boolean>();
    for (const item of toJudge) {
      const outcome = outcomes.get(item.index);
      if (!outcome || 'repeat' in outcome || outcome.status === 'pending') continue;
      const failed = outcome.status === 'invalid' && outcome.unitFailed;
      closing.set(item.lease.job_id, (closing.get(item.lease.job_id) ?? false) || failed);
    }
    const validated = entries.filter((_, index) => verdicts[index]!.status === 'validated');
    // When every result is validated the root is the receipt's own, checked above.
    const validatedRoot = validated.length === entries.length ? receiptRoot : validated.length > 0 ? batchResultsRoot(validated, fastKeccak256) : null;
    const countersignature = validatedRoot ? await countersign(context.coordinator, batchCountersignedHash(digest, validatedRoot)) : null;
    const batch = {
      digest,
      session,
      seq: receipt.seq,
      count: receipt.count,
      verdicts: JSON.stringify(verdicts),
      countersignature,
      validated_root: validatedRoot,
      created_at: now,
    };
    await runPrepared(trx, 'insert-result-batch', batch, (values) => trx.insertInto('result_batches').values(values));
    await addUnitsDone(trx, unitsDone, closing);
    return { countersignature };
  });
  issued.forget(leaseIds);
  if (stored.repeat) return stored.repeat;

  for (const item of toJudge) {
    const outcome = outcomes.get(item.index);
    const kernel = item.lease.kernel as WorkSpec['kernel'];
    context.metrics?.results.inc({ outcome: !outcome || 'repeat' in outcome ? 'duplicate' : outcome.status, kernel });
  }
  return { digest, countersignature: stored.countersignature ?? '0x', duplicate: false, results: verdicts };
}

/** The batch judged before under this digest, if any. */
async function batchOfDigest(db: Db, digest: Hex) {
  return (await runPrepared(db, 'batch-of-digest', { digest }, (values) => db.selectFrom('result_batches').selectAll().where('digest', '=', values.digest)))
    .rows[0];
}

/**
 * The batch's session is this owner's, current, and has not used the receipt's sequence
 * number (in the transaction on PostgreSQL the session row is locked first, so two processes
 * never accept one number twice).
 */
async function assertBatchSession(db: Db, receipt: WorkBatchReceipt, now: number): Promise<void> {
  const session = receipt.session.toLowerCase();
  const [registered] = (
    await runPrepared(db, 'batch-session', { session }, (values) =>
      db.selectFrom('sessions').select(['owner', 'revoked_at', 'expires_at']).where('address', '=', values.session),
    )
  ).rows;
  if (!registered) throw new HttpError(401, errorCodes.sessionUnknown, `No session ${receipt.session} is registered here.`, 'receipt.session');
  if (registered.owner !== receipt.owner.toLowerCase())
    throw new HttpError(403, errorCodes.leaseNotYours, 'receipt.owner is not the owner of this session.', 'receipt.owner');
  assertSessionCurrent(registered, session, now);
  await assertSeqUnused(db, session, receipt);
}

/** A result that passed the checks against its lease, before its output is looked at. */
interface Prechecked {
  index: number;
  lease: LeaseFacts;
  resultHash: string;
  spec: WorkSpec;
  outputBytes: number;
}

/** Checks one result against its lease, with no transaction and before its output is decoded; an HttpError rejects it. */
function precheckResult(index: number, result: ResultBatchRequest['results'][number], lease: LeaseFacts | undefined, session: string): Prechecked {
  const field = `results.${index}`;
  if (!lease) throw new HttpError(404, errorCodes.leaseUnknown, `No lease ${result.lease} was issued here.`, `${field}.lease`);
  if (lease.session !== session) {
    throw new HttpError(403, errorCodes.leaseNotYours, 'This lease was issued to another session than the one that signed the batch.', `${field}.lease`);
  }
  if (result.units !== String(lease.credit)) {
    throw new HttpError(400, errorCodes.receiptMismatch, `units is ${result.units}, but the lease offers ${lease.credit}.`, `${field}.units`);
  }
  return { index, lease, resultHash: result.resultHash.toLowerCase(), ...leaseSpec(lease) };
}

/**
 * Each prechecked result's verdict from what the validator found: its output's hash and length
 * as the receipt and the unit say, then a canary's known answer or its kernel's check. A result
 * that fails one is rejected through `reject`, as is one whose unit's inputs cannot be read now
 * (503: it is sent again later); any other failure of a check fails the batch, before anything
 * of it is written.
 */
function judgeableResults(
  prechecked: readonly (Prechecked | undefined)[],
  checked: ResultsChecked,
  reject: (index: number, error: HttpError) => void,
): Checked[] {
  return prechecked.flatMap((item) => {
    if (!item) return [];
    const { index, lease, resultHash, spec, outputBytes } = item;
    const field = `results.${index}`;
    const { bytes: output, hash, validation } = checked.outputs[index]!;
    try {
      if (hash !== resultHash)
        throw new HttpError(400, errorCodes.receiptMismatch, 'resultHash is not the keccak-256 of the output sent.', `${field}.resultHash`);
      assertOutputShape(output, spec, outputBytes, `${field}.output`);
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      reject(index, error);
      return [];
    }
    // A canary's answer is known: its hash decides. Any other result gets its kernel's cheap check.
    const outcome = lease.canary === 1 ? { verdict: canaryVerdict(resultHash, lease.expectedHash) } : validation;
    if (!outcome) throw new Error(`result ${index} passed every check but came back from the validator unvalidated`);
    if ('error' in outcome) {
      const { error } = outcome;
      if (!inputsUnreadable(error)) throw error;
      reject(
        index,
        new HttpError(
          503,
          errorCodes.inputUnavailable,
          `The coordinator cannot read this unit's inputs right now (${error.shortMessage}); send the result again later in a new batch.`,
          `${field}.output`,
        ),
      );
      return [];
    }
    return [{ index, lease, output, resultHash, verdict: outcome.verdict }];
  });
}

function verdictOf(lease: string, outcome: Judged | { repeat: StoredResult }): BatchVerdict {
  const judged: Judged | StoredResult = 'repeat' in outcome ? outcome.repeat : outcome;
  const status = 'status' in judged ? judged.status : judged.outcome;
  if (status === 'invalid') {
    const reason = 'reason' in judged ? judged.reason : null;
    return { lease, status: 'rejected', credit: '0', code: errorCodes.resultInvalid, message: `The result is wrong: ${reason}. No credit was granted.` };
  }
  if (status === 'pending') return { lease, status: 'pending', credit: '0' };
  return { lease, status: 'validated', credit: String('credit' in judged ? judged.credit : 0) };
}

/** A batch judged before: its verdicts again, with results that waited for a quorum as they stand now. No new credit. */
async function repeatBatch(db: Db, digest: Hex, previous: { verdicts: string; countersignature: string | null }): Promise<ResultBatchResponse> {
  const verdicts = JSON.parse(previous.verdicts) as BatchVerdict[];
  const waiting = verdicts.filter((verdict) => verdict.status === 'pending');
  if (waiting.length > 0) {
    const rows = await db
      .selectFrom('results')
      .select(['digest', 'outcome', 'reason', 'credit', 'countersignature'])
      .where(
        'digest',
        'in',
        waiting.map((verdict) => batchItemDigest(digest, verdict.lease.toLowerCase() as Hex)),
      )
      .execute();
    const byDigest = new Map(rows.map((row) => [row.digest, row]));
    for (const [index, verdict] of verdicts.entries()) {
      if (verdict.status !== 'pending') continue;
      const row = byDigest.get(batchItemDigest(digest, verdict.lease.toLowerCase() as Hex));
      if (row) verdicts[index] = verdictOf(verdict.lease, { repeat: row });
    }
  }
  return { digest, countersignature: previous.countersignature ?? '0x', duplicate: true, results: verdicts };
}
