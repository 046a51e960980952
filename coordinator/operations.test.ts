import { afterEach, describe, expect, it } from 'vitest';
import type { ReceiptDomain } from '../src/protocol/receipt.ts';
import type { InfoResponse, Lease } from '../src/protocol/schemas.ts';
import { signWorkReceipt } from '../src/wallet/receipt-signer.ts';
import { registerContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator } from '../test/helpers/test-coordinator.ts';

let coordinator: TestCoordinator | undefined;
afterEach(async () => {
  await coordinator?.close();
  coordinator = undefined;
});

describe('operating a coordinator', () => {
  it('exports Prometheus metrics of leases and requests', async () => {
    coordinator = await startTestCoordinator();
    const { owner, session } = await registerContributor(coordinator.app);
    const leases: Lease[] = [];
    for (let i = 0; i < 3; i++)
      leases.push(
        (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } })).json().lease,
      );
    // One wrong result: judged invalid, and timed.
    const lease = leases[0]!;
    const domain = ((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse).domain as ReceiptDomain;
    const output = new Uint8Array(lease.kernel === 'matmul-f32' ? lease.params.m * lease.params.n * 4 : 0);
    const signed = await signWorkReceipt({ session, owner: owner.address, domain, lease, output, seq: 0 });
    const wrong = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/results',
      payload: { lease: lease.id, output: Buffer.from(output).toString('base64'), receipt: signed.receipt, signature: signed.signature },
    });
    expect(wrong.statusCode).toBe(422);
    const metrics = await coordinator.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.body).toMatch(/^surge_results_total\{outcome="invalid",kernel="matmul-f32"\} 1$/m);
    expect(metrics.body).toMatch(/^surge_validation_seconds_count\{kernel="matmul-f32"\} 1$/m);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metrics.body).toMatch(/^surge_leases_total\{kernel="matmul-f32"\} 3$/m);
    expect(metrics.body).toMatch(/^surge_http_request_duration_seconds_count\{method="POST",route="\/v1\/leases",status="200"\} 3$/m);
    expect(metrics.body).toMatch(/^surge_process_cpu_seconds_total /m);
  });

  it('is live and ready while its database answers, and not ready once it does not', async () => {
    coordinator = await startTestCoordinator();
    expect((await coordinator.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
    expect((await coordinator.app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ ready: true });
    await coordinator.db.destroy();
    const notReady = await coordinator.app.inject({ method: 'GET', url: '/readyz' });
    expect(notReady.statusCode).toBe(503);
    expect(notReady.json().error.code).toBe('SURGE_E_NOT_READY');
    // afterEach closes the rest (a closed database closes again quietly) and removes its folder.
  });

  it('limits requests per address with 429, a stable code and Retry-After', async () => {
    coordinator = await startTestCoordinator({ rateLimitPerMinute: 3 });
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).statusCode);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await coordinator.app.inject({ method: 'GET', url: '/v1/info' });
    expect(limited.json().error.code).toBe('SURGE_E_RATE_LIMITED');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await coordinator.app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
  });
});
