import type { FastifyBaseLogger } from 'fastify';
import { zeroAddress } from 'viem';
import type { CoordinatorConfig } from '../config.ts';
import type { Db } from '../db/database.ts';
import type { AnvilProcess } from './anvil-process.ts';
import { type EpochSettler, startEpochSettler } from './epoch-settler.ts';
import { startLocalRewardsChain } from './local-rewards-chain.ts';
import { connectRewardsChain, type RewardsChain } from './rewards-chain.ts';

export interface RunningRewards {
  chain: RewardsChain;
  /** Starts settling an epoch every `epochSeconds`. */
  startSettler(log: FastifyBaseLogger): void;
  /** A line for the start-up banner. */
  describe(): string;
  /** Stops the settler, then the embedded chain if there is one. */
  stop(): Promise<void>;
}

/**
 * Connects to the configured chain, or starts the embedded anvil chain and deploys the
 * contracts, and aligns the receipt domain with it: the chain id is the chain's, and the
 * verifying contract is the distributor unless SURGE_VERIFYING_CONTRACT names another.
 */
export async function startRewards(db: Db, config: CoordinatorConfig, env: NodeJS.ProcessEnv = process.env): Promise<RunningRewards> {
  const rewards = config.rewards;
  if (!rewards) throw new Error('rewards are off');
  let anvil: AnvilProcess | undefined;
  let chain: RewardsChain;
  if (rewards.rpcUrl && rewards.distributor && rewards.rootPosterKey) {
    chain = await connectRewardsChain({
      rpcUrl: rewards.rpcUrl,
      ...(rewards.publicRpcUrl ? { publicRpcUrl: rewards.publicRpcUrl } : {}),
      distributor: rewards.distributor,
      rootPosterKey: rewards.rootPosterKey,
      epochSeconds: rewards.epochSeconds,
      tokensPerCredit: rewards.tokensPerCredit,
      ...(env.SURGE_CHAIN_ID ? { expectChainId: config.chainId } : {}),
    });
  } else {
    ({ chain, anvil } = await startLocalRewardsChain(db, rewards, config.chainId));
  }
  config.chainId = chain.chainId;
  if (config.verifyingContract === zeroAddress) config.verifyingContract = chain.distributor;
  let settler: EpochSettler | undefined;
  return {
    chain,
    startSettler(log) {
      settler = startEpochSettler(db, chain, log);
    },
    describe: () =>
      `${anvil ? 'local anvil chain' : 'chain'} ${chain.chainId} at ${chain.rpcUrl}, distributor ${chain.distributor}, token ${chain.token}, an epoch every ${chain.epochSeconds} s`,
    async stop() {
      await settler?.stop();
      await anvil?.stop();
    },
  };
}
