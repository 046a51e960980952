import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { type Address, getAddress, isAddress, zeroAddress } from 'viem';
import { parseFrameAncestors } from './embed-headers.ts';
import { type RewardsConfig, rewardsConfigFromEnv } from './settlement/rewards-config.ts';
import { type TrustConfig, trustConfigFromEnv } from './trust-config.ts';

/**
 * The demo job `npm start` keeps: 256 units of 768 × 768 × 8,192 (9.7 GFLOP, a second or a few
 * on a browser's CPU; 768 × 768 is about the largest block whose output fits a result's body).
 * A job this wide keeps its validation under 2% of its compute: the validator makes each block
 * of A and B once per job (r + c blocks, where the units make 2rc) and then reads a unit's block
 * of A and its C once (`npm run bench:validation`, decision 0021).
 */
export const kDemoJob: DemoJobConfig = { size: 12288, block: 768, k: 8192 };

export interface DemoJobConfig {
  /** Rows and columns of the demo product C (size × size). */
  size: number;
  /** Rows and columns of C per work unit. */
  block: number;
  /** The inner dimension. */
  k: number;
}

export interface CoordinatorConfig {
  host: string;
  port: number;
  /** The SQLite file (or ':memory:'), or a postgres:// URL that several coordinator processes share. */
  database: string;
  /** Requester tokens (SHA-256 hex of the token → requester name). */
  requesterTokens: Map<string, string>;
  /** Where a development requester token is made when no tokens are configured. */
  requesterTokenFile: string;
  /** Where the coordinator's signing key is kept when `coordinatorKey` is not given. */
  keyFile: string;
  coordinatorKey?: `0x${string}`;
  /** The built contributor page; not served when undefined. */
  staticDir?: string;
  chainId: number;
  verifyingContract: Address;
  /** A JSON-RPC URL of the chain (SURGE_RPC_URL): owner signatures are then checked on chain, so contract wallets work. */
  rpcUrl?: string;
  /** How long a lease lasts before its unit is reissued. */
  leaseMs: number;
  /** Worker threads that validate results (SURGE_VALIDATION_THREADS); 0 validates on the event loop. */
  validationThreads: number;
  /** Keeps a demo job with work in it; undefined turns the demo off. */
  demo?: DemoJobConfig;
  logLevel: string;
  /** Requests a minute from one address before 429. */
  rateLimitPerMinute: number;
  /** Requests a minute from one session, and from all the sessions of one owner, before 429; 0 turns each off. */
  sessionRateLimitPerMinute?: number;
  ownerRateLimitPerMinute?: number;
  /** Origins that may call the API from a browser (CORS); '*' for any. None by default. */
  corsOrigins?: string[];
  bodyLimitBytes: number;
  /** Partner origins that may frame the embed widget, or ['*'] for any; undefined: only this origin. */
  frameAncestors?: string[];
  /** Epoch settlement and claims on chain; undefined pays no rewards. */
  rewards?: RewardsConfig;
  /** Replication, reputation, canaries and the credit cap; defaults in trust-config.ts. */
  trust?: Partial<TrustConfig>;
}

/** The most validation threads a coordinator starts; more would only hold memory. */
const kMaxValidationThreads = 64;

/** SURGE_VALIDATION_THREADS, or by default one thread per core but the event loop's, from 1 to 4. */
function validationThreads(env: NodeJS.ProcessEnv): number {
  const threads = integer('SURGE_VALIDATION_THREADS', Math.max(1, Math.min(4, availableParallelism() - 1)), env);
  if (threads > kMaxValidationThreads) throw new Error(`SURGE_VALIDATION_THREADS must be at most ${kMaxValidationThreads}, not ${threads}`);
  return threads;
}

function integer(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, not "${raw}"`);
  return value;
}

/** `name:token,name:token` → SHA-256 of each token → name. Tokens never stay in memory as given. */
export function parseRequesterTokens(value: string | undefined): Map<string, string> {
  const tokens = new Map<string, string>();
  for (const entry of (value ?? '').split(',').filter(Boolean)) {
    const at = entry.indexOf(':');
    if (at < 1 || at === entry.length - 1) throw new Error('SURGE_REQUESTER_TOKENS must be name:token pairs separated by commas');
    tokens.set(hashToken(entry.slice(at + 1)), entry.slice(0, at));
  }
  return tokens;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Reads the configuration from the environment; see the README's "Run a coordinator". */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): CoordinatorConfig {
  const dataDir = resolve(env.SURGE_DATA_DIR ?? 'data');
  const contract = env.SURGE_VERIFYING_CONTRACT ?? zeroAddress;
  if (!isAddress(contract)) throw new Error(`SURGE_VERIFYING_CONTRACT must be an address, not "${contract}"`);
  const key = env.SURGE_COORDINATOR_KEY;
  if (key !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(key)) throw new Error('SURGE_COORDINATOR_KEY must be a 32-byte hex private key');
  const rewards = rewardsConfigFromEnv(env);
  return {
    host: env.HOST ?? '127.0.0.1',
    port: integer('PORT', 8080, env),
    database: env.DATABASE_URL ?? env.SURGE_DATABASE ?? resolve(dataDir, 'surge.sqlite'),
    keyFile: resolve(dataDir, 'coordinator.key'),
    requesterTokens: parseRequesterTokens(env.SURGE_REQUESTER_TOKENS),
    requesterTokenFile: resolve(dataDir, 'requester.token'),
    ...(key ? { coordinatorKey: key as `0x${string}` } : {}),
    staticDir: resolve(env.SURGE_STATIC_DIR ?? 'dist'),
    chainId: integer('SURGE_CHAIN_ID', 31337, env),
    verifyingContract: getAddress(contract),
    ...(env.SURGE_RPC_URL ? { rpcUrl: env.SURGE_RPC_URL } : {}),
    leaseMs: integer('SURGE_LEASE_SECONDS', 300, env) * 1000,
    validationThreads: validationThreads(env),
    ...(env.SURGE_DEMO === '0' ? {} : { demo: kDemoJob }),
    logLevel: env.LOG_LEVEL ?? 'info',
    rateLimitPerMinute: integer('SURGE_RATE_LIMIT', 6000, env),
    sessionRateLimitPerMinute: integer('SURGE_SESSION_RATE_LIMIT', 600, env),
    ownerRateLimitPerMinute: integer('SURGE_OWNER_RATE_LIMIT', 3000, env),
    corsOrigins: (env.SURGE_CORS_ORIGINS ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    bodyLimitBytes: 4 * 1024 * 1024,
    frameAncestors: parseFrameAncestors(env.SURGE_FRAME_ANCESTORS),
    ...(rewards ? { rewards } : {}),
    trust: trustConfigFromEnv(env),
  };
}
