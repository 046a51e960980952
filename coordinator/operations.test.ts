import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { sessionGrantMessage } from '../src/wallet/session-grant.ts';
import { startTestCoordinator, type TestCoordinator } from '../test/helpers/test-coordinator.ts';

let coordinator: TestCoordinator | undefined;
afterEach(async () => {
  await coordinator?.close();
  coordinator = undefined;
});

describe('operating a coordinator', () => {
  it('exports Prometheus metrics of leases and requests', async () => {
    coordinator = await startTestCoordinator();
    const owner = privateKeyToAccount(generatePrivateKey());
    const session = privateKeyToAccount(generatePrivateKey());
    const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: 'localhost:80', uri: 'http://localhost', chainId: 31337 });
    await coordinator.app.inject({ method: 'POST', url: '/v1/sessions', payload: { message, signature: await owner.signMessage({ message }) } });
    for (let i = 0; i < 3; i++) await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session: session.address, backends: ['wasm'] } });
    const metrics = await coordinator.app.inject({ method: 'GET', url: '/metrics' });
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
    await coordinator.app.close();
    coordinator = undefined;
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
