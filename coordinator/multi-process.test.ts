import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matmulInputA, matmulInputB } from '../src/kernels/matmul.ts';
import { matmulF32Reference } from '../src/kernels/matmul-f32.ts';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';
import { startTestCoordinator, type TestCoordinator, testPostgresUrl } from '../test/helpers/test-coordinator.ts';
import { openDatabase } from './db/database.ts';
import { buildServer } from './server.ts';
import { createMatmulJob } from './work-generator.ts';

/**
 * Two coordinator processes' worth of servers over one PostgreSQL database: units are claimed
 * with FOR UPDATE SKIP LOCKED and no state lives in a process, so the two share the work.
 */
describe.skipIf(!testPostgresUrl)('two coordinators over one PostgreSQL database (needs SURGE_TEST_POSTGRES_URL)', () => {
  let first: TestCoordinator;
  let second: Awaited<ReturnType<typeof buildServer>>;
  let secondDb: Awaited<ReturnType<typeof openDatabase>>;

  beforeAll(async () => {
    first = await startTestCoordinator({ demo: undefined }, 'postgres');
    secondDb = await openDatabase(first.config.database);
    second = await buildServer({
      config: first.config,
      db: secondDb,
      coordinator: privateKeyToAccount(first.config.coordinatorKey!),
      now: () => first.clock.now,
    });
    await createMatmulJob(first.db, { name: 'Shared', purpose: 'a test', seed: '0x0000000000000077', rows: 64, cols: 80, k: 16, block: 8 });
  });

  afterAll(async () => {
    await second?.close();
    await secondDb?.destroy();
    await first?.close();
  });

  it('hands every unit out exactly once when both serve leases at the same time, and either judges any result', async () => {
    const owner = privateKeyToAccount(generatePrivateKey());
    const sessions = Array.from({ length: 4 }, () => privateKeyToAccount(generatePrivateKey()));
    for (const [index, session] of sessions.entries()) {
      const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
      // Sessions registered on one process are known to the other.
      const app = index % 2 === 0 ? first.app : second;
      expect(
        (await app.inject({ method: 'POST', url: '/v1/sessions', payload: { message, signature: await owner.signMessage({ message }) } })).statusCode,
      ).toBe(200);
    }
    const requests = Array.from({ length: 90 }, (_, i) =>
      (i % 2 === 0 ? first.app : second).inject({ method: 'POST', url: '/v1/leases', payload: { session: sessions[i % 4]!.address, backends: ['wasm'] } }),
    );
    const leases = (await Promise.all(requests)).map((response) => (response.json() as { lease: Lease | null }).lease);
    const granted = leases.filter((lease): lease is Lease => lease !== null);
    expect(granted).toHaveLength(80);
    expect(new Set(granted.map((lease) => lease.unitId)).size).toBe(80);

    const domain = ((await second.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
    const lease = granted[0]!;
    if (lease.kernel !== 'matmul-f32') throw new Error('expected matmul');
    const { m, n, k } = lease.params;
    const output = new Uint8Array(Float32Array.from(matmulF32Reference(matmulInputA(lease.params, 'f32'), matmulInputB(lease.params, 'f32'), m, n, k)).buffer);
    const sessionOf = await first.db.selectFrom('leases').select('session').where('id', '=', lease.id).executeTakeFirstOrThrow();
    const signer = sessions.find((session) => session.address.toLowerCase() === sessionOf.session)!;
    const signed = await signWorkReceipt({ session: signer, owner: owner.address, domain, lease, output, seq: 0 });
    const body = { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature };
    // Sent to both at once: one validates and credits, the other sees the same verdict, no double credit.
    const [a, b] = await Promise.all([
      first.app.inject({ method: 'POST', url: '/v1/results', payload: body }),
      second.inject({ method: 'POST', url: '/v1/results', payload: body }),
    ]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect([a.json().duplicate, b.json().duplicate].sort()).toEqual([false, true]);
    expect(await first.db.selectFrom('credits').selectAll().execute()).toHaveLength(1);
  });
});
