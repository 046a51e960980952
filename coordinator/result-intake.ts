import type { Hex, PrivateKeyAccount } from 'viem';
import { getAddress, keccak256 } from 'viem';
import { KernelError } from '../src/errors/kernel-error.ts';
import { kernelDefinitions } from '../src/kernels/registry.ts';
import { errorCodes } from '../src/protocol/error-codes.ts';
import type { ReceiptDomain, WorkReceipt } from '../src/protocol/receipt.ts';
import type { ResultRequest, ResultResponse, WorkSpec } from '../src/protocol/schemas.ts';
import { closeJobIfComplete, keepUnitOutput } from './assimilator.ts';
import { type Db, dialectOf } from './db/database.ts';
import { HttpError } from './http-error.ts';
import type { CoordinatorMetrics } from './metrics.ts';
import { ownersLinkedTo } from './owner-links.ts';
import { countersign, nonCanonicalSignature, receiptDigest, receiptSigner } from './receipts.ts';
import { validateOutput } from './validators/validate-output.ts';
import type { Verdict } from './validators/verdict.ts';

export interface IntakeContext {
  db: Db;
  metrics?: CoordinatorMetrics;
  domain: ReceiptDomain;
  coordinator: PrivateKeyAccount;
  now: number;
}

/** After this many invalid results (from as many owners) a unit is failed rather than reissued. */
const kMaxUnitErrors = 5;

/** How long a unit is held for a result the coordinator could not validate yet (inputs unreachable). */
const kInputRetryHoldMs = 60 * 60 * 1000;

/**
 * A result counts while its lease is the one the unit is out on: before the deadline, and
 * after it too until the unit is offered to someone else (BOINC accepts late results the
 * work unit still needs). A unit completed by another result closes every other lease.
 */
function assertUnitStillOut(lease: { id: string; deadline: number; unitState: string; currentLease: string | null }, now: number): void {
  if (lease.unitState === 'done')
    throw new HttpError(409, errorCodes.leaseClosed, 'This unit was already completed by another result; lease new work.', 'lease');
  if (lease.currentLease !== lease.id && lease.deadline < now) {
    throw new HttpError(410, errorCodes.leaseExpired, 'This lease passed its deadline and its unit was offered again; lease new work.', 'lease');
  }
}

/** Extends a lease and its unit's deadline, while the unit is still out on that lease. */
async function holdLease(db: Db, leaseId: string, unitId: number, until: number): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const held = await trx
      .updateTable('units')
      .set({ lease_deadline: until })
      .where('id', '=', unitId)
      .where('current_lease', '=', leaseId)
      .where('lease_deadline', '<', until)
      .executeTakeFirst();
    if (Number(held.numUpdatedRows) > 0) await trx.updateTable('leases').set({ deadline: until }).where('id', '=', leaseId).execute();
  });
}

type StoredResult = { outcome: 'validated' | 'invalid'; reason: string | null; credit: number; countersignature: string | null };

/** Answers a receipt that was judged before with the same verdict, and no new credit. */
function repeatVerdict(digest: Hex, stored: StoredResult): ResultResponse {
  if (stored.outcome === 'invalid') {
    throw new HttpError(422, errorCodes.resultInvalid, `This result was already judged invalid: ${stored.reason}.`, 'output');
  }
  return { status: 'validated', digest, credit: String(stored.credit), countersignature: stored.countersignature ?? '0x', duplicate: true };
}

/**
 * Takes one result: checks its receipt against the lease and its signature, validates the
 * output, and on success credits the unit in the same transaction that closes the lease.
 * The same receipt sent again (same EIP-712 digest) gets the same verdict and no new
 * credit; any other result for a closed lease is refused.
 */
