import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { registerContributor } from '../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator } from '../test/helpers/test-coordinator.ts';
import { leaseCreditCaps } from './lease-sizing.ts';
import { createMatmulJob } from './work-generator.ts';

let coordinator: TestCoordinator;

describe('leasing only what a client finishes before the deadline', () => {
  beforeEach(async () => {
    // Demo units are matmul-f32 blocks of 2·16·16·24 operations: one unit of credit each.
    coordinator = await startTestCoordinator({ leaseMs: 60_000, demo: undefined });
    await createMatmulJob(coordinator.db, { name: 'small', purpose: 'test', seed: `0x${'5'.repeat(16)}`, rows: 32, cols: 32, k: 24, block: 16 });
  });
  afterEach(() => coordinator.close());

  const lease = async (session: string, speeds?: unknown) =>
    (await coordinator.app.inject({ method: 'POST', url: '/v1/leases', payload: { session, backends: ['wasm'], ...(speeds ? { speeds } : {}) } })).json();

  it('offers no unit a client is too slow to finish, and offers it to one fast enough', async () => {
    const slow = await registerContributor(coordinator.app);
    // 1000 operations a second for 60 s is 0.06 million: less than one unit of credit.
    const refused = await lease(slow.session.address, [{ kernel: 'matmul-f32', opsPerSecond: 1000 }]);
    expect(refused.lease).toBeNull();
    expect(refused.retryAfterMs).toBeGreaterThan(0);
    const fast = await lease(slow.session.address, [{ kernel: 'matmul-f32', opsPerSecond: 1e6 }]);
    expect(fast.lease.kernel).toBe('matmul-f32');
    // A speed for another kernel limits only that kernel.
    expect((await lease(slow.session.address, [{ kernel: 'primes', opsPerSecond: 1 }])).lease.kernel).toBe('matmul-f32');
  });

  it('caps credit at 80% of the lease at the measured speed', () => {
    expect(leaseCreditCaps([{ kernel: 'mandelbrot', opsPerSecond: 2e6 }], 300_000)).toEqual([{ kernel: 'mandelbrot', maxCredit: 480 }]);
  });

  it('refuses a speed that is not a positive number', async () => {
    const who = await registerContributor(coordinator.app);
    const response = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/leases',
      payload: { session: who.session.address, backends: ['wasm'], speeds: [{ kernel: 'matmul-f32', opsPerSecond: 0 }] },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'SURGE_E_BAD_REQUEST', field: 'speeds.0.opsPerSecond' });
  });
});
