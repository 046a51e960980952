import { createPublicClient, createWalletClient, defineChain, http, type PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import type { Db } from '../db/database.ts';
import { type AnvilProcess, kAnvilAccountKeys, startAnvil } from './anvil-process.ts';
import { deployRewardContracts } from './deploy-reward-contracts.ts';
import { connectRewardsChain, type RewardsChain } from './rewards-chain.ts';
import type { RewardsConfig } from './rewards-config.ts';

/** Tokens minted into a development distributor: a billion, 18 decimals. */
const kDevelopmentFund = 10n ** 9n * 10n ** 18n;

/**
 * The embedded default: a fresh anvil chain with the token and distributor deployed by anvil's
 * first development account (admin and guardian), its second account as the root poster, and
 * the distributor funded. The chain lives in memory, so epochs an earlier run settled for the
 * same distributor address are forgotten: the first epoch pays all credit in the ledger again.
 */
export async function startLocalRewardsChain(db: Db, config: RewardsConfig, chainId: number): Promise<{ chain: RewardsChain; anvil: AnvilProcess }> {
  const anvil = await startAnvil({ chainId });
  try {
    const chain = defineChain({
      id: chainId,
      name: 'anvil',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [anvil.rpcUrl] } },
    });
    const publicClient = createPublicClient({ chain, transport: http(anvil.rpcUrl), pollingInterval: 100 }) as PublicClient;
    const deployer = createWalletClient({ chain, account: privateKeyToAccount(kAnvilAccountKeys[0]), transport: http(anvil.rpcUrl) });
    const rootPoster = privateKeyToAccount(kAnvilAccountKeys[1]);
    const { distributor } = await deployRewardContracts({
      publicClient,
      deployer,
      updater: rootPoster.address,
      activationDelaySeconds: config.activationDelaySeconds,
      fund: kDevelopmentFund,
    });
    await db.deleteFrom('settlement_payouts').where('distributor', '=', distributor.toLowerCase()).execute();
    await db.deleteFrom('settlement_epochs').where('distributor', '=', distributor.toLowerCase()).execute();
    const rewards = await connectRewardsChain({
      rpcUrl: anvil.rpcUrl,
      distributor,
      rootPosterKey: kAnvilAccountKeys[1],
      epochSeconds: config.epochSeconds,
      tokensPerCredit: config.tokensPerCredit,
      pollingMs: 100,
    });
    return { chain: rewards, anvil };
  } catch (error) {
    await anvil.stop();
    throw error;
  }
}
