import { StandardMerkleTree } from '@openzeppelin/merkle-tree';
import { type Address, BaseError, ContractFunctionRevertedError, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { kAdminKey, kOutsiderKey, kRootPosterKey, startTestChain, type TestChain } from '../test/helpers/anvil.ts';
import { cumulativeMerkleDistributorArtifact, surgeRewardTokenArtifact } from './artifacts.ts';

const abi = cumulativeMerkleDistributorArtifact.abi;
const kDelay = 3600;

let chain: TestChain;
let distributor: Address;
let token: Address;
const alice = privateKeyToAccount(generatePrivateKey()).address;
const bob = privateKeyToAccount(generatePrivateKey()).address;

beforeAll(async () => {
  chain = await startTestChain();
});
afterAll(() => chain?.stop());

beforeEach(async () => {
  ({ token, distributor } = await chain.deployRewards(kDelay));
});

/** A tree as the coordinator builds it: StandardMerkleTree over (address, uint256). */
function tree(amounts: [Address, bigint][]) {
  const t = StandardMerkleTree.of(
    amounts.map(([a, v]) => [a, v.toString()]),
    ['address', 'uint256'],
  );
  const proof = (account: Address) => {
    for (const [i, [a]] of t.entries()) if (a === account) return t.getProof(i) as Hex[];
    throw new Error(`${account} is not in the tree`);
  };
  return { root: t.root as Hex, proof };
}

async function send(key: Hex, functionName: string, args: readonly unknown[]) {
  const wallet = chain.wallet(key);
  // simulate first, so a revert surfaces as the contract's custom error.
  const { request } = await chain.publicClient.simulateContract({ account: wallet.account, address: distributor, abi, functionName, args } as never);
  const hash = await wallet.writeContract(request as never);
  const receipt = await chain.publicClient.waitForTransactionReceipt({ hash });
  expect(receipt.status).toBe('success');
}

/** The custom error a call reverts with. */
async function revertOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    const reverted = error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined;
    if (reverted instanceof ContractFunctionRevertedError) return reverted.data?.errorName ?? reverted.reason ?? 'unknown';
    throw error;
  }
  throw new Error('the call did not revert');
}

const balance = (account: Address) =>
  chain.publicClient.readContract({ address: token, abi: surgeRewardTokenArtifact.abi, functionName: 'balanceOf', args: [account] });
const claimed = (account: Address) => chain.publicClient.readContract({ address: distributor, abi, functionName: 'claimed', args: [account] });
const postRoot = (root: Hex, epoch: number, key: Hex = kRootPosterKey) => send(key, 'postRoot', [root, BigInt(epoch)]);
const claim = (account: Address, amount: bigint, proof: Hex[]) => send(kOutsiderKey, 'claim', [account, amount, proof]);

describe('CumulativeMerkleDistributor', () => {
  it('pays cumulative − claimed: a second identical claim pays nothing, a later root pays the difference', async () => {
    const first = tree([
      [alice, 100n],
      [bob, 40n],
    ]);
    await postRoot(first.root, 1);
    await chain.increaseTime(kDelay);
    await claim(alice, 100n, first.proof(alice));
    expect(await balance(alice)).toBe(100n);
    expect(await claimed(alice)).toBe(100n);
    await claim(alice, 100n, first.proof(alice));
    expect(await balance(alice)).toBe(100n);

    const second = tree([
      [alice, 250n],
      [bob, 40n],
    ]);
    await postRoot(second.root, 2);
    await chain.increaseTime(kDelay);
    await claim(alice, 250n, second.proof(alice));
    expect(await balance(alice)).toBe(250n);
    await claim(bob, 40n, second.proof(bob));
    expect(await balance(bob)).toBe(40n);
  });

  it('refuses a wrong proof or a wrong amount', async () => {
    const t = tree([
      [alice, 100n],
      [bob, 40n],
    ]);
    await postRoot(t.root, 1);
    await chain.increaseTime(kDelay);
    expect(await revertOf(claim(alice, 100n, t.proof(bob)))).toBe('InvalidProof');
    expect(await revertOf(claim(alice, 101n, t.proof(alice)))).toBe('InvalidProof');
    expect(await balance(alice)).toBe(0n);
  });

  it('takes roots only from the updater, and only for a newer epoch', async () => {
    const t = tree([[alice, 1n]]);
    expect(await revertOf(postRoot(t.root, 1, kOutsiderKey))).toBe('AccessControlUnauthorizedAccount');
    expect(await revertOf(postRoot(t.root, 1, kAdminKey))).toBe('AccessControlUnauthorizedAccount');
    await postRoot(t.root, 5);
    expect(await revertOf(postRoot(t.root, 5))).toBe('EpochNotIncreasing');
    expect(await revertOf(postRoot(t.root, 4))).toBe('EpochNotIncreasing');
  });

  it('does not pay against a root before its delay has passed; the previous root still pays', async () => {
    const first = tree([[alice, 100n]]);
    await postRoot(first.root, 1);
    await chain.increaseTime(kDelay - 60);
    expect(await revertOf(claim(alice, 100n, first.proof(alice)))).toBe('NoActiveRoot');
    await chain.increaseTime(60);
    const second = tree([[alice, 300n]]);
    await postRoot(second.root, 2);
    expect(await revertOf(claim(alice, 300n, second.proof(alice)))).toBe('InvalidProof');
    await claim(alice, 100n, first.proof(alice));
    expect(await balance(alice)).toBe(100n);
  });

  it('lets the guardian revoke a root during its timelock, and not after', async () => {
    const good = tree([[alice, 100n]]);
    await postRoot(good.root, 1);
    await chain.increaseTime(kDelay);
    const bad = tree([[alice, 10n ** 24n]]);
    await postRoot(bad.root, 2);
    expect(await revertOf(send(kOutsiderKey, 'revokeRoot', [2n]))).toBe('AccessControlUnauthorizedAccount');
    await send(kAdminKey, 'revokeRoot', [2n]);
    await chain.increaseTime(kDelay);
    expect(await revertOf(claim(alice, 10n ** 24n, bad.proof(alice)))).toBe('InvalidProof');
    await claim(alice, 100n, good.proof(alice));
    expect(await balance(alice)).toBe(100n);
    expect(await revertOf(send(kAdminKey, 'revokeRoot', [1n]))).toBe('RootAlreadyActive');
  });

  it('blocks claims while paused', async () => {
    const t = tree([[alice, 100n]]);
    await postRoot(t.root, 1);
    await chain.increaseTime(kDelay);
    expect(await revertOf(send(kOutsiderKey, 'pause', []))).toBe('AccessControlUnauthorizedAccount');
    await send(kAdminKey, 'pause', []);
    expect(await revertOf(claim(alice, 100n, t.proof(alice)))).toBe('EnforcedPause');
    await send(kAdminKey, 'unpause', []);
    await claim(alice, 100n, t.proof(alice));
    expect(await balance(alice)).toBe(100n);
  });
});
