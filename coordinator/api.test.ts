import { FormatRegistry } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { type Hex, hashTypedData, keccak256 } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulF32Reference } from '../src/kernels/matmul-f32.ts';
import { type ReceiptDomain, receiptMessage, workReceiptPrimaryType, workReceiptTypes } from '../src/protocol/receipt.ts';
import { type InfoResponse, type Lease, LeaseResponseSchema, type ResultRequest } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';
import { registerContributor, type TestContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';

let coordinator: TestCoordinator;
let domain: ReceiptDomain;

describe.each(testDatabases)('on $name', ({ name: database, skip }) => {
  // PostgreSQL runs where a server is given (SURGE_TEST_POSTGRES_URL, set by .ci/run); skipped, and said so, elsewhere.
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  beforeEach(async () => {
    coordinator = await startTestCoordinator({}, database);
    domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
  });

  afterEach(() => coordinator.close());

  const post = (url: string, payload: unknown) => coordinator.app.inject({ method: 'POST', url, payload: payload as object });

  type Contributor = TestContributor;
  const contributor = () => registerContributor(coordinator.app);

  async function lease(who: Contributor): Promise<Lease> {
    const response = await post('/v1/leases', { session: who.session.address, backends: ['wasm'] });
    expect(response.statusCode).toBe(200);
    return response.json().lease as Lease;
  }

  /** The correct output of a lease: the f64 reference rounded to f32. */
  function correctOutput(l: Lease): Uint8Array {
    if (l.kernel !== 'matmul-f32') throw new Error(`the demo job should be matmul-f32, not ${l.kernel}`);
    const { m, n, k } = l.params;
    return new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(l.params, 'f32'), matmulInputB(l.params, 'f32'), m, n, k)).buffer);
  }

  async function resultBody(who: Contributor, l: Lease, output: Uint8Array, seq = 0): Promise<ResultRequest> {
    const signed = await signWorkReceipt({ session: who.session, owner: who.owner.address, domain, lease: l, output, seq });
    return { lease: l.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature };
  }

  async function credit(who: Contributor) {
    return (await coordinator.app.inject({ method: 'GET', url: `/v1/owners/${who.owner.address}` })).json() as { validatedResults: number; credit: string };
  }

  function expectError(response: { statusCode: number; json(): unknown }, status: number, code: string, field?: string) {
    expect(response.statusCode).toBe(status);
    const { error } = response.json() as { error: { code: string; message: string; field?: string } };
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    if (field) expect(error.field).toBe(field);
  }

  describe('GET /v1/info', () => {
    it('names the coordinator, its EIP-712 domain and its kernels', async () => {
      const info = (await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse;
      expect(info.coordinator).toMatch(/^0x[0-9a-fA-F]{40}$/);
      expect(info.domain).toMatchObject({ name: 'Surge', version: '1', chainId: 31337 });
      expect(info.kernels).toContainEqual({ name: 'matmul-f32', version: 1, backends: ['webgpu', 'wasm'] });
      expect(info.kernels).toContainEqual({ name: 'matmul-u32', version: 1, backends: ['webgpu', 'wasm'] });
    });
  });

  describe('POST /v1/leases', () => {
    it('answers leases that fit LeaseResponseSchema, alone and batched, with no field the schema lacks', async () => {
      FormatRegistry.Set('date-time', (value) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(value) && !Number.isNaN(Date.parse(value)));
      const who = await contributor();
      const single = (await post('/v1/leases', { session: who.session.address, backends: ['wasm'] })).json();
      const batched = (await post('/v1/leases', { session: who.session.address, backends: ['wasm'], count: 3 })).json();
      const fields = ['deadline', 'id', 'jobId', 'jobName', 'jobPurpose', 'kernel', 'kernelVersion', 'params', 'unitId', 'units'];
      for (const answer of [single, batched]) {
        expect([...Value.Errors(LeaseResponseSchema, answer)].map((error) => `${error.path}: ${error.message}`)).toEqual([]);
        for (const lease of [answer.lease, ...(answer.leases ?? [])]) expect(Object.keys(lease).sort()).toEqual(fields);
      }
      expect(batched.leases).toHaveLength(3);
      expect(batched.lease).toEqual(batched.leases[0]);
      expect(Object.keys(single).sort()).toEqual(['lease', 'retryAfterMs']);
    });
  });

  describe('bad input is refused with a 4xx, a stable code and the field', () => {
    it('wrong types', async () => {
      expectError(await post('/v1/leases', { session: 42, backends: ['wasm'] }), 400, 'SURGE_E_BAD_REQUEST', 'session');
      expectError(
        await post('/v1/leases', { session: privateKeyToAccount(generatePrivateKey()).address, backends: ['cuda'] }),
        400,
        'SURGE_E_BAD_REQUEST',
        'backends.0',
      );
    });

    it('missing fields and unknown ones', async () => {
      expectError(await post('/v1/leases', { session: privateKeyToAccount(generatePrivateKey()).address }), 400, 'SURGE_E_BAD_REQUEST', 'backends');
      expectError(await post('/v1/sessions', { message: 'x', signature: '0x', extra: true }), 400, 'SURGE_E_BAD_REQUEST', 'extra');
    });

    it('a body that is not JSON, or not sent as JSON', async () => {
      const broken = await coordinator.app.inject({
        method: 'POST',
        url: '/v1/leases',
        headers: { 'content-type': 'application/json' },
        payload: '{"session":',
      });
      expectError(broken, 400, 'SURGE_E_BAD_REQUEST');
      const text = await coordinator.app.inject({ method: 'POST', url: '/v1/leases', headers: { 'content-type': 'text/plain' }, payload: 'hello' });
      expectError(text, 415, 'SURGE_E_UNSUPPORTED_MEDIA_TYPE');
    });

    it('an oversized body', async () => {
      const huge = { lease: `0x${'0'.repeat(64)}`, output: 'A'.repeat(5 * 1024 * 1024), receipt: {}, signature: '0x' };
      expectError(await post('/v1/results', huge), 413, 'SURGE_E_BODY_TOO_LARGE');
    });

    it('a session grant signed by someone else, or for another host', async () => {
      const owner = privateKeyToAccount(generatePrivateKey());
      const session = privateKeyToAccount(generatePrivateKey());
      const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
      const impostor = privateKeyToAccount(generatePrivateKey());
      expectError(
        await post('/v1/sessions', { message, signature: await impostor.signMessage({ message }) }),
        401,
        'SURGE_E_SESSION_GRANT_INVALID',
        'signature',
      );
      const elsewhere = sessionGrantMessage({
        owner: owner.address,
        session: session.address,
        domain: 'evil.example',
        uri: 'https://evil.example',
        chainId: 31337,
      });
      expectError(
        await post('/v1/sessions', { message: elsewhere, signature: await owner.signMessage({ message: elsewhere }) }),
        401,
        'SURGE_E_SESSION_GRANT_INVALID',
      );
    });

    it('a lease for a session nobody registered', async () => {
      expectError(
        await post('/v1/leases', { session: privateKeyToAccount(generatePrivateKey()).address, backends: ['wasm'] }),
        401,
        'SURGE_E_SESSION_UNKNOWN',
        'session',
      );
    });

    it('a forged receipt: signed by a key that is not the session key', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const forger = { owner: alice.owner, session: privateKeyToAccount(generatePrivateKey()) };
      const body = await resultBody(forger, l, correctOutput(l));
      body.receipt.session = alice.session.address;
      expectError(await post('/v1/results', body), 401, 'SURGE_E_RECEIPT_SIGNATURE', 'signature');
      expect(await credit(alice)).toEqual(expect.objectContaining({ validatedResults: 0, credit: '0' }));
    });

    it("a result for someone else's lease", async () => {
      const alice = await contributor();
      const mallory = await contributor();
      const alicesLease = await lease(alice);
      expectError(
        await post('/v1/results', await resultBody(mallory, alicesLease, correctOutput(alicesLease))),
        403,
        'SURGE_E_LEASE_NOT_YOURS',
        'receipt.session',
      );
      expect((await credit(mallory)).validatedResults).toBe(0);
    });

    it('a receipt whose result hash is not that of the output', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const body = await resultBody(alice, l, correctOutput(l));
      body.output = Buffer.from(new Uint8Array(correctOutput(l).byteLength)).toString('base64');
      expectError(await post('/v1/results', body), 400, 'SURGE_E_RECEIPT_MISMATCH', 'receipt.resultHash');
    });

    it('a sequence number past the uint64 range', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const body = await resultBody(alice, l, correctOutput(l));
      body.receipt.seq = '18446744073709551616';
      expectError(await post('/v1/results', body), 400, 'SURGE_E_BAD_REQUEST', 'receipt.seq');
    });

    it('a receipt signed for another chain', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const output = correctOutput(l);
      const signed = await signWorkReceipt({ session: alice.session, owner: alice.owner.address, domain: { ...domain, chainId: 1 }, lease: l, output, seq: 0 });
      const body = { lease: l.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature };
      expectError(await post('/v1/results', body), 401, 'SURGE_E_RECEIPT_SIGNATURE');
    });
  });

  describe('results and credit', () => {
    it('validates a correct result and credits it once', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const response = await post('/v1/results', await resultBody(alice, l, correctOutput(l)));
      expect(response.statusCode).toBe(200);
      const answer = response.json();
      expect(answer).toMatchObject({ status: 'validated', credit: l.units, duplicate: false });
      expect(await credit(alice)).toMatchObject({ validatedResults: 1, credit: l.units });
      // The countersignature is the coordinator's signature over the receipt's digest.
      const info = (await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse;
      const { recoverAddress } = await import('viem');
      expect(await recoverAddress({ hash: answer.digest, signature: answer.countersignature })).toBe(info.coordinator);
    });

    it('does not credit a resubmitted result twice, nor a second receipt for the same lease', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const body = await resultBody(alice, l, correctOutput(l));
      expect((await post('/v1/results', body)).statusCode).toBe(200);
      const again = await post('/v1/results', body);
      expect(again.statusCode).toBe(200);
      expect(again.json()).toMatchObject({ duplicate: true });
      expectError(await post('/v1/results', await resultBody(alice, l, correctOutput(l), 1)), 409, 'SURGE_E_LEASE_CLOSED', 'lease');
      expect(await credit(alice)).toMatchObject({ validatedResults: 1, credit: l.units });
      const rows = await coordinator.db.selectFrom('credits').selectAll().execute();
      expect(rows).toHaveLength(1);
    });

    it('rejects a wrong result with no credit, and offers its unit again', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const wrong = new Float32Array(correctOutput(l).buffer.slice(0));
      wrong[5]! += 4;
      expectError(await post('/v1/results', await resultBody(alice, l, new Uint8Array(wrong.buffer))), 422, 'SURGE_E_RESULT_INVALID', 'output');
      expect(await credit(alice)).toMatchObject({ validatedResults: 0, credit: '0' });
      const bob = await contributor();
      const reissued = await lease(bob);
      expect(reissued.unitId).toBe(l.unitId);
    });

    it('never gives an owner a unit it returned a wrong result for', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const wrong = new Uint8Array(correctOutput(l).byteLength);
      expectError(await post('/v1/results', await resultBody(alice, l, wrong)), 422, 'SURGE_E_RESULT_INVALID');
      const next = await lease(alice);
      expect(next.unitId).not.toBe(l.unitId);
      const unit = await coordinator.db.selectFrom('units').select(['state', 'errors']).where('id', '=', l.unitId).executeTakeFirstOrThrow();
      expect(unit).toEqual({ state: 'ready', errors: 1 });
    });

    it('accepts a late result while its unit has not been offered again, and refuses one for a unit someone else completed', async () => {
      const alice = await contributor();
      const bob = await contributor();
      const l = await lease(alice);
      coordinator.clock.now += coordinator.config.leaseMs + 1;
      expect((await post('/v1/results', await resultBody(alice, l, correctOutput(l)))).statusCode).toBe(200);
      // Carol's lease expires, Dave gets the unit and completes it, then Carol's result arrives.
      const carol = await contributor();
      const dave = await contributor();
      const carols = await lease(carol);
      coordinator.clock.now += coordinator.config.leaseMs + 1;
      const daves = await lease(dave);
      expect(daves.unitId).toBe(carols.unitId);
      expect((await post('/v1/results', await resultBody(dave, daves, correctOutput(daves)))).statusCode).toBe(200);
      expectError(await post('/v1/results', await resultBody(carol, carols, correctOutput(carols))), 409, 'SURGE_E_LEASE_CLOSED', 'lease');
      expect((await credit(carol)).validatedResults).toBe(0);
      expect((await credit(bob)).validatedResults).toBe(0);
    });

    it('refuses an output of the wrong size', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      expectError(await post('/v1/results', await resultBody(alice, l, new Uint8Array(12))), 400, 'SURGE_E_RESULT_SHAPE', 'output');
    });

    it('reissues a unit whose lease passed its deadline, and refuses the late result', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      coordinator.clock.now += coordinator.config.leaseMs + 1;
      const bob = await contributor();
      expect((await lease(bob)).unitId).toBe(l.unitId);
      expectError(await post('/v1/results', await resultBody(alice, l, correctOutput(l))), 410, 'SURGE_E_LEASE_EXPIRED', 'lease');
      expect((await credit(alice)).validatedResults).toBe(0);
    });

    it('keys duplicates on the EIP-712 digest, which the response returns', async () => {
      const alice = await contributor();
      const l = await lease(alice);
      const body = await resultBody(alice, l, correctOutput(l));
      const digest = hashTypedData({ domain, types: workReceiptTypes, primaryType: workReceiptPrimaryType, message: receiptMessage(body.receipt as never) });
      expect((await post('/v1/results', body)).json().digest).toBe(digest);
      expect(keccak256(Buffer.from(body.output, 'base64'))).toBe(body.receipt.resultHash as Hex);
    });
  });
});
