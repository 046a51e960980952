import { type Static, Type } from '@sinclair/typebox';
import { type KernelName, kernelNames } from './kernel-names.ts';

/**
 * Wire schemas of the `/v1` API, shared by the coordinator (which validates every request
 * against them) and the client (which uses their static types). JSON Schema through
 * TypeBox: Fastify validates with it natively, and the schemas document the API.
 */

export const AddressSchema = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$', description: 'a 20-byte hex address' });
export const Bytes32Schema = Type.String({ pattern: '^0x[0-9a-fA-F]{64}$', description: 'a 32-byte hex value' });
export const HexSchema = Type.String({ pattern: '^0x([0-9a-fA-F]{2})*$', maxLength: 1024, description: 'hex bytes' });
export const UintStringSchema = Type.String({ pattern: '^(0|[1-9][0-9]{0,76})$', description: 'an unsigned integer in decimal' });

export const BackendSchema = Type.Union([Type.Literal('webgpu'), Type.Literal('wasm')]);
export type Backend = Static<typeof BackendSchema>;

export { type KernelName, kernelNames } from './kernel-names.ts';
export const KernelNameSchema = Type.Union(kernelNames.map((name) => Type.Literal(name)));

/**
 * Real input data, when a unit's inputs are not generated from a seed: inline (base64, for
 * small inputs) or by URL with the SHA-256 of its bytes, which every reader checks.
 */
export const InputRefSchema = Type.Union([
  Type.Object(
    { inline: Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 4 * 1024 * 1024, description: 'the bytes in base64' }) },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      url: Type.String({ pattern: '^https?://', maxLength: 2048, description: 'where the bytes are (CORS-readable from the contributor page)' }),
      sha256: Type.String({ pattern: '^[0-9a-f]{64}$', description: 'the SHA-256 of the bytes, in hex' }),
    },
    { additionalProperties: false },
  ),
]);
export type InputRef = Static<typeof InputRefSchema>;

/**
 * A block of a large matrix product C = A·B (matmul-f32, matmul-u32). The inputs come from
 * the Philox seed, unless `inputs` gives this block's A (m×k) and B (k×n) as data: row-major,
 * little-endian f32 or u32.
 */
export const MatmulParamsSchema = Type.Object(
  {
    seed: Type.String({ pattern: '^0x[0-9a-f]{16}$', description: 'the 64-bit Philox key of the job, in hex' }),
    m: Type.Integer({ minimum: 1, maximum: 4096 }),
    n: Type.Integer({ minimum: 1, maximum: 4096 }),
    k: Type.Integer({ minimum: 1, maximum: 65535 }),
    rowOffset: Type.Integer({ minimum: 0, maximum: 0xffff_ffff }),
    colOffset: Type.Integer({ minimum: 0, maximum: 0xffff_ffff }),
    inputs: Type.Optional(Type.Object({ a: InputRefSchema, b: InputRefSchema }, { additionalProperties: false })),
  },
  { additionalProperties: false },
);
export type MatmulParams = Static<typeof MatmulParamsSchema>;

/**
 * A signed fixed-point number with 92 fractional bits (see src/kernels/fixed-point.ts): the
 * raw integer value × 2⁹², in hex with an optional minus sign.
 */
export const FixedSchema = Type.String({ pattern: '^-?0x[0-9a-f]{1,24}$', description: 'a Q4.92 fixed-point number: raw value in hex, optional minus sign' });

/** A tile of a deep-zoom Mandelbrot image: pixel (i, j) is at (x0 + i·step, y0 + j·step). */
export const MandelbrotParamsSchema = Type.Object(
  {
    x0: FixedSchema,
    y0: FixedSchema,
    step: FixedSchema,
    width: Type.Integer({ minimum: 1, maximum: 4096 }),
    height: Type.Integer({ minimum: 1, maximum: 4096 }),
    maxIterations: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  },
  { additionalProperties: false },
);
export type MandelbrotParams = Static<typeof MandelbrotParamsSchema>;

