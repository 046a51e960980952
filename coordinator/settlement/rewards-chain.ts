import {
  type Account,
  type Address,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { cumulativeMerkleDistributorArtifact } from '../../contracts/artifacts.ts';
import type { RewardsInfo } from '../../src/protocol/schemas.ts';

/** The chain the coordinator settles on, with a client for reading it and one that posts roots. */
export interface RewardsChain extends RewardsInfo {
  distributor: Address;
  token: Address;
  tokensPerCredit: bigint;
  publicClient: PublicClient;
  rootPoster: WalletClient<Transport, Chain, Account>;
}

export interface RewardsChainOptions {
  rpcUrl: string;
  /** What `/v1/info` advertises; defaults to `rpcUrl`. */
  publicRpcUrl?: string;
  distributor: Address;
  rootPosterKey: Hex;
  epochSeconds: number;
  tokensPerCredit: bigint;
  /** When given, the chain must have this id. */
  expectChainId?: number;
  /** How often to poll for a transaction's receipt; anvil mines at once, so it can be short there. */
  pollingMs?: number;
}

/** Connects to the chain at `rpcUrl` and reads the distributor's token. */
export async function connectRewardsChain(options: RewardsChainOptions): Promise<RewardsChain> {
  const pollingInterval = options.pollingMs ?? 1000;
  const probe = createPublicClient({ transport: http(options.rpcUrl) });
  const chainId = await probe.getChainId();
  if (options.expectChainId !== undefined && chainId !== options.expectChainId) {
    throw new Error(`SURGE_CHAIN_ID is ${options.expectChainId} but the chain at the RPC URL is ${chainId}: set SURGE_CHAIN_ID=${chainId}`);
  }
  const chain = defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [options.rpcUrl] } },
  });
  const publicClient = createPublicClient({ chain, transport: http(options.rpcUrl), pollingInterval }) as PublicClient;
  const rootPoster = createWalletClient({
    chain,
    account: privateKeyToAccount(options.rootPosterKey),
    transport: http(options.rpcUrl),
    pollingInterval,
  });
  const token = await publicClient.readContract({ address: options.distributor, abi: cumulativeMerkleDistributorArtifact.abi, functionName: 'token' });
  return {
    chainId,
    rpcUrl: options.publicRpcUrl ?? options.rpcUrl,
    distributor: options.distributor,
    token,
    epochSeconds: options.epochSeconds,
    tokensPerCredit: options.tokensPerCredit,
    publicClient,
    rootPoster,
  };
}
