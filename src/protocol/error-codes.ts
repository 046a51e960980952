/**
 * Stable error codes the coordinator answers with. Clients branch on these, never on
 * messages. Each has an entry in `docs/errors.md`.
 */
export const errorCodes = {
  badRequest: 'SURGE_E_BAD_REQUEST',
  bodyTooLarge: 'SURGE_E_BODY_TOO_LARGE',
  unsupportedMediaType: 'SURGE_E_UNSUPPORTED_MEDIA_TYPE',
  notFound: 'SURGE_E_NOT_FOUND',
  sessionGrantInvalid: 'SURGE_E_SESSION_GRANT_INVALID',
  sessionUnknown: 'SURGE_E_SESSION_UNKNOWN',
  sessionExpired: 'SURGE_E_SESSION_EXPIRED',
  sessionRevoked: 'SURGE_E_SESSION_REVOKED',
  revocationInvalid: 'SURGE_E_REVOCATION_INVALID',
  ownerLinkInvalid: 'SURGE_E_OWNER_LINK_INVALID',
  ownerLinked: 'SURGE_E_OWNER_LINKED',
  leaseUnknown: 'SURGE_E_LEASE_UNKNOWN',
  leaseNotYours: 'SURGE_E_LEASE_NOT_YOURS',
  leaseClosed: 'SURGE_E_LEASE_CLOSED',
  leaseExpired: 'SURGE_E_LEASE_EXPIRED',
  receiptMismatch: 'SURGE_E_RECEIPT_MISMATCH',
  receiptSignature: 'SURGE_E_RECEIPT_SIGNATURE',
  receiptMalleable: 'SURGE_E_RECEIPT_MALLEABLE',
  receiptReplayed: 'SURGE_E_RECEIPT_REPLAYED',
  resultShape: 'SURGE_E_RESULT_SHAPE',
  resultInvalid: 'SURGE_E_RESULT_INVALID',
  inputUnavailable: 'SURGE_E_INPUT_UNAVAILABLE',
  unauthorized: 'SURGE_E_UNAUTHORIZED',
  rateLimited: 'SURGE_E_RATE_LIMITED',
  notReady: 'SURGE_E_NOT_READY',
  jobInvalid: 'SURGE_E_JOB_INVALID',
  jobUnknown: 'SURGE_E_JOB_UNKNOWN',
  jobNotYours: 'SURGE_E_JOB_NOT_YOURS',
  jobNotDone: 'SURGE_E_JOB_NOT_DONE',
  jobNotActive: 'SURGE_E_JOB_NOT_ACTIVE',
  partnerInvalid: 'SURGE_E_PARTNER_INVALID',
  noRewards: 'SURGE_E_NO_REWARDS',
  previewUnavailable: 'SURGE_E_PREVIEW_UNAVAILABLE',
  internal: 'SURGE_E_INTERNAL',
} as const;

export type ErrorCode = (typeof errorCodes)[keyof typeof errorCodes];