/** Count primes and twin primes in [lo, hi), per block of `blockSize` numbers. */
export const PrimesParamsSchema = Type.Object(
  {
    lo: Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 }),
    hi: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 }),
    blockSize: Type.Integer({ minimum: 1024, maximum: 1 << 24, multipleOf: 1024 }),
  },
  { additionalProperties: false },
);
export type PrimesParams = Static<typeof PrimesParamsSchema>;

/** What a work unit asks for: a kernel and its parameters. */
export const WorkSpecSchema = Type.Union([
  Type.Object({ kernel: Type.Literal('matmul-f32'), params: MatmulParamsSchema }),
  Type.Object({ kernel: Type.Literal('matmul-u32'), params: MatmulParamsSchema }),
  Type.Object({ kernel: Type.Literal('mandelbrot'), params: MandelbrotParamsSchema }),
  Type.Object({ kernel: Type.Literal('primes'), params: PrimesParamsSchema }),
]);
export type WorkSpec = Static<typeof WorkSpecSchema>;
export type ParamsOf<K extends KernelName> = Extract<WorkSpec, { kernel: K }>['params'];

export const KernelInfoSchema = Type.Object({
  name: KernelNameSchema,
  version: Type.Integer(),
  backends: Type.Array(BackendSchema),
});

/** Where a coordinator pays rewards: the chain, its RPC URL, the distributor and its token. */
export const RewardsInfoSchema = Type.Object({
  chainId: Type.Integer(),
  rpcUrl: Type.String(),
  distributor: AddressSchema,
  token: AddressSchema,
  epochSeconds: Type.Integer(),
});
export type RewardsInfo = Static<typeof RewardsInfoSchema>;

/** An owner's cumulative reward in the newest claimable epoch, and its Merkle proof. */
export const OwnerRewardsResponseSchema = Type.Object({
  ...RewardsInfoSchema.properties,
  epoch: Type.Integer(),
  root: Bytes32Schema,
  cumulative: Type.String({ pattern: '^[0-9]+$', description: 'token base units, a decimal string' }),
  proof: Type.Array(Bytes32Schema),
  activeAt: Type.String({ description: 'ISO time from which the root can be claimed against' }),
});
export type OwnerRewardsResponse = Static<typeof OwnerRewardsResponseSchema>;

export const InfoResponseSchema = Type.Object({
  name: Type.String(),
  version: Type.String(),
  coordinator: AddressSchema,
  domain: Type.Object({
    name: Type.String(),
    version: Type.String(),
    chainId: Type.Integer(),
    verifyingContract: AddressSchema,
  }),
  kernels: Type.Array(KernelInfoSchema),
  /** Absent or null when this coordinator pays no rewards. */
  rewards: Type.Optional(Type.Union([RewardsInfoSchema, Type.Null()])),
});
export type InfoResponse = Static<typeof InfoResponseSchema>;

export const PartnerIdSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'a partner id: letters, digits, - and _' });

export const PartnerStatsSchema = Type.Object({
  partner: PartnerIdSchema,
  /** Owners with at least one validated result through this partner's widget. */
  contributors: Type.Integer(),
  validatedResults: Type.Integer(),
  credit: UintStringSchema,
});
export type PartnerStats = Static<typeof PartnerStatsSchema>;

export const PartnerLeaderboardSchema = Type.Object({ partners: Type.Array(PartnerStatsSchema) });
export type PartnerLeaderboard = Static<typeof PartnerLeaderboardSchema>;

export const SessionRequestSchema = Type.Object(
  {
    message: Type.String({ minLength: 1, maxLength: 4096, description: 'a Sign-In with Ethereum (EIP-4361) message' }),
    signature: HexSchema,
    /** The partner site whose widget asks (see the README's "Embed Surge on your site"). */
    partner: Type.Optional(PartnerIdSchema),
  },
  { additionalProperties: false },
);
export type SessionRequest = Static<typeof SessionRequestSchema>;

