import { type Address, type Hex, type PublicClient, parseAbi, type WalletClient } from 'viem';
import { ApiError } from '../errors/api-error.ts';

/** The distributor's functions the page calls (contracts/CumulativeMerkleDistributor.sol). */
export const distributorAbi = parseAbi([
  'function claim(address account, uint256 cumulativeAmount, bytes32[] proof)',
  'function claimed(address account) view returns (uint256)',
]);

/** `GET /v1/owners/:address/rewards`: the account's cumulative amount in the latest posted root, and its proof. */
export interface Rewards {
  chainId: number;
  distributor: Address;
  token: Address;
  epoch: number;
  root: Hex;
  account: Address;
  /** Cumulative validated earnings in token base units. */
  cumulative: bigint;
  proof: Hex[];
  /** When the root can be claimed against (after the distributor's timelock). */
  activeAt: Date;
}

/** The account's rewards, or undefined when it has none in a posted root yet (SURGE_E_NO_REWARDS). */
export async function fetchRewards(coordinatorUrl: string, account: Address): Promise<Rewards | undefined> {
  const url = new URL(`/v1/owners/${account}/rewards`, coordinatorUrl);
  const response = await fetch(url);
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  if (response.status === 404 && (body?.error as { code?: string } | undefined)?.code === 'SURGE_E_NO_REWARDS') return undefined;
  if (!response.ok || !body) {
    const error = body?.error as { code?: string; message?: string } | undefined;
    throw new ApiError(
      response.status,
      error?.code ?? 'SURGE_E_HTTP',
      error?.message ?? `The coordinator answered ${url.pathname} with HTTP ${response.status}.`,
    );
  }
  return {
    chainId: body.chainId as number,
    distributor: body.distributor as Address,
    token: body.token as Address,
    epoch: body.epoch as number,
    root: body.root as Hex,
    account,
    cumulative: BigInt(body.cumulative as string),
    proof: body.proof as Hex[],
    activeAt: new Date(body.activeAt as string),
  };
}

/** What the account has already claimed from the distributor (its `claimed` mapping). */
export function readClaimed(publicClient: PublicClient, distributor: Address, account: Address): Promise<bigint> {
  return publicClient.readContract({ address: distributor, abi: distributorAbi, functionName: 'claimed', args: [account] });
}

/**
 * Sends the claim from the visitor's wallet (the wallet prompts): the distributor pays
 * `cumulative − claimed`. Returns the transaction hash.
 */
export async function claimRewards(walletClient: WalletClient, rewards: Rewards): Promise<Hex> {
  // The wallet may be on another chain: ask it to switch (its own prompt) rather than fail.
  if ((await walletClient.getChainId()) !== rewards.chainId) await walletClient.switchChain({ id: rewards.chainId });
  return walletClient.writeContract({
    // Anyone may send the claim (the distributor pays `account`): the wallet's own account signs.
    account: walletClient.account ?? rewards.account,
    chain: walletClient.chain ?? null,
    address: rewards.distributor,
    abi: distributorAbi,
    functionName: 'claim',
    args: [rewards.account, rewards.cumulative, rewards.proof],
  });
}
