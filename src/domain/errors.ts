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
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  // state
  'CONFLICT',
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
