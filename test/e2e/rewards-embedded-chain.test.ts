import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Address, createPublicClient, createTestClient, createWalletClient, type Hex, http } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { anvil } from 'viem/chains';
import { afterAll, expect, it } from 'vitest';
import { cumulativeMerkleDistributorArtifact, surgeRewardTokenArtifact } from '../../contracts/artifacts.ts';
import { primesReference } from '../../src/kernels/primes.ts';
import type { ReceiptDomain } from '../../src/protocol/receipt.ts';
import type { InfoResponse, Lease, OwnerRewardsResponse } from '../../src/protocol/schemas.ts';
import { signWorkReceipt } from '../../src/wallet/receipt-signer.ts';
import { sessionGrantMessage } from '../../src/wallet/session-grant.ts';

/**
 * What `npm start` gives a newcomer: the coordinator process starts its own anvil chain,
 * deploys the contracts, settles epochs; a contributor's validated result becomes a claim
 * paid on that chain; the chain stops with the coordinator.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'surge-rewards-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

function startCoordinator(): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    SURGE_DATA_DIR: dataDir,
    PORT: '0',
    SURGE_DEMO: '0',
    SURGE_EPOCH_SECONDS: '1',
    SURGE_ROOT_DELAY_SECONDS: '0',
    SURGE_REQUESTER_TOKENS: 'e2e:e2e-token',
    LOG_LEVEL: 'warn',
  };
  delete env.SURGE_RPC_URL;
  delete env.SURGE_CHAIN;
  return new Promise((ready, fail) => {
    child = spawn(process.execPath, ['--import', 'tsx', 'coordinator/main.ts'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Open (http:\/\/[^/\s]+)\//.exec(output);
      if (match && /Rewards: local anvil chain/.test(output)) ready(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => fail(new Error(`the coordinator exited (${code}) before it listened:\n${output}`)));
  });
}

it('npm start: contribute, an epoch closes on the local chain, claim; the chain stops with the coordinator', async () => {
  const base = await startCoordinator();
  const info = (await (await fetch(`${base}/v1/info`)).json()) as InfoResponse;
  expect(info.rewards).toMatchObject({ chainId: 31337, epochSeconds: 1 });
  const rewards = info.rewards!;
  expect(info.domain.verifyingContract).toBe(rewards.distributor);

  // Several units: a new owner's first lease is a canary the coordinator computes from one of the
  // job's units (adaptive replication), and the job must stay active to hand it out.
  const job = await fetch(`${base}/v1/jobs`, {
    method: 'POST',
    headers: { authorization: 'Bearer e2e-token', 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Rewards', purpose: 'an e2e test', kernel: 'primes', params: { lo: 0, hi: 65_536, span: 16_384, blockSize: 8192 } }),
  });
  expect(job.status).toBe(201);

  const owner = privateKeyToAccount(generatePrivateKey());
  const session = privateKeyToAccount(generatePrivateKey());
  const post = (path: string, body: unknown) =>
    fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const message = sessionGrantMessage({ owner: owner.address, session: session.address, domain: new URL(base).host, uri: base, chainId: rewards.chainId });
  expect((await post('/v1/sessions', { message, signature: await owner.signMessage({ message }) })).status).toBe(200);
  const { lease } = (await (await post('/v1/leases', { session: session.address, backends: ['wasm'] })).json()) as { lease: Lease };
  if (lease.kernel !== 'primes') throw new Error('expected a primes lease');
  const output = primesReference(lease.params);
  const signed = await signWorkReceipt({ session, owner: owner.address, domain: info.domain as ReceiptDomain, lease, output, seq: 0 });
  const verdict = await post('/v1/results', {
    lease: lease.id,
    output: Buffer.from(output).toString('base64'),
    receipt: signed.receipt,
    signature: signed.signature,
  });
  expect(await verdict.json()).toMatchObject({ status: 'validated' });

  const rewardsUrl = `${base}/v1/owners/${owner.address}/rewards`;
  await expect.poll(async () => (await fetch(rewardsUrl)).status, { timeout: 20_000, interval: 250 }).toBe(200);
  const mine = (await (await fetch(rewardsUrl)).json()) as OwnerRewardsResponse;
  expect(BigInt(mine.cumulative)).toBe(BigInt(lease.units) * 10n ** 15n);

  const transport = http(rewards.rpcUrl);
  const publicClient = createPublicClient({ chain: anvil, transport, pollingInterval: 50 });
  await createTestClient({ chain: anvil, mode: 'anvil', transport }).setBalance({ address: owner.address, value: 10n ** 18n });
  const wallet = createWalletClient({ chain: anvil, account: owner, transport });
  const hash = await wallet.writeContract({
    address: mine.distributor as Address,
    abi: cumulativeMerkleDistributorArtifact.abi,
    functionName: 'claim',
    args: [owner.address, BigInt(mine.cumulative), mine.proof as Hex[]],
  });
  expect((await publicClient.waitForTransactionReceipt({ hash })).status).toBe('success');
  const balance = await publicClient.readContract({
    address: mine.token as Address,
    abi: surgeRewardTokenArtifact.abi,
    functionName: 'balanceOf',
    args: [owner.address],
  });
  expect(balance).toBe(BigInt(mine.cumulative));

  const exited = new Promise((done) => child!.once('exit', done));
  child!.kill('SIGTERM');
  await exited;
  await expect
    .poll(
      () =>
        publicClient.getChainId().then(
          () => 'up',
          () => 'down',
        ),
      { timeout: 10_000 },
    )
    .toBe('down');
}, 120_000);
