import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
  type TestClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { anvil as anvilChain } from 'viem/chains';
import { type AnvilProcess, kAnvilAccountKeys, startAnvil } from '../../coordinator/settlement/anvil-process.ts';
import { deployRewardContracts } from '../../coordinator/settlement/deploy-reward-contracts.ts';

export interface TestChain {
  anvil: AnvilProcess;
  rpcUrl: string;
  publicClient: PublicClient;
  testClient: TestClient<'anvil', Transport, Chain>;
  /** A wallet client for a key or account (anvil's own accounts have ether; `fund` others). */
  wallet(key: Hex | Account): WalletClient<Transport, Chain, Account>;
  /** Gives an address ether for gas. */
  fund(address: Address): Promise<void>;
  /** Moves the chain's clock forward and mines a block at the new time; returns the block time (ms). */
  increaseTime(seconds: number): Promise<number>;
  /** The latest block's time (ms). */
  time(): Promise<number>;
  /** Deploys the token and a funded distributor: anvil account 0 is admin and guardian, account 1 the updater. */
  deployRewards(activationDelaySeconds: number): Promise<{ token: Address; distributor: Address }>;
  stop(): Promise<void>;
}

/** The keys tests use: admin (account 0), root poster (account 1), and someone with no role (account 2). */
export const kAdminKey = kAnvilAccountKeys[0];
export const kRootPosterKey = kAnvilAccountKeys[1];
export const kOutsiderKey = kAnvilAccountKeys[2];

/** A real anvil chain on a free port (chain id 31337), with viem clients; stop it in afterAll. */
export async function startTestChain(): Promise<TestChain> {
  const anvil = await startAnvil();
  const transport = http(anvil.rpcUrl);
  const publicClient = createPublicClient({ chain: anvilChain, transport, pollingInterval: 50 }) as PublicClient;
  const testClient = createTestClient({ chain: anvilChain, mode: 'anvil', transport });
  const wallet = (key: Hex | Account) =>
    createWalletClient({ chain: anvilChain, account: typeof key === 'string' ? privateKeyToAccount(key) : key, transport, pollingInterval: 50 });
  const time = async () => Number((await publicClient.getBlock()).timestamp) * 1000;
  return {
    anvil,
    rpcUrl: anvil.rpcUrl,
    publicClient,
    testClient,
    wallet,
    fund: (address) => testClient.setBalance({ address, value: 10n ** 18n }),
    async increaseTime(seconds) {
      await testClient.increaseTime({ seconds });
      await testClient.mine({ blocks: 1 });
      return time();
    },
    time,
    deployRewards: (activationDelaySeconds) =>
      deployRewardContracts({
        publicClient,
        deployer: wallet(kAdminKey),
        updater: privateKeyToAccount(kRootPosterKey).address,
        activationDelaySeconds,
        fund: 10n ** 30n,
      }),
    stop: () => anvil.stop(),
  };
}