export const SessionResponseSchema = Type.Object({
  session: AddressSchema,
  owner: AddressSchema,
  expiresAt: Type.String({ format: 'date-time' }),
});
export type SessionResponse = Static<typeof SessionResponseSchema>;

/** The most units one lease request may ask for. */
export const kMaxLeaseCount = 256;

export const LeaseRequestSchema = Type.Object(
  {
    session: AddressSchema,
    backends: Type.Array(BackendSchema, { minItems: 1, maxItems: 2, uniqueItems: true }),
    /** The kernels this worker should get (by calibration: where its backend is the faster one); all when absent. */
    kernels: Type.Optional(Type.Array(KernelNameSchema, { minItems: 1, maxItems: kernelNames.length, uniqueItems: true })),
    /**
     * This worker's measured speed per kernel at its limits, in work-estimate operations per
     * second: the coordinator offers only units it will finish before the lease's deadline.
     */
    speeds: Type.Optional(
      Type.Array(Type.Object({ kernel: KernelNameSchema, opsPerSecond: Type.Number({ exclusiveMinimum: 0 }) }, { additionalProperties: false }), {
        maxItems: kernelNames.length,
      }),
    ),
    /** Batched leases: up to this many units at once, answered in `leases` (see docs/decisions/0010-result-batches.md). */
    count: Type.Optional(Type.Integer({ minimum: 1, maximum: kMaxLeaseCount })),
  },
  { additionalProperties: false },
);
export type LeaseRequest = Static<typeof LeaseRequestSchema>;

const LeaseFieldsSchema = Type.Object({
  id: Bytes32Schema,
  jobId: Type.Integer(),
  jobName: Type.String(),
  jobPurpose: Type.String(),
  unitId: Type.Integer(),
  kernelVersion: Type.Integer(),
  units: UintStringSchema,
  deadline: Type.String({ format: 'date-time' }),
});

/** A lease: one work unit handed to one session until its deadline. */
export const LeaseSchema = Type.Union(WorkSpecSchema.anyOf.map((spec) => Type.Composite([LeaseFieldsSchema, spec])));
export type Lease = Static<typeof LeaseFieldsSchema> & WorkSpec;

export const LeaseResponseSchema = Type.Object({
  lease: Type.Union([LeaseSchema, Type.Null()]),
  retryAfterMs: Type.Integer({ minimum: 0 }),
  /** When the request gave a `count`: every unit leased (`lease` is the first). */
  leases: Type.Optional(Type.Array(LeaseSchema)),
});
export type LeaseResponse = { lease: Lease | null; retryAfterMs: number; leases?: Lease[] };

/** POST /v1/leases/:id/heartbeat: the session holding a lease keeps it while its unit runs. */
export const LeaseHeartbeatRequestSchema = Type.Object({ session: AddressSchema }, { additionalProperties: false });
export type LeaseHeartbeatRequest = Static<typeof LeaseHeartbeatRequestSchema>;
export const LeaseHeartbeatResponseSchema = Type.Object({ lease: Bytes32Schema, deadline: Type.String({ format: 'date-time' }) });
export type LeaseHeartbeatResponse = Static<typeof LeaseHeartbeatResponseSchema>;

/** `POST /v1/leases/:id/release`: the session that holds a lease gives it back before its deadline. */
export const LeaseReleaseRequestSchema = Type.Object({ session: AddressSchema }, { additionalProperties: false });
export type LeaseReleaseRequest = Static<typeof LeaseReleaseRequestSchema>;

export const LeaseReleaseResponseSchema = Type.Object({
  lease: Bytes32Schema,
  /** False when the lease was no longer out (already judged, or past its deadline): nothing to give back. */
  released: Type.Boolean(),
});
export type LeaseReleaseResponse = Static<typeof LeaseReleaseResponseSchema>;

