import { concatHex, type Hex, keccak256, recoverAddress } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { primesReference } from '../src/kernels/primes.ts';
import type { ResultBatchRequest, ResultBatchResponse } from '../src/protocol/batch-schemas.ts';
import { type BatchEntry, batchResultsRoot, type ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkBatchReceipt } from '../src/wallet/batch-receipt-signer.ts';
import { registerContributor, type TestContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';
import { readJobOutput } from './assimilator.ts';
import { issuedLeasesOf } from './issued-leases.ts';
import type { TrustConfig } from './trust-config.ts';
import { createPrimesJob } from './work-generator.ts';

const kLo = 1e12;
const kSpan = 4096;
const kBlock = 1024;

let coordinator: TestCoordinator;
let domain: ReceiptDomain;
let coordinatorAddress: string;

function correct(lease: Lease): Uint8Array {
  if (lease.kernel !== 'primes') throw new Error(`expected a primes unit, not ${lease.kernel}`);
  return primesReference(lease.params);
}

/** The right output with block 0's prime count off by one: the validator (its draws fixed at 0) samples block 0. */
function wrong(lease: Lease): Uint8Array {
  const output = correct(lease).slice();
  const view = new DataView(output.buffer);
  view.setUint32(0, view.getUint32(0, true) + 1, true);
  return output;
}

describe.each(testDatabases)('result batches on $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  afterEach(() => coordinator.close());

  async function start(trust: Partial<TrustConfig>, units = 8): Promise<void> {
    coordinator = await startTestCoordinator({ demo: undefined, trust: { canaryRate: 0, newHostCanaries: 0, ...trust } }, database, { random: () => 0 });
    await createPrimesJob(coordinator.db, { name: 'Primes', purpose: 'test', lo: kLo, hi: kLo + units * kSpan, span: kSpan, blockSize: kBlock });
    const info = (await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse;
    domain = info.domain as ReceiptDomain;
    coordinatorAddress = info.coordinator;
  }

  /** The signer of a batch's countersignature over keccak256(batch digest ‖ root of the entries it validated). */
  function countersigner(answer: ResultBatchResponse, body: ResultBatchRequest): Promise<string> {
    const validated: BatchEntry[] = body.results
      .filter((_, i) => answer.results[i]!.status === 'validated')
      .map(({ lease, resultHash, units }) => ({ lease: lease as Hex, resultHash: resultHash as Hex, units }));
    const hash = keccak256(concatHex([answer.digest as Hex, batchResultsRoot(validated)]));
    return recoverAddress({ hash, signature: answer.countersignature as Hex });
  }

  async function leaseMany(who: TestContributor, count: number, remoteAddress = '10.0.0.1'): Promise<Lease[]> {
    const response = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/leases',
      remoteAddress,
      payload: { session: who.session.address, backends: ['wasm'], count },
    });
    expect(response.statusCode).toBe(200);
    const answer = response.json() as { lease: Lease | null; leases: Lease[] };
    expect(answer.lease?.id).toBe(answer.leases[0]?.id);
    return answer.leases;
  }

  async function batch(who: TestContributor, results: { lease: Lease; output: Uint8Array }[], seq: number): Promise<ResultBatchRequest> {
    const signed = await signWorkBatchReceipt({ session: who.session, owner: who.owner.address, domain, results, seq });
    return {
      receipt: signed.receipt,
      signature: signed.signature,
      results: signed.entries.map((entry, i) => ({ ...entry, output: Buffer.from(results[i]!.output).toString('base64') })),
    };
  }

  /** The credit one unit of the test job earns, read from a throwaway coordinator. */
  async function unitCredit(): Promise<number> {
    await start({ replication: 'off' }, 1);
    const credit = (await coordinator.db.selectFrom('units').select('credit').executeTakeFirstOrThrow()).credit;
    await coordinator.close();
    return credit;
  }

  function send(body: ResultBatchRequest) {
    return coordinator.app.inject({ method: 'POST', url: '/v1/results/batch', payload: body });
  }

  async function credit(who: TestContributor): Promise<{ validatedResults: number; credit: string }> {
    return (await coordinator.app.inject({ method: 'GET', url: `/v1/owners/${who.owner.address}` })).json();
  }

  it('validates and credits a batch once; the same batch again pays nothing more', async () => {
    await start({ replication: 'off' });
    const who = await registerContributor(coordinator.app);
    const leases = await leaseMany(who, 4);
    expect(new Set(leases.map((lease) => lease.unitId)).size).toBe(4);
    const body = await batch(
      who,
      leases.map((lease) => ({ lease, output: correct(lease) })),
      0,
    );
    const first = await send(body);
    expect(first.statusCode).toBe(200);
    const answer = first.json() as ResultBatchResponse;
    expect(answer.duplicate).toBe(false);
    expect(answer.results.map((r) => [r.lease, r.status])).toEqual(leases.map((lease) => [lease.id, 'validated']));
    const perUnit = leases.map((lease) => BigInt(lease.units));
    expect(answer.results.map((r) => BigInt(r.credit))).toEqual(perUnit);
    expect(answer.countersignature).toMatch(/^0x[0-9a-f]{130}$/);
    expect(await countersigner(answer, body)).toBe(coordinatorAddress);
    const total = perUnit.reduce((a, b) => a + b, 0n);
    expect(await credit(who)).toMatchObject({ validatedResults: 4, credit: String(total) });

    const again = await send(body);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ duplicate: true, digest: answer.digest, results: answer.results });
    expect(await credit(who)).toMatchObject({ validatedResults: 4, credit: String(total) });
  });

  it('judges results for leases it knows and for leases it must read back (issued by another process) alike', async () => {
    await start({ replication: 'off' });
    const who = await registerContributor(coordinator.app);
    const leases = await leaseMany(who, 4);
    const issued = issuedLeasesOf(coordinator.db);
    expect(issued.recall(leases.map((lease) => lease.id)).unknown).toEqual([]);
    // As if two of them came from another coordinator process: this one has to read them.
    issued.forget([leases[1]!.id, leases[3]!.id]);
    const results = leases.map((lease, i) => ({ lease, output: i === 2 ? wrong(lease) : correct(lease) }));
    const body = await batch(who, results, 0);
    const answer = (await send(body)).json() as ResultBatchResponse;
    expect(answer.results.map((r) => r.status)).toEqual(['validated', 'validated', 'rejected', 'validated']);
    // The countersignature commits to the three validated results only.
    expect(await countersigner(answer, body)).toBe(coordinatorAddress);
    expect(issued.recall(leases.map((lease) => lease.id)).known).toEqual([]);
    // Another session's batch for the same leases is refused by the facts read back, as before.
    const other = await registerContributor(coordinator.app);
    const stolen = (await send(await batch(other, results, 0))).json() as ResultBatchResponse;
    expect(stolen.results.map((r) => r.code)).toEqual([
      'SURGE_E_LEASE_NOT_YOURS',
      'SURGE_E_LEASE_NOT_YOURS',
      'SURGE_E_LEASE_NOT_YOURS',
      'SURGE_E_LEASE_NOT_YOURS',
    ]);
  });

  it('takes a receipt whose addresses are written in any case of their letters', async () => {
    await start({ replication: 'off' });
    const who = await registerContributor(coordinator.app);
    const leases = await leaseMany(who, 2);
    const body = await batch(
      who,
      leases.map((lease) => ({ lease, output: correct(lease) })),
      0,
    );
    // Upper case breaks the EIP-55 checksum of a mixed-case address; the bytes, and so the signature, are the same.
    const shouted = (address: string) => `0x${address.slice(2).toUpperCase()}`;
    const answer = await send({ ...body, receipt: { ...body.receipt, owner: shouted(body.receipt.owner), session: shouted(body.receipt.session) } });
    expect(answer.statusCode).toBe(200);
    expect((answer.json() as ResultBatchResponse).results.map((r) => r.status)).toEqual(['validated', 'validated']);
  });

  it("pays a batch up to its owner's credit cap, in unit order, and assembles every unit into the job's output", async () => {
    // Room for two and a half units this epoch (every unit of the job is the same size).
    const perUnit = await unitCredit();
    const cap = Math.floor(perUnit * 2.5);
    await start({ replication: 'off', creditCapPerEpoch: cap }, 4);
    const who = await registerContributor(coordinator.app);
    const leases = await leaseMany(who, 4);
    expect(leases.map((lease) => Number(lease.units))).toEqual([perUnit, perUnit, perUnit, perUnit]);
    const answer = (
      await send(
        await batch(
          who,
          leases.map((lease) => ({ lease, output: correct(lease) })),
          0,
        ),
      )
    ).json() as ResultBatchResponse;
    expect(answer.results.map((r) => r.status)).toEqual(['validated', 'validated', 'validated', 'validated']);
    expect(answer.results.map((r) => Number(r.credit))).toEqual([perUnit, perUnit, cap - 2 * perUnit, 0]);
    expect(await credit(who)).toMatchObject({ validatedResults: 4, credit: String(cap) });
    expect(await coordinator.db.selectFrom('jobs').select(['status', 'units_done']).executeTakeFirstOrThrow()).toEqual({ status: 'done', units_done: 4 });
    expect(await readJobOutput(coordinator.db, 1)).toEqual(primesReference({ lo: kLo, hi: kLo + 4 * kSpan, blockSize: kBlock }));
  });

  it("counts toward the cap credit granted before the epoch's total was kept, and keeps that total equal to the ledger", async () => {
    const perUnit = await unitCredit();
    await start({ replication: 'off', creditCapPerEpoch: 3 * perUnit }, 6);
    const who = await registerContributor(coordinator.app);
    const owner = who.owner.address.toLowerCase();
    // A unit paid to this owner earlier in the epoch, in the ledger only (as before migration 0013).
    await coordinator.db.insertInto('credits').values({ unit_id: 6, owner, lease_id: '0xbefore', amount: perUnit, created_at: Date.now() }).execute();
    const leases = await leaseMany(who, 4);
    const first = (
      await send(
        await batch(
          who,
          leases.slice(0, 2).map((lease) => ({ lease, output: correct(lease) })),
          0,
        ),
      )
    ).json() as ResultBatchResponse;
    expect(first.results.map((r) => Number(r.credit))).toEqual([perUnit, perUnit]);
    const second = (
      await send(
        await batch(
          who,
          leases.slice(2).map((lease) => ({ lease, output: correct(lease) })),
          1,
        ),
      )
    ).json() as ResultBatchResponse;
    expect(second.results.map((r) => [r.status, Number(r.credit)])).toEqual([
      ['validated', 0],
      ['validated', 0],
    ]);
    const ledger = await coordinator.db
      .selectFrom('credits')
      .select((eb) => eb.fn.sum<number>('amount').as('sum'))
      .where('owner', '=', owner)
      .executeTakeFirstOrThrow();
    const kept = await coordinator.db.selectFrom('owner_epoch_credit').select(['owner', 'earned']).execute();
    expect(Number(ledger.sum)).toBe(3 * perUnit);
    expect(kept.map((row) => [row.owner, Number(row.earned)])).toEqual([[owner, 3 * perUnit]]);
  });

  it('rejects the one wrong result of a batch and accepts the others', async () => {
    await start({ replication: 'off' });
    const who = await registerContributor(coordinator.app);
    const leases = await leaseMany(who, 3);
    const response = await send(
      await batch(
        who,
        leases.map((lease, i) => ({ lease, output: i === 1 ? wrong(lease) : correct(lease) })),
        0,
      ),
    );
    expect(response.statusCode).toBe(200);
    const answer = response.json() as ResultBatchResponse;
    expect(answer.results.map((r) => r.status)).toEqual(['validated', 'rejected', 'validated']);
    expect(answer.results[1]).toMatchObject({ code: 'SURGE_E_RESULT_INVALID', credit: '0' });
    expect((await credit(who)).validatedResults).toBe(2);
    // The wrong result's lease is closed: sending the right output now is refused for that result alone.
    const retry = await send(await batch(who, [{ lease: leases[1]!, output: correct(leases[1]!) }], 1));
    expect(retry.json().results[0]).toMatchObject({ status: 'rejected', code: 'SURGE_E_LEASE_CLOSED' });
  });

  it('refuses forged, tampered and replayed batch receipts with their codes', async () => {
    await start({ replication: 'off' });
    const who = await registerContributor(coordinator.app);
    const leases = await leaseMany(who, 3);
    const results = leases.map((lease) => ({ lease, output: correct(lease) }));

    // Signed by a key that is not the session's.
    const stranger = privateKeyToAccount(generatePrivateKey());
    const forged = await batch({ owner: who.owner, session: stranger }, results, 0);
    forged.receipt.session = who.session.address;
    const refusedForged = await send(forged);
    expect(refusedForged.statusCode).toBe(401);
    expect(refusedForged.json().error.code).toBe('SURGE_E_RECEIPT_SIGNATURE');

    // A result dropped after signing: the root no longer matches.
    const tampered = await batch(who, results, 0);
    tampered.results.pop();
    tampered.receipt.count = 2;
    const refusedTampered = await send(tampered);
    expect(refusedTampered.statusCode).toBe(400);
    expect(refusedTampered.json().error).toMatchObject({ code: 'SURGE_E_RECEIPT_MISMATCH', field: 'receipt.resultsRoot' });

    // An output swapped after signing: its hash is not the one signed.
    const swapped = await batch(who, results, 0);
    swapped.results[0]!.output = Buffer.from(correct(leases[1]!)).toString('base64');
    const refusedSwapped = await send(swapped);
    expect(refusedSwapped.json().results[0]).toMatchObject({ status: 'rejected', code: 'SURGE_E_RECEIPT_MISMATCH' });

    // Sequence number 0 was used by the batch above: another batch under it is a replay.
    const replayed = await send(await batch(who, results.slice(1), 0));
    expect(replayed.statusCode).toBe(409);
    expect(replayed.json().error.code).toBe('SURGE_E_RECEIPT_REPLAYED');
    expect((await credit(who)).validatedResults).toBe(2);

    // A revoked session's batches are refused.
    const revoke = await coordinator.app.inject({
      method: 'POST',
      url: `/v1/sessions/${who.session.address}/revoke`,
      payload: {
        signature: await who.session.signMessage({
          message: (await import('../src/protocol/wallet-messages.ts')).revocationMessage({
            session: who.session.address,
            host: 'localhost:80',
            chainId: 31337,
          }),
        }),
      },
    });
    expect(revoke.statusCode).toBe(200);
    const afterRevoke = await send(await batch(who, [results[0]!], 5));
    expect(afterRevoke.statusCode).toBe(401);
    expect(afterRevoke.json().error.code).toBe('SURGE_E_SESSION_REVOKED');
  });

  it('never hands one owner two replicas of a unit in batched leases', async () => {
    // trustStreak high: every owner is replicated, so each unit wants two replicas.
    await start({ replication: 'adaptive', trustStreak: 1000, maxInProgress: 100 }, 4);
    const a = await registerContributor(coordinator.app);
    const b = await registerContributor(coordinator.app);
    const first = await leaseMany(a, 8, '10.0.0.1');
    expect(first.map((lease) => lease.unitId).sort((x, y) => x - y)).toEqual([1, 2, 3, 4]);
    // Every unit still wants a replica, but none from owner a again.
    expect(await leaseMany(a, 8, '10.0.0.1')).toEqual([]);
    const second = await leaseMany(b, 8, '10.0.0.2');
    expect(second.map((lease) => lease.unitId).sort((x, y) => x - y)).toEqual([1, 2, 3, 4]);
    // Nor a third replica at an address already holding one.
    const c = await registerContributor(coordinator.app);
    expect(await leaseMany(c, 8, '10.0.0.2')).toEqual([]);
    // The first owner's results wait for a second replica; the second owner's agree, and both are paid.
    const fromA = await batch(
      a,
      first.map((lease) => ({ lease, output: correct(lease) })),
      0,
    );
    expect(((await send(fromA)).json() as ResultBatchResponse).results.map((r) => r.status)).toEqual(['pending', 'pending', 'pending', 'pending']);
    const fromB = (
      await send(
        await batch(
          b,
          second.map((lease) => ({ lease, output: correct(lease) })),
          0,
        ),
      )
    ).json() as ResultBatchResponse;
    expect(fromB.results.map((r) => r.status)).toEqual(['validated', 'validated', 'validated', 'validated']);
    expect((await credit(a)).validatedResults).toBe(4);
    expect((await credit(b)).validatedResults).toBe(4);
    // The first owner's batch sent again now shows its results validated, and pays nothing more.
    const again = (await send(fromA)).json() as ResultBatchResponse;
    expect(again).toMatchObject({ duplicate: true });
    expect(again.results.map((r) => r.status)).toEqual(['validated', 'validated', 'validated', 'validated']);
    expect((await credit(a)).validatedResults).toBe(4);
  });
});
