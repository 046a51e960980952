import { type Address, BaseError, ContractFunctionRevertedError, type Hex, type LocalAccount } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { cumulativeMerkleDistributorArtifact, surgeRewardTokenArtifact } from '../../contracts/artifacts.ts';
import type { InfoResponse, OwnerRewardsResponse } from '../../src/protocol/schemas.ts';
import { ownerLinkMessage } from '../../src/protocol/wallet-messages.ts';
import { claimRewards, fetchRewards, type Rewards, readClaimed } from '../../src/wallet/claim-rewards.ts';
import { kAdminKey, kRootPosterKey, startTestChain, type TestChain } from '../../test/helpers/anvil.ts';
import { registerContributor, type TestContributor } from '../../test/helpers/contributor.ts';
import { startTestCoordinator, type TestCoordinator, testDatabases } from '../../test/helpers/test-coordinator.ts';
import { contributeValidatedResult } from '../../test/helpers/validated-result.ts';
import { startEpochSettler } from './epoch-settler.ts';
import { connectRewardsChain, type RewardsChain } from './rewards-chain.ts';
import { settleEpoch } from './settle-epoch.ts';

const abi = cumulativeMerkleDistributorArtifact.abi;
const kDelaySeconds = 60;
const kTokensPerCredit = 10n ** 15n;

let testChain: TestChain;

beforeAll(async () => {
  testChain = await startTestChain();
});
afterAll(() => testChain?.stop());

