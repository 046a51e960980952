import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { kTestRequesterToken, startTestCoordinator, type TestCoordinator, testDatabases } from '../test/helpers/test-coordinator.ts';
import { makeCanary } from './canaries.ts';

let coordinator: TestCoordinator;

describe.each(testDatabases)('canaries on $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  beforeEach(async () => {
    coordinator = await startTestCoordinator({ demo: undefined }, database);
  });
  afterEach(() => coordinator.close());

  it('are made at most four to a job, however many requests make one at once', async () => {
    const submitted = await coordinator.app.inject({
      method: 'POST',
      url: '/v1/jobs',
      headers: { authorization: `Bearer ${kTestRequesterToken}` },
      payload: { name: 'Primes', purpose: 'canary test', kernel: 'primes', params: { lo: 0, hi: 20 * 1024, span: 1024, blockSize: 1024 } },
    });
    expect(submitted.statusCode).toBe(201);
    const job = (submitted.json() as { id: number }).id;

    const made = await Promise.all(Array.from({ length: 10 }, () => makeCanary(coordinator.db, ['primes'])));
    const canaries = await coordinator.db.selectFrom('units').select('id').where('job_id', '=', job).where('canary', '=', 1).execute();
    expect(canaries).toHaveLength(4);
    expect(made.filter(Boolean)).toHaveLength(4);
    // The job's room is used up: another request makes none.
    expect(await makeCanary(coordinator.db, ['primes'])).toBe(false);
  });
});
