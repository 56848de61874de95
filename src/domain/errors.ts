/**
 * The one error hierarchy of Custody. Every failure that a caller may act on carries a stable
 * SCREAMING_SNAKE `code`; the HTTP layer maps codes to statuses in `api/problem.ts` and the CLI
 * maps them to exit codes in `cli/exit-codes.ts`. Messages must never contain secrets.
 */

/** Every stable error code, grouped by the kind of failure. */
export const ERROR_CODES = [
  // malformed or hostile input (400)
  'BAD_REQUEST',
  'INVALID_JSON',
  'VALIDATION_FAILED',
  'INVALID_PATH',
  'DUPLICATE_PATH',
  'SYMLINK_NOT_ALLOWED',
  'INVALID_DIGEST',
  'INVALID_REFERENCE',
  'INVALID_CONTENT_RANGE',
  'EMPTY_MODEL',
  'INVALID_BUNDLE',
  'INVALID_STATEMENT',
  'INVALID_PUBLIC_KEY',
  'INVALID_PROVENANCE',
  'POLICY_INVALID',
  // signatures and attestations: the bundle was well formed but is not acceptable (422)
  'UNSUPPORTED_ALGORITHM',
  'MULTIPLE_SIGNATURES',
  'SIGNATURE_INVALID',
  'UNKNOWN_SIGNER',
  'KEY_PREDICATE_NOT_ALLOWED',
  'KEY_NAMESPACE_NOT_ALLOWED',
  'KEY_REVOKED',
  'KEY_EXPIRED',
  'KEY_NOT_YET_VALID',
  'SUBJECT_MISMATCH',
  'ATTESTATION_REPLAYED',
  'PREDICATE_TYPE_MISMATCH',
  'PROVENANCE_REQUIRED',
  'PROVENANCE_INCOMPLETE',
  'PARENT_NOT_FOUND',
  'POLICY_TEST_FAILED',
  // content does not match what was declared (422)
  'DIGEST_MISMATCH',
  'SIZE_MISMATCH',
  'BLOB_MISSING',
  'UPLOAD_INCOMPLETE',
  // limits (413)
  'BODY_TOO_LARGE',
  'FILE_TOO_LARGE',
  'TOO_MANY_FILES',
  'MANIFEST_TOO_LARGE',
  'ANNOTATIONS_TOO_LARGE',
  // authentication and authorization
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'RATE_LIMITED',
  // lookup
  'NOT_FOUND',
  'MODEL_NOT_FOUND',
  'VERSION_NOT_FOUND',
  'BLOB_NOT_FOUND',
  'UPLOAD_NOT_FOUND',
  'KEY_NOT_FOUND',
  'ATTESTATION_NOT_FOUND',
  'PRINCIPAL_NOT_FOUND',
  'TOKEN_NOT_FOUND',
  'BINDING_NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  // state
  'CONFLICT',
  'KEY_EXISTS',
  'PRINCIPAL_EXISTS',
  'LAST_ADMIN',
  'ALIAS_MOVED',
  'UPLOAD_OFFSET_MISMATCH',
  'RANGE_NOT_SATISFIABLE',
  'UNSUPPORTED_MEDIA_TYPE',
  'CLIENT_ABORTED',
  // server side
  'SERVICE_UNAVAILABLE',
  'SHUTTING_DOWN',
  'INTERNAL',
  'CONFIG_INVALID',
  // client side
  'USAGE',
  'TARGET_NOT_EMPTY',
  'VERIFICATION_FAILED',
  'SERVER_ERROR',
  'CONNECTION_FAILED',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface CustodyErrorOptions {
  readonly cause?: unknown;
  /** Extra, non-secret facts for the client (e.g. the offending path, the expected offset). */
  readonly details?: Readonly<Record<string, unknown>>;
}

/** Base error: a stable code, a human message and optional non-secret details. */
export class CustodyError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, options: CustodyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CustodyError';
    this.code = code;
    this.details = options.details;
  }
}

export function isCustodyError(error: unknown): error is CustodyError {
  return error instanceof CustodyError;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}