describe.each(testDatabases)('epoch settlement on anvil, $name', ({ name: database, skip }) => {
  if (skip) {
    it.skip('needs SURGE_TEST_POSTGRES_URL: a PostgreSQL server (.ci/run starts one)', () => {});
    return;
  }
  let coordinator: TestCoordinator;
  let chain: RewardsChain;

  beforeEach(async () => {
    const { distributor } = await testChain.deployRewards(kDelaySeconds);
    chain = await connectRewardsChain({
      rpcUrl: testChain.rpcUrl,
      distributor,
      rootPosterKey: kRootPosterKey,
      epochSeconds: 60,
      tokensPerCredit: kTokensPerCredit,
      pollingMs: 50,
    });
    coordinator = await startTestCoordinator({ verifyingContract: distributor }, database, { rewards: chain });
  });
  afterEach(() => coordinator?.close());

  const settle = () => settleEpoch(coordinator.db, chain, coordinator.clock.now);
  const rewardsOf = (who: TestContributor) => coordinator.app.inject({ method: 'GET', url: `/v1/owners/${who.owner.address}/rewards` });
  const balance = (account: Address) =>
    testChain.publicClient.readContract({ address: chain.token, abi: surgeRewardTokenArtifact.abi, functionName: 'balanceOf', args: [account] });
  const lastEpochOnChain = async () => Number(await testChain.publicClient.readContract({ address: chain.distributor, abi, functionName: 'lastEpoch' }));
  const cumulativeCreditOf = async (who: TestContributor) =>
    BigInt((await coordinator.app.inject({ method: 'GET', url: `/v1/owners/${who.owner.address}` })).json().credit as string);
  /** Moves the chain past the timelock, and the coordinator's clock to the chain's. */
  const passTimelock = async () => {
    coordinator.clock.now = await testChain.increaseTime(kDelaySeconds);
  };

  /**
   * What the page's Claim button does (src/wallet/claim-rewards.ts): fetch the proof from the
   * coordinator over HTTP, send `claim` from the owner's own wallet, then read `claimed`.
   * `rewards` replays a proof fetched earlier instead.
   */
  async function claim(who: LocalAccount, rewards?: Rewards): Promise<Rewards> {
    await testChain.fund(who.address);
    const proof = rewards ?? (await fetchRewards(await coordinator.url(), who.address));
    if (!proof) throw new Error(`no rewards for ${who.address} yet`);
    const receipt = await testChain.publicClient.waitForTransactionReceipt({ hash: await claimRewards(testChain.wallet(who), proof) });
    expect(receipt.status).toBe('success');
    expect(await readClaimed(testChain.publicClient, proof.distributor, who.address)).toBe(proof.cumulative);
    return proof;
  }

  async function claimRevert(who: TestContributor, rewards: OwnerRewardsResponse): Promise<string | undefined> {
    const args = [who.owner.address, BigInt(rewards.cumulative), rewards.proof as Hex[]] as const;
    try {
      await testChain.publicClient.simulateContract({ account: who.owner, address: rewards.distributor as Address, abi, functionName: 'claim', args });
      return undefined;
    } catch (error) {
      const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
      return reverted instanceof ContractFunctionRevertedError ? reverted.data?.errorName : String(error);
    }
  }

  it('contribute, close an epoch, claim; more work, next epoch, claim only the difference', async () => {
    const info = (await coordinator.app.inject({ method: 'GET', url: '/v1/info' })).json() as InfoResponse;
    expect(info.rewards).toEqual({ chainId: 31337, rpcUrl: testChain.rpcUrl, distributor: chain.distributor, token: chain.token, epochSeconds: 60 });
    expect(info.domain.verifyingContract).toBe(chain.distributor);

    const alice = await registerContributor(coordinator.app);
    const bob = await registerContributor(coordinator.app);
    const noneYet = await rewardsOf(alice);
    expect(noneYet.statusCode).toBe(404);
    expect(noneYet.json().error.code).toBe('SURGE_E_NO_REWARDS');

    let aliceCredit = (await contributeValidatedResult(coordinator.app, alice)) + (await contributeValidatedResult(coordinator.app, alice));
    const bobCredit = await contributeValidatedResult(coordinator.app, bob);
    expect(aliceCredit).toBeGreaterThan(0n);

    const first = await settle();
    expect(first).toMatchObject({ epoch: 1, owners: 2, total: (aliceCredit + bobCredit) * kTokensPerCredit });
    expect(await lastEpochOnChain()).toBe(1);
    // Nothing new: no epoch.
    expect(await settle()).toBeUndefined();
    expect(await lastEpochOnChain()).toBe(1);

    const pending = (await rewardsOf(alice)).json() as OwnerRewardsResponse;
    expect(pending).toMatchObject({ epoch: 1, root: first?.root, cumulative: String(aliceCredit * kTokensPerCredit), distributor: chain.distributor });
    expect(Date.parse(pending.activeAt)).toBeGreaterThan(coordinator.clock.now);
    expect(await claimRevert(alice, pending)).toBe('NoActiveRoot');

    await passTimelock();
    const epoch1 = await claim(alice.owner);
    expect(epoch1.epoch).toBe(1);
    expect(await balance(alice.owner.address)).toBe(aliceCredit * kTokensPerCredit);
    // A second identical claim pays nothing.
    await claim(alice.owner, epoch1);
    expect(await balance(alice.owner.address)).toBe(aliceCredit * kTokensPerCredit);

    aliceCredit += await contributeValidatedResult(coordinator.app, alice);
    const second = await settle();
    expect(second).toMatchObject({ epoch: 2, owners: 2 });
    // Until epoch 2's root is active, the claimable epoch is still 1.
    expect(((await rewardsOf(alice)).json() as OwnerRewardsResponse).epoch).toBe(1);
    await passTimelock();
    expect((await rewardsOf(alice)).json()).toMatchObject({ epoch: 2, cumulative: String(aliceCredit * kTokensPerCredit) });
    const before = await balance(alice.owner.address);
    const epoch2 = await claim(alice.owner);
    expect((await balance(alice.owner.address)) - before).toBe(epoch2.cumulative - epoch1.cumulative);
    expect(await balance(alice.owner.address)).toBe(aliceCredit * kTokensPerCredit);

    await claim(bob.owner);
    expect(await balance(bob.owner.address)).toBe(bobCredit * kTokensPerCredit);
  });

  it('a crash after storing an epoch, before posting it, posts the same epoch on the next run', async () => {
    const alice = await registerContributor(coordinator.app);
    const credit = await contributeValidatedResult(coordinator.app, alice);
    const crashing: RewardsChain = {
      ...chain,
      rootPoster: {
        ...chain.rootPoster,
        writeContract: () => Promise.reject(new Error('the process died')),
      } as RewardsChain['rootPoster'],
    };
    await expect(settleEpoch(coordinator.db, crashing, coordinator.clock.now)).rejects.toThrow('the process died');
    expect(await lastEpochOnChain()).toBe(0);
    expect((await rewardsOf(alice)).statusCode).toBe(404);

    const settled = await settle();
    expect(settled).toMatchObject({ epoch: 1, owners: 1, total: credit * kTokensPerCredit });
    expect(await lastEpochOnChain()).toBe(1);
    await passTimelock();
    await claim(alice.owner);
    expect(await balance(alice.owner.address)).toBe(credit * kTokensPerCredit);
  });

  it('a crash after the root is sent, before it is recorded, does not post it again', async () => {
    const alice = await registerContributor(coordinator.app);
    await contributeValidatedResult(coordinator.app, alice);
    // The process stores the epoch and dies while its transaction is on the way …
    const dying: RewardsChain = {
      ...chain,
      rootPoster: { ...chain.rootPoster, writeContract: () => Promise.reject(new Error('the process died')) } as RewardsChain['rootPoster'],
    };
    await expect(settleEpoch(coordinator.db, dying, coordinator.clock.now)).rejects.toThrow('the process died');
    const stored = await coordinator.db.selectFrom('settlement_epochs').selectAll().executeTakeFirstOrThrow();
    expect(stored).toMatchObject({ epoch: 1, tx_hash: null, active_at: null });
    // … and the transaction it sent is mined.
    const hash = await chain.rootPoster.writeContract({ address: chain.distributor, abi, functionName: 'postRoot', args: [stored.root as Hex, 1n] });
    await testChain.publicClient.waitForTransactionReceipt({ hash });
    expect(await lastEpochOnChain()).toBe(1);
    const sent = await testChain.publicClient.getTransactionCount({ address: chain.rootPoster.account.address });

    expect(await settle()).toMatchObject({ epoch: 1, owners: 1 });
    expect(await testChain.publicClient.getTransactionCount({ address: chain.rootPoster.account.address })).toBe(sent);
    expect(await lastEpochOnChain()).toBe(1);
    expect(((await rewardsOf(alice)).json() as OwnerRewardsResponse).epoch).toBe(1);
    // And the next epoch goes on from there.
    await contributeValidatedResult(coordinator.app, alice);
    expect(await settle()).toMatchObject({ epoch: 2 });
  });

  it("pays a linked wallet for what the owner key earns from the link on; what it earned before stays the key's", async () => {
    const browser = await registerContributor(coordinator.app);
    const before = await contributeValidatedResult(coordinator.app, browser);
    expect((await settle())?.epoch).toBe(1);
    await passTimelock();
    await claim(browser.owner);

    const wallet = privateKeyToAccount(generatePrivateKey());
    const message = ownerLinkMessage({ owner: browser.owner.address, wallet: wallet.address, host: 'localhost:80', chainId: 31337 });
    const linked = await coordinator.app.inject({
      method: 'POST',
      url: `/v1/owners/${browser.owner.address}/link`,
      payload: { wallet: wallet.address, ownerSignature: await browser.owner.signMessage({ message }), walletSignature: await wallet.signMessage({ message }) },
    });
    expect(linked.statusCode, linked.body).toBe(200);
    coordinator.clock.now += 1000;
    const after = (await contributeValidatedResult(coordinator.app, browser)) + (await contributeValidatedResult(coordinator.app, browser));

    expect((await settle())?.epoch).toBe(2);
    await passTimelock();
    // The key's cumulative amount stays where it was (already claimed: nothing more to pay)…
    expect(((await rewardsOf(browser)).json() as OwnerRewardsResponse).cumulative).toBe(String(before * kTokensPerCredit));
    // …and the wallet is paid for the work after the link, once.
    const paid = await claim(wallet);
    expect(paid.cumulative).toBe(after * kTokensPerCredit);
    expect(await balance(wallet.address)).toBe(after * kTokensPerCredit);
    expect(await balance(browser.owner.address)).toBe(before * kTokensPerCredit);
  });

  it('a root the guardian revokes is not served, nor posted again from the same ledger', async () => {
    const alice = await registerContributor(coordinator.app);
    const firstCredit = await contributeValidatedResult(coordinator.app, alice);
    await settle();
    await passTimelock();
    await contributeValidatedResult(coordinator.app, alice);
    expect(await settle()).toMatchObject({ epoch: 2 });
    const guardian = testChain.wallet(kAdminKey);
    await testChain.publicClient.waitForTransactionReceipt({
      hash: await guardian.writeContract({ address: chain.distributor, abi, functionName: 'revokeRoot', args: [2n] }),
    });
    expect(await settle()).toBeUndefined();
    expect(await lastEpochOnChain()).toBe(2);
    await passTimelock();
    const served = (await rewardsOf(alice)).json() as OwnerRewardsResponse;
    expect(served).toMatchObject({ epoch: 1, cumulative: String(firstCredit * kTokensPerCredit) });
    expect((await claim(alice.owner)).epoch).toBe(1);
    expect(await balance(alice.owner.address)).toBe(firstCredit * kTokensPerCredit);

    const revokedCredit = await cumulativeCreditOf(alice);
    await contributeValidatedResult(coordinator.app, alice);
    expect(await settle()).toMatchObject({ epoch: 3 });
    await passTimelock();
    const after = (await rewardsOf(alice)).json() as OwnerRewardsResponse;
    expect(after.epoch).toBe(3);
    expect(BigInt(after.cumulative)).toBeGreaterThan(revokedCredit * kTokensPerCredit);
    expect(BigInt(after.cumulative)).toBe((await cumulativeCreditOf(alice)) * kTokensPerCredit);
  });

  it('the settler closes an epoch every epochSeconds', async () => {
    const alice = await registerContributor(coordinator.app);
    await contributeValidatedResult(coordinator.app, alice);
    const settler = startEpochSettler(coordinator.db, { ...chain, epochSeconds: 1 }, coordinator.app.log);
    try {
      await expect.poll(lastEpochOnChain, { timeout: 15_000, interval: 200 }).toBe(1);
      await contributeValidatedResult(coordinator.app, alice);
      await expect.poll(lastEpochOnChain, { timeout: 15_000, interval: 200 }).toBe(2);
    } finally {
      await settler.stop();
    }
  });
});
