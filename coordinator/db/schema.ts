import type { ColumnType, Generated } from 'kysely';

/** Timestamps are epoch milliseconds; addresses are lowercase hex; JSON is text. */
export interface JobsTable {
  id: Generated<number>;
  name: string;
  purpose: string;
  kernel: string;
  params: string;
  /** `preparing` while its units are being made (work-generator.ts), then `active`. */
  status: 'preparing' | 'active' | 'done' | 'failed' | 'cancelled';
  /** The requester's name; null for the demo jobs the coordinator makes itself. */
  requester: Generated<string | null>;
  /** Higher first. */
  priority: Generated<number>;
  units_total: Generated<number>;
  /** Units assimilated so far. */
  units_done: Generated<number>;
  /** Why a job failed. */
  reason: Generated<string | null>;
  created_at: number;
}

export interface UnitsTable {
  id: Generated<number>;
  job_id: number;
  kernel: string;
  kernel_version: number;
  params: string;
  /** Credit a validated result of this unit earns, from the kernel's work estimate. */
  credit: number;
  state: 'ready' | 'leased' | 'done' | 'failed';
  lease_deadline: number | null;
  /** The lease the unit is out on now; null when it is not leased. */
  current_lease: string | null;
  errors: number;
  /** 1 once the unit's output is written into its job's output. */
  assimilated: Generated<number>;
  /** Agreeing results (by output hash) the unit needs: 1, or 2 when replicated (reputation.ts). */
  quorum: Generated<number>;
  /** 1 for a canary: a copy of a unit whose answer the coordinator knows (canaries.ts). */
  canary: Generated<number>;
  /** A canary's known output hash (keccak-256). */
  expected_hash: Generated<string | null>;
  created_at: number;
}

export interface SessionsTable {
  address: string;
  owner: string;
  expires_at: number;
  grant_message: string;
  created_at: number;
  /** The partner site whose widget made this session (migration 0010); null on Surge's own page. */
  partner: Generated<string | null>;
  /** When the session was revoked; null while it is not. */
  revoked_at: ColumnType<number | null, number | null | undefined, number | null>;
}

/** A browser owner key linked to a wallet (signed by both): settlement pays the wallet. */
export interface OwnerLinksTable {
  owner: string;
  wallet: string;
  message: string;
  owner_signature: string;
  wallet_signature: string;
  created_at: number;
}

export interface LeasesTable {
  id: string;
  unit_id: number;
  session: string;
  owner: string;
  deadline: number;
  /** open → pending (checked, waiting for a quorum) → validated | invalid; expired once offered again. */
  state: 'open' | 'pending' | 'validated' | 'invalid' | 'expired';
  /** The network address the lease was asked from: replicas of a unit never share one. */
  address: Generated<string | null>;
  /** The hash of the result sent for this lease, while it waits for a quorum. */
  result_hash: Generated<string | null>;
  created_at: number;
}

/**
 * Every single receipt the coordinator judged, keyed by its EIP-712 digest, and the results of
 * batches that waited for a quorum or were invalid (keyed by keccak256(batch digest ‖ lease)).
 * A result a batch validated in bulk has no row: its lease, credit and batch row hold it.
 */
export interface ResultsTable {
  digest: string;
  lease_id: string;
  unit_id: number;
  owner: string;
  session: string;
  result_hash: string;
  seq: string;
  /** pending: checked, waiting for replicas to agree (then validated or invalid). */
  outcome: 'validated' | 'invalid' | 'pending';
  reason: string | null;
  credit: number;
  countersignature: string | null;
  created_at: number;
}

/** The credit ledger: one row per unit and owner (each agreeing replica is paid), so no unit is paid twice to anyone. */
export interface CreditsTable {
  unit_id: number;
  owner: string;
  lease_id: string;
  amount: number;
  created_at: number;
}

/** The validated output of each unit, kept for its job's assembled output. */
export interface UnitOutputsTable {
  unit_id: number;
  output: Uint8Array;
}

/** One settled epoch per distributor: the Merkle root of cumulative rewards, and whether it is on chain. */
export interface SettlementEpochsTable {
  distributor: string;
  epoch: number;
  root: string;
  /** Sum of the cumulative amounts, token base units as a decimal string. */
  total: string;
  owners: number;
  created_at: number;
  /** The postRoot transaction; null until it is sent and mined. */
  tx_hash: string | null;
  /** When the root becomes claimable (chain time, ms); null until posted. */
  active_at: number | null;
  /** 1 once the distributor's guardian revoked the root during its timelock. */
  revoked: number;
}

/** Each owner's cumulative reward in an epoch, with its Merkle proof (a JSON array of hex). */
export interface SettlementPayoutsTable {
  distributor: string;
  epoch: number;
  owner: string;
  cumulative: string;
  proof: string;
}

/** What an owner has earned in one credit epoch (migration 0013): the ledger's sum, kept as credit is granted. */
export interface OwnerEpochCreditTable {
  owner: string;
  /** The epoch's start, ms since the Unix epoch (creditEpochStart). */
  epoch_start: number;
  /** The epoch's length in ms (creditEpochMs). */
  epoch_ms: number;
  earned: number;
}

/** Reputation per owner (BOINC's host record): the run of valid results and the daily quota. */
export interface HostsTable {
  owner: string;
  /** Consecutive valid results; 0 after an invalid one. */
  streak: number;
  /** Leases a day this owner may take. */
  quota: number;
  /** The UTC day (days since the epoch) `leased_today` counts. */
  day: number;
  leased_today: number;
  /** Canaries still to pass before other work: 1 for a new owner, more after a wrong canary. */
  probation: number;
  invalid_results: number;
  created_at: number;
}

/** A result batch judged once (result-batch-intake.ts): its verdicts, for a resend (migration 0011). */
export interface ResultBatchesTable {
  /** The WorkBatchReceipt's EIP-712 digest. */
  digest: string;
  session: string;
  seq: string;
  count: number;
  /** The verdicts answered, JSON. */
  verdicts: string;
  /** The coordinator's signature over keccak256(digest ‖ validatedRoot); null when nothing was validated. */
  countersignature: string | null;
  validated_root: string | null;
  created_at: number;
}

export interface Database {
  jobs: JobsTable;
  units: UnitsTable;
  sessions: SessionsTable;
  leases: LeasesTable;
  results: ResultsTable;
  credits: CreditsTable;
  unit_outputs: UnitOutputsTable;
  owner_links: OwnerLinksTable;
  settlement_epochs: SettlementEpochsTable;
  settlement_payouts: SettlementPayoutsTable;
  hosts: HostsTable;
  result_batches: ResultBatchesTable;
  owner_epoch_credit: OwnerEpochCreditTable;
}
