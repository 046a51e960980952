import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulF32Reference } from '../src/kernels/matmul-f32.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { registerContributor, type TestContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';

let coordinator: TestCoordinator;

describe.each(testDatabases)('giving a lease back, on $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  beforeEach(async () => {
    coordinator = await startTestCoordinator({}, database);
  });
  afterEach(() => coordinator.close());

  const post = (url: string, payload: unknown) => coordinator.app.inject({ method: 'POST', url, payload: payload as object });

  async function lease(who: TestContributor): Promise<Lease> {
    const response = await post('/v1/leases', { session: who.session.address, backends: ['wasm'] });
    expect(response.statusCode).toBe(200);
    return response.json().lease as Lease;
  }

  function expectError(response: { statusCode: number; json(): unknown }, status: number, code: string, field: string) {
    expect(response.statusCode).toBe(status);
    const { error } = response.json() as { error: { code: string; field?: string } };
    expect(error).toMatchObject({ code, field });
  }

  it('offers the unit to the next contributor at once, and refuses a result sent for it afterwards', async () => {
    const alice = await registerContributor(coordinator.app);
    const bob = await registerContributor(coordinator.app);
    const given = await lease(alice);
    const response = await post(`/v1/leases/${given.id}/release`, { session: alice.session.address });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ lease: given.id, released: true });
    const unit = await coordinator.db.selectFrom('units').select(['state', 'current_lease']).where('id', '=', given.unitId).executeTakeFirstOrThrow();
    expect(unit).toEqual({ state: 'ready', current_lease: null });
    expect((await lease(bob)).unitId).toBe(given.unitId);

    // Alice's result for the lease she gave back is refused; the unit is Bob's now.
    if (given.kernel !== 'matmul-f32') throw new Error(`the demo job should be matmul-f32, not ${given.kernel}`);
    const { m, n, k } = given.params;
    const output = new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(given.params, 'f32'), matmulInputB(given.params, 'f32'), m, n, k)).buffer);
    const domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
    const signed = await signWorkReceipt({ session: alice.session, owner: alice.owner.address, domain, lease: given, output, seq: 0 });
    coordinator.clock.now += 1;
    const late = await post('/v1/results', {
      lease: given.id,
      output: Buffer.from(output).toString('base64'),
      receipt: signed.receipt,
      signature: signed.signature,
    });
    expectError(late, 410, 'SURGE_E_LEASE_EXPIRED', 'lease');
  });

  it('changes nothing when the lease is given back twice', async () => {
    const alice = await registerContributor(coordinator.app);
    const bob = await registerContributor(coordinator.app);
    const given = await lease(alice);
    await post(`/v1/leases/${given.id}/release`, { session: alice.session.address });
    const bobs = await lease(bob);
    const again = await post(`/v1/leases/${given.id}/release`, { session: alice.session.address });
    expect(again.json()).toEqual({ lease: given.id, released: false });
    const unit = await coordinator.db.selectFrom('units').select(['state', 'current_lease']).where('id', '=', given.unitId).executeTakeFirstOrThrow();
    expect(unit).toEqual({ state: 'leased', current_lease: bobs.id });
  });

  it('lets only the session that holds the lease give it back', async () => {
    const alice = await registerContributor(coordinator.app);
    const mallory = await registerContributor(coordinator.app);
    const given = await lease(alice);
    expectError(await post(`/v1/leases/${given.id}/release`, { session: mallory.session.address }), 403, 'SURGE_E_LEASE_NOT_YOURS', 'session');
    expectError(await post(`/v1/leases/0x${'ab'.repeat(32)}/release`, { session: alice.session.address }), 404, 'SURGE_E_LEASE_UNKNOWN', 'id');
    expectError(await post('/v1/leases/42/release', { session: alice.session.address }), 400, 'SURGE_E_BAD_REQUEST', 'id');
    expectError(await post(`/v1/leases/${given.id}/release`, {}), 400, 'SURGE_E_BAD_REQUEST', 'session');
    const unit = await coordinator.db.selectFrom('units').select('current_lease').where('id', '=', given.unitId).executeTakeFirstOrThrow();
    expect(unit.current_lease).toBe(given.id);
  });
});
