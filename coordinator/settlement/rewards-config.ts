import { readFileSync } from 'node:fs';
import { type Address, getAddress, type Hex, isAddress } from 'viem';

/** How the coordinator pays rewards; see the README's "Rewards". */
export interface RewardsConfig {
  /** The chain's JSON-RPC URL; undefined starts a local anvil chain and deploys the contracts (development). */
  rpcUrl?: string;
  /** The RPC URL `/v1/info` tells browsers (they send claims through it); defaults to `rpcUrl`. */
  publicRpcUrl?: string;
  /** The deployed CumulativeMerkleDistributor (with `rpcUrl`). */
  distributor?: Address;
  /** The key holding the distributor's updater role (with `rpcUrl`); never kept in the repository. */
  rootPosterKey?: Hex;
  /** How often an epoch is settled. */
  epochSeconds: number;
  /** Token base units paid per unit of validated credit. */
  tokensPerCredit: bigint;
  /** The timelock of a distributor the embedded chain deploys (a deployed one has its own). */
  activationDelaySeconds: number;
}

function nonNegative(name: string, raw: string | undefined, fallback: bigint): bigint {
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) throw new Error(`${name} must be a non-negative integer, not "${raw}"`);
  return BigInt(raw);
}

function privateKey(name: string, raw: string): Hex {
  const key = raw.trim();
  if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error(`${name} must hold a 32-byte hex private key (0x…)`);
  return key as Hex;
}

/**
 * Reads the rewards configuration: `SURGE_CHAIN=0` turns rewards off; `SURGE_RPC_URL` (with
 * `SURGE_DISTRIBUTOR` and `SURGE_ROOT_POSTER_KEY` or `SURGE_ROOT_POSTER_KEY_FILE`) pays on a
 * real chain; with neither, a local anvil chain is started.
 */
export function rewardsConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RewardsConfig | undefined {
  if (env.SURGE_CHAIN === '0') return undefined;
  const epochSeconds = Number(nonNegative('SURGE_EPOCH_SECONDS', env.SURGE_EPOCH_SECONDS, 60n));
  if (epochSeconds < 1) throw new Error('SURGE_EPOCH_SECONDS must be at least 1');
  const common = {
    epochSeconds,
    tokensPerCredit: nonNegative('SURGE_TOKENS_PER_CREDIT', env.SURGE_TOKENS_PER_CREDIT, 10n ** 15n),
    activationDelaySeconds: Number(nonNegative('SURGE_ROOT_DELAY_SECONDS', env.SURGE_ROOT_DELAY_SECONDS, 30n)),
  };
  const rpcUrl = env.SURGE_RPC_URL;
  if (!rpcUrl) return common;
  const distributor = env.SURGE_DISTRIBUTOR ?? '';
  if (!isAddress(distributor)) throw new Error(`SURGE_RPC_URL needs SURGE_DISTRIBUTOR, the distributor's address (not "${distributor}")`);
  let rootPosterKey: Hex;
  if (env.SURGE_ROOT_POSTER_KEY) rootPosterKey = privateKey('SURGE_ROOT_POSTER_KEY', env.SURGE_ROOT_POSTER_KEY);
  else if (env.SURGE_ROOT_POSTER_KEY_FILE) rootPosterKey = privateKey('SURGE_ROOT_POSTER_KEY_FILE', readFileSync(env.SURGE_ROOT_POSTER_KEY_FILE, 'utf8'));
  else throw new Error('SURGE_RPC_URL needs the root poster key: SURGE_ROOT_POSTER_KEY or SURGE_ROOT_POSTER_KEY_FILE');
  return { ...common, rpcUrl, publicRpcUrl: env.SURGE_PUBLIC_RPC_URL || rpcUrl, distributor: getAddress(distributor), rootPosterKey };
}