export async function acceptResult(body: ResultRequest, context: IntakeContext): Promise<ResultResponse> {
  const { db, domain, now } = context;
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
  const previous = await db.selectFrom('results').selectAll().where('digest', '=', digest).executeTakeFirst();
  if (previous) {
    // The same receipt again (an outbox retry): the same verdict, once its signature is the session's.
    if ((await receiptSigner(domain, receipt, body.signature as Hex)) !== previous.session) throw badSignature(domain);
    return repeatVerdict(digest, previous);
  }

  const lease = await db
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
      'units.current_lease as currentLease',
    ])
    .where('leases.id', '=', body.lease.toLowerCase())
    .executeTakeFirst();
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
  const output = Buffer.from(body.output, 'base64');
  if (keccak256(output) !== receipt.resultHash.toLowerCase()) {
    throw new HttpError(400, errorCodes.receiptMismatch, 'receipt.resultHash is not the keccak-256 of the output sent.', 'receipt.resultHash');
  }
  const signer = await receiptSigner(domain, receipt, body.signature as Hex);
  if (signer !== lease.session) throw badSignature(domain);
  await assertSessionCurrent(db, lease.session, now);
  const reused = await db.selectFrom('results').select('digest').where('session', '=', lease.session).where('seq', '=', receipt.seq).executeTakeFirst();
  if (reused) {
    throw new HttpError(
      409,
      errorCodes.receiptReplayed,
      `Session ${receipt.session} already used sequence number ${receipt.seq} for another receipt (${reused.digest}).`,
      'receipt.seq',
    );
  }
  if (lease.state !== 'open') throw new HttpError(409, errorCodes.leaseClosed, `This lease is already closed (${lease.state}); lease new work.`, 'lease');
  assertUnitStillOut(lease, now);

  const spec = { kernel: lease.kernel, params: JSON.parse(lease.params) } as WorkSpec;
  const expectedBytes = (kernelDefinitions[spec.kernel].outputBytes as (params: WorkSpec['params']) => number)(spec.params);
  if (output.byteLength !== expectedBytes) {
    throw new HttpError(
      400,
      errorCodes.resultShape,
      `output has ${output.byteLength} bytes; this ${spec.kernel} unit's output has ${expectedBytes}.`,
      'output',
    );
  }
  const stopTimer = context.metrics?.validationSeconds.startTimer({ kernel: spec.kernel });
  const verdict = await validateOutput(spec, output).catch(async (error: unknown): Promise<Verdict> => {
    // The unit's data inputs could not be read here (a URL down, or its bytes changed): that is
    // no fault of the contributor's, so the result waits in their outbox and comes back later.
    if (error instanceof KernelError && error.code.startsWith('SURGE_E_KERNEL_INPUT_')) {
      // Hold the unit for this lease meanwhile, so the retry is not refused as expired.
      await holdLease(db, lease.id, lease.unit_id, now + kInputRetryHoldMs);
      throw new HttpError(
        503,
        errorCodes.inputUnavailable,
        `The coordinator cannot read this unit's inputs right now (${error.shortMessage}); send the result again later.`,
      );
    }
    throw error;
  });
  stopTimer?.();
  const countersignature = verdict.valid ? await countersign(context.coordinator, digest) : null;

  let unitFailed = false;
  const outcome = await db.transaction().execute(async (trx) => {
    // Re-read inside the transaction: another request may have closed the lease meanwhile.
    // On PostgreSQL, lock the lease row: two processes judging results of one lease take turns.
    const current = await trx
      .selectFrom('leases')
      .select('state')
      .where('id', '=', lease.id)
      .$if(dialectOf(db) === 'postgres', (qb) => qb.forUpdate())
      .executeTakeFirstOrThrow();
    const unit = await trx
      .selectFrom('units')
      .select(['state as unitState', 'current_lease as currentLease', 'errors'])
      .where('id', '=', lease.unit_id)
      .executeTakeFirstOrThrow();
    const judged = await trx.selectFrom('results').selectAll().where('digest', '=', digest).executeTakeFirst();
    if (judged) return { repeat: judged } as const;
    if (current.state !== 'open') throw new HttpError(409, errorCodes.leaseClosed, `This lease is already closed (${current.state}); lease new work.`, 'lease');
    assertUnitStillOut({ ...unit, id: lease.id, deadline: lease.deadline }, now);
    let credit = 0;
    if (verdict.valid) {
      const credited = await trx
        .insertInto('credits')
        .values({ unit_id: lease.unit_id, owner: lease.owner, lease_id: lease.id, amount: lease.credit, created_at: now })
        .onConflict((oc) => oc.column('unit_id').doNothing())
        .executeTakeFirst();
      credit = Number(credited.numInsertedOrUpdatedRows ?? 0n) > 0 ? Number(lease.credit) : 0;
      // The assimilator's part happens in the same transaction as the credit, so a crash can
      // never leave a unit paid for but missing from its job's output.
      if (credit > 0) await keepUnitOutput(trx, lease.unit_id, lease.job_id, output);
      await trx.updateTable('leases').set({ state: 'validated' }).where('id', '=', lease.id).execute();
      await trx.updateTable('units').set({ state: 'done', lease_deadline: null, current_lease: null }).where('id', '=', lease.unit_id).execute();
    } else {
      await trx.updateTable('leases').set({ state: 'invalid' }).where('id', '=', lease.id).execute();
      // Each invalid result comes from a different owner (the feeder never gives an owner a
      // unit it failed), so kMaxUnitErrors means that many independent failures.
      const errors = unit.errors + 1;
      unitFailed = errors >= kMaxUnitErrors;
      await trx
        .updateTable('units')
        .set({ errors, state: errors >= kMaxUnitErrors ? 'failed' : 'ready', lease_deadline: null, current_lease: null })
        .where('id', '=', lease.unit_id)
        .where('current_lease', '=', lease.id)
        .execute();
    }
    await trx
      .insertInto('results')
      .values({
        digest,
        lease_id: lease.id,
        unit_id: lease.unit_id,
        owner: lease.owner,
        session: lease.session,
        result_hash: receipt.resultHash.toLowerCase(),
        seq: receipt.seq,
        outcome: verdict.valid ? 'validated' : 'invalid',
        reason: verdict.valid ? null : verdict.reason,
        credit,
        countersignature,
        created_at: now,
      })
      .execute();
    return { credit } as const;
  });

  context.metrics?.results.inc({ outcome: 'repeat' in outcome ? 'duplicate' : verdict.valid ? 'validated' : 'invalid', kernel: spec.kernel });
  if ('repeat' in outcome) return repeatVerdict(digest, outcome.repeat!);
  // A unit's output is now in (or it failed for good): the job may be complete.
  await closeJobIfComplete(db, lease.job_id, unitFailed);
  if (!verdict.valid) throw new HttpError(422, errorCodes.resultInvalid, `The result is wrong: ${verdict.reason}. No credit was granted.`, 'output');
  return { status: 'validated', digest, credit: String(outcome.credit), countersignature: countersignature!, duplicate: false };
}

