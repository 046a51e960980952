/**
 * How much the coordinator trusts its contributors (docs/decisions/0004-adaptive-replication.md).
 * Every field has a default; the README's "Verified work" names the environment variables.
 */
export interface TrustConfig {
  /**
   * 'adaptive' (BOINC's adaptive replication): new owners are replicated, quota-limited and
   * start with a canary; 'off' treats every owner as trusted (single replicas, no quota, no
   * canaries), for a coordinator with one contributor and for tests of other features.
   */
  replication: 'adaptive' | 'off';
  /** Consecutive valid results after which an owner gets single replicas (re-checked with probability 1/streak). */
  trustStreak: number;
  /** Leases a day a new owner may take; an invalid result halves it, a valid one adds `quotaStep`. */
  initialQuota: number;
  quotaStep: number;
  maxQuota: number;
  /** The share of leases that are canaries for a trusted owner (new owners' first lease is always one). */
  canaryRate: number;
  /** Canaries a new owner must pass before it gets other work (where a canary can be made for the kernels it runs). */
  newHostCanaries: number;
  /** Canaries an owner must pass after it sent a wrong one before it gets real work again. */
  probationAfterCanaryFailure: number;
  /** Credit one owner may earn in one epoch; 0 means no cap. */
  creditCapPerEpoch: number;
  /** The credit epoch's length, aligned to the Unix epoch (a UTC day by default). */
  creditEpochMs: number;
  /** Open leases one owner may hold at once (BOINC's jobs in progress). */
  maxInProgress: number;
  /** The longest a lease may run with heartbeats, from when it was issued, as a multiple of the lease time. */
  maxLeaseExtensions: number;
}

export const defaultTrustConfig: TrustConfig = {
  replication: 'adaptive',
  trustStreak: 10,
  initialQuota: 200,
  quotaStep: 10,
  maxQuota: 100_000,
  canaryRate: 0.02,
  newHostCanaries: 1,
  probationAfterCanaryFailure: 3,
  creditCapPerEpoch: 10_000_000,
  creditEpochMs: 24 * 60 * 60 * 1000,
  maxLeaseExtensions: 4,
  maxInProgress: 8,
};

/** The defaults with what a config gives. */
export function trustConfig(partial: Partial<TrustConfig> | undefined): TrustConfig {
  return { ...defaultTrustConfig, ...partial };
}

function number(env: NodeJS.ProcessEnv, name: string, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) throw new Error(`${name} must be a number from ${min} to ${max}, not "${raw}"`);
  return value;
}

/** SURGE_REPLICATION, SURGE_TRUST_STREAK, SURGE_DAILY_QUOTA, SURGE_CANARY_RATE, SURGE_CREDIT_CAP, SURGE_CREDIT_EPOCH_SECONDS. */
export function trustConfigFromEnv(env: NodeJS.ProcessEnv): Partial<TrustConfig> {
  const replication = env.SURGE_REPLICATION;
  if (replication !== undefined && replication !== 'adaptive' && replication !== 'off') {
    throw new Error(`SURGE_REPLICATION must be "adaptive" or "off", not "${replication}"`);
  }
  const epochSeconds = number(env, 'SURGE_CREDIT_EPOCH_SECONDS', 1);
  const entries = {
    replication,
    trustStreak: number(env, 'SURGE_TRUST_STREAK', 1),
    initialQuota: number(env, 'SURGE_DAILY_QUOTA', 1),
    canaryRate: number(env, 'SURGE_CANARY_RATE', 0, 1),
    creditCapPerEpoch: number(env, 'SURGE_CREDIT_CAP', 0),
    creditEpochMs: epochSeconds === undefined ? undefined : epochSeconds * 1000,
  };
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<TrustConfig>;
}
