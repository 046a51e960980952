import { privateKeyToAccount } from 'viem/accounts';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { InfoResponse } from '../../src/protocol/schemas.ts';
import { startTestCoordinator, type TestCoordinator } from '../../test/helpers/test-coordinator.ts';
import { kAnvilAccountKeys } from './anvil-process.ts';

let coordinator: TestCoordinator;
beforeEach(async () => {
  coordinator = await startTestCoordinator();
});
afterEach(() => coordinator.close());

it('a coordinator without a chain says so: no rewards in /v1/info, 404 SURGE_E_NO_REWARDS for an owner', async () => {
  const info = (await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse;
  expect(info.rewards ?? null).toBeNull();
  const owner = privateKeyToAccount(kAnvilAccountKeys[2]).address;
  const response = await coordinator.app.inject({ method: 'GET', url: `/v1/owners/${owner}/rewards` });
  expect(response.statusCode).toBe(404);
  expect(response.json().error).toMatchObject({ code: 'SURGE_E_NO_REWARDS' });
});

it('refuses an owner that is not an address', async () => {
  const response = await coordinator.app.inject({ method: 'GET', url: '/v1/owners/alice/rewards' });
  expect(response.statusCode).toBe(400);
  expect(response.json().error).toMatchObject({ code: 'SURGE_E_BAD_REQUEST', field: 'owner' });
});