/** The ledger's totals for one owner, with those of the owner keys linked to it (a wallet's). */
export async function ownerCredit(db: Db, owner: string): Promise<{ validatedResults: number; credit: string; linkedOwners: string[] }> {
  const linked = await ownersLinkedTo(db, owner);
  const row = await db
    .selectFrom('credits')
    .select((eb) => [eb.fn.countAll<number>().as('results'), eb.fn.sum<number>('amount').as('credit')])
    .where('owner', 'in', [owner.toLowerCase(), ...linked])
    .executeTakeFirstOrThrow();
  return { validatedResults: Number(row.results), credit: String(row.credit ?? 0), linkedOwners: linked.map((address) => getAddress(address)) };
}

function badSignature(domain: ReceiptDomain): HttpError {
  return new HttpError(
    401,
    errorCodes.receiptSignature,
    `The receipt is not signed by the session key it names under this coordinator's EIP-712 domain (chain ${domain.chainId}, verifying contract ${domain.verifyingContract}); a receipt signed for another coordinator or chain is refused.`,
    'signature',
  );
}

/** A receipt counts only while its session is neither revoked nor expired. */
async function assertSessionCurrent(db: Db, address: string, now: number): Promise<void> {
  const session = await db.selectFrom('sessions').select(['revoked_at', 'expires_at']).where('address', '=', address).executeTakeFirstOrThrow();
  if (session.revoked_at != null) {
    throw new HttpError(401, errorCodes.sessionRevoked, `Session ${address} was revoked; its receipts are refused.`, 'receipt.session');
  }
  if (session.expires_at <= now) {
    throw new HttpError(401, errorCodes.sessionExpired, `Session ${address} expired before this receipt arrived; its receipts are refused.`, 'receipt.session');
  }
}
