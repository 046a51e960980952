import { type Static, Type } from '@sinclair/typebox';
import { AddressSchema, Bytes32Schema, HexSchema, UintStringSchema } from './schemas.ts';

/**
 * Wire schemas of `POST /v1/results/batch`: many results under one `WorkBatchReceipt`
 * (src/protocol/receipt.ts) signed once by the session key. See docs/decisions/0010-result-batches.md.
 */

/** The most results one batch may carry. */
export const kMaxBatchResults = 256;

export const WorkBatchReceiptSchema = Type.Object(
  {
    owner: AddressSchema,
    session: AddressSchema,
    resultsRoot: Bytes32Schema,
    count: Type.Integer({ minimum: 1, maximum: kMaxBatchResults }),
    seq: Type.String({ pattern: '^(0|[1-9][0-9]{0,19})$', description: 'a 64-bit sequence number in decimal' }),
  },
  { additionalProperties: false },
);

export const BatchResultSchema = Type.Object(
  {
    lease: Bytes32Schema,
    resultHash: Bytes32Schema,
    units: UintStringSchema,
    output: Type.String({ contentEncoding: 'base64', pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'the output bytes in base64' }),
  },
  { additionalProperties: false },
);

export const ResultBatchRequestSchema = Type.Object(
  {
    receipt: WorkBatchReceiptSchema,
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$', description: 'a 65-byte secp256k1 signature' }),
    /** In the order `receipt.resultsRoot` commits to. */
    results: Type.Array(BatchResultSchema, { minItems: 1, maxItems: kMaxBatchResults }),
  },
  { additionalProperties: false },
);
export type ResultBatchRequest = Static<typeof ResultBatchRequestSchema>;

/**
 * One result's verdict, in the batch's order. validated: credited (`credit`, maybe 0 past the
 * epoch cap); pending: waits for a replica to agree; rejected: refused, with the error code
 * and message the single-result endpoint would have answered.
 */
export const BatchVerdictSchema = Type.Object({
  lease: Bytes32Schema,
  status: Type.Union([Type.Literal('validated'), Type.Literal('pending'), Type.Literal('rejected')]),
  credit: UintStringSchema,
  code: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});
export type BatchVerdict = Static<typeof BatchVerdictSchema>;

export const ResultBatchResponseSchema = Type.Object({
  /** The batch receipt's EIP-712 digest: the key of duplicates. */
  digest: Bytes32Schema,
  /** The coordinator's signature over `digest` when at least one result was validated, else "0x". */
  countersignature: HexSchema,
  /** True when this batch was judged before: the same verdicts, and no new credit. */
  duplicate: Type.Boolean(),
  results: Type.Array(BatchVerdictSchema),
});
export type ResultBatchResponse = Static<typeof ResultBatchResponseSchema>;