export const WorkReceiptSchema = Type.Object(
  {
    owner: AddressSchema,
    session: AddressSchema,
    lease: Bytes32Schema,
    resultHash: Bytes32Schema,
    units: UintStringSchema,
    seq: Type.String({ pattern: '^(0|[1-9][0-9]{0,19})$', description: 'a 64-bit sequence number in decimal' }),
  },
  { additionalProperties: false },
);

export const ResultRequestSchema = Type.Object(
  {
    lease: Bytes32Schema,
    output: Type.String({ contentEncoding: 'base64', pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'the output bytes in base64' }),
    receipt: WorkReceiptSchema,
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$', description: 'a 65-byte secp256k1 signature' }),
  },
  { additionalProperties: false },
);
export type ResultRequest = Static<typeof ResultRequestSchema>;

/** pending: the result passed the checks and waits for another replica to agree (no credit or countersignature yet). */
export const ResultOutcomeSchema = Type.Union([Type.Literal('validated'), Type.Literal('pending')]);

export const ResultResponseSchema = Type.Object({
  status: ResultOutcomeSchema,
  digest: Bytes32Schema,
  credit: UintStringSchema,
  countersignature: HexSchema,
  duplicate: Type.Boolean(),
});
export type ResultResponse = Static<typeof ResultResponseSchema>;

export const OwnerCreditResponseSchema = Type.Object({
  owner: AddressSchema,
  validatedResults: Type.Integer(),
  credit: UintStringSchema,
  /** Owner keys linked to this wallet, whose credit is included. */
  linkedOwners: Type.Optional(Type.Array(AddressSchema)),
});
export type OwnerCreditResponse = Static<typeof OwnerCreditResponseSchema>;

export const ErrorResponseSchema = Type.Object({
  error: Type.Object({
    code: Type.String(),
    message: Type.String(),
    field: Type.Optional(Type.String()),
  }),
});
export type ErrorResponse = Static<typeof ErrorResponseSchema>;

const DecimalSchema = Type.String({ pattern: '^-?[0-9]+(\\.[0-9]+)?$', maxLength: 64, description: 'a decimal number, exact' });
const JobFields = {
  name: Type.String({ minLength: 1, maxLength: 120 }),
  purpose: Type.String({ minLength: 1, maxLength: 500, description: 'what the job is for, shown to contributors' }),
  priority: Type.Optional(Type.Integer({ minimum: -100, maximum: 100, description: 'higher is leased first; 0 by default' })),
};

/** A requester's job: a kernel and the job-level parameters its work generator splits into units. */
export const JobRequestSchema = Type.Union([
  Type.Object(
    {
      ...JobFields,
      kernel: Type.Literal('matmul-f32'),
      params: Type.Object(
        {
          seed: Type.Optional(Type.String({ pattern: '^0x[0-9a-f]{16}$' })),
          rows: Type.Integer({ minimum: 1, maximum: 65536 }),
          cols: Type.Integer({ minimum: 1, maximum: 65536 }),
          k: Type.Integer({ minimum: 1, maximum: 65535 }),
          block: Type.Integer({ minimum: 1, maximum: 768 }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      ...JobFields,
      kernel: Type.Literal('mandelbrot'),
      params: Type.Object(
        {
          centerX: DecimalSchema,
          centerY: DecimalSchema,
          pixelSize: DecimalSchema,
          width: Type.Integer({ minimum: 1, maximum: 16384 }),
          height: Type.Integer({ minimum: 1, maximum: 16384 }),
          maxIterations: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
          tile: Type.Integer({ minimum: 8, maximum: 768 }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
  Type.Object(
    {
      ...JobFields,
      kernel: Type.Literal('primes'),
      params: Type.Object(
        {
          lo: Type.Integer({ minimum: 0, maximum: 2 ** 53 - 1 }),
          hi: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1 }),
          span: Type.Integer({ minimum: 1024, maximum: 2 ** 34 }),
          blockSize: Type.Integer({ minimum: 1024, maximum: 1 << 24, multipleOf: 1024 }),
        },
        { additionalProperties: false },
      ),
    },
    { additionalProperties: false },
  ),
]);
export type JobRequest = Static<typeof JobRequestSchema>;

export const JobStatusSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  purpose: Type.String(),
  kernel: KernelNameSchema,
  /** `preparing` while a large job's units are still being made: it is not leased until `active`. */
  status: Type.Union([Type.Literal('preparing'), Type.Literal('active'), Type.Literal('done'), Type.Literal('failed'), Type.Literal('cancelled')]),
  reason: Type.Optional(Type.String()),
  priority: Type.Integer(),
  units: Type.Object({ total: Type.Integer(), done: Type.Integer(), failed: Type.Integer() }),
  createdAt: Type.String({ format: 'date-time' }),
});
export type JobStatus = Static<typeof JobStatusSchema>;

/** `POST /v1/sessions/:address/revoke`: `revocationMessage` signed by the session key or its owner. */
export const RevokeSessionRequestSchema = Type.Object({ signature: HexSchema }, { additionalProperties: false });
export type RevokeSessionRequest = Static<typeof RevokeSessionRequestSchema>;

export const RevokeSessionResponseSchema = Type.Object({
  session: AddressSchema,
  owner: AddressSchema,
  revokedAt: Type.String({ format: 'date-time' }),
});
export type RevokeSessionResponse = Static<typeof RevokeSessionResponseSchema>;

/** `POST /v1/owners/:owner/link`: `ownerLinkMessage` signed by the owner key and by the wallet. */
export const OwnerLinkRequestSchema = Type.Object(
  { wallet: AddressSchema, ownerSignature: HexSchema, walletSignature: HexSchema },
  { additionalProperties: false },
);
export type OwnerLinkRequest = Static<typeof OwnerLinkRequestSchema>;

export const OwnerLinkResponseSchema = Type.Object({
  owner: AddressSchema,
  wallet: AddressSchema,
  linkedAt: Type.String({ format: 'date-time' }),
});
export type OwnerLinkResponse = Static<typeof OwnerLinkResponseSchema>;

/** A job as the public network dashboard shows it: no requester, no parameters, no outputs. */
export const PublicJobSchema = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  purpose: Type.String(),
  kernel: KernelNameSchema,
  units: Type.Object({ total: Type.Integer(), done: Type.Integer() }),
  /** Where the picture so far is (Mandelbrot jobs only). */
  preview: Type.Optional(Type.String({ description: 'a path on this coordinator to a PNG of the job so far' })),
});
export type PublicJob = Static<typeof PublicJobSchema>;

/** `GET /v1/stats`: the public, read-only state of the network. */
export const NetworkStatsSchema = Type.Object({
  generatedAt: Type.String({ format: 'date-time' }),
  /** Active jobs, the most urgent first (at most 20). */
  jobs: Type.Array(PublicJobSchema),
  /** Results validated in the last minute, and the credit they earned. */
  throughput: Type.Object({ resultsPerMinute: Type.Integer(), creditPerMinute: UintStringSchema }),
  /** Sessions holding a live lease or with a result in the last five minutes. */
  contributorsOnline: Type.Integer(),
  /** Owners by validated credit, highest first (at most 10); addresses shortened. */
  topContributors: Type.Array(
    Type.Object({ owner: Type.String({ description: 'the owner address, shortened: 0x1234…abcd' }), credit: UintStringSchema, results: Type.Integer() }),
  ),
  /** Partner sites by the credit their widget's visitors earned, highest first (at most 10). */
  topPartners: Type.Array(PartnerStatsSchema),
});
export type NetworkStats = Static<typeof NetworkStatsSchema>;
