/**
 * The one place where errors become HTTP responses: RFC 9457 problem+json with the stable
 * `code`. Unknown errors become a bare INTERNAL problem — never a stack trace or an internal
 * message.
 */
import { CustodyError, type ErrorCode } from '../domain/errors.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

const STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  INVALID_JSON: 400,
  VALIDATION_FAILED: 400,
  INVALID_PATH: 400,
  DUPLICATE_PATH: 400,
  SYMLINK_NOT_ALLOWED: 400,
  INVALID_DIGEST: 400,
  INVALID_REFERENCE: 400,
  INVALID_CONTENT_RANGE: 400,
  EMPTY_MODEL: 400,
  INVALID_BUNDLE: 400,
  INVALID_STATEMENT: 400,
  INVALID_PUBLIC_KEY: 400,
  INVALID_PROVENANCE: 400,
  POLICY_INVALID: 400,
  UNSUPPORTED_ALGORITHM: 422,
  MULTIPLE_SIGNATURES: 422,
  SIGNATURE_INVALID: 422,
  UNKNOWN_SIGNER: 422,
  KEY_PREDICATE_NOT_ALLOWED: 422,
  KEY_NAMESPACE_NOT_ALLOWED: 422,
  KEY_REVOKED: 422,
  KEY_EXPIRED: 422,
  KEY_NOT_YET_VALID: 422,
  SUBJECT_MISMATCH: 422,
  ATTESTATION_REPLAYED: 422,
  PREDICATE_TYPE_MISMATCH: 422,
  PROVENANCE_REQUIRED: 422,
  PROVENANCE_INCOMPLETE: 422,
  PARENT_NOT_FOUND: 422,
  POLICY_TEST_FAILED: 422,
  DIGEST_MISMATCH: 422,
  SIZE_MISMATCH: 422,
  BLOB_MISSING: 422,
  UPLOAD_INCOMPLETE: 422,
  BODY_TOO_LARGE: 413,
  FILE_TOO_LARGE: 413,
  TOO_MANY_FILES: 413,
  MANIFEST_TOO_LARGE: 413,
  ANNOTATIONS_TOO_LARGE: 413,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  NOT_FOUND: 404,
  MODEL_NOT_FOUND: 404,
  VERSION_NOT_FOUND: 404,
  BLOB_NOT_FOUND: 404,
  UPLOAD_NOT_FOUND: 404,
  KEY_NOT_FOUND: 404,
  ATTESTATION_NOT_FOUND: 404,
  PRINCIPAL_NOT_FOUND: 404,
  TOKEN_NOT_FOUND: 404,
  BINDING_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  KEY_EXISTS: 409,
  PRINCIPAL_EXISTS: 409,
  LAST_ADMIN: 409,
  ALIAS_MOVED: 409,
  UPLOAD_OFFSET_MISMATCH: 409,
  RANGE_NOT_SATISFIABLE: 416,
  UNSUPPORTED_MEDIA_TYPE: 415,
  CLIENT_ABORTED: 400,
  SERVICE_UNAVAILABLE: 503,
  SHUTTING_DOWN: 503,
  INTERNAL: 500,
  CONFIG_INVALID: 500,
  USAGE: 400,
  TARGET_NOT_EMPTY: 400,
  VERIFICATION_FAILED: 400,
  SERVER_ERROR: 502,
  CONNECTION_FAILED: 502,
};

export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly code: ErrorCode;
  readonly detail: string;
  readonly [extra: string]: unknown;
}

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

/**
 * What node-postgres throws, with no `code`, when a pooled connection was lost under a query
 * (the server restarted between two statements of a request): the store is unavailable, as with
 * the coded errors.
 */
const LOST_CONNECTION_MESSAGES: ReadonlySet<string> = new Set([
  'Connection terminated unexpectedly',
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  // pg-pool: no connection within `connectionTimeoutMillis`.
  'timeout exceeded when trying to connect',
  'Connection terminated due to connection timeout',
]);

/** Errors of the database driver that mean "the metadata store is unreachable right now". */
function isUnavailable(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === undefined && error instanceof Error) return LOST_CONNECTION_MESSAGES.has(error.message);
  return (
    typeof code === 'string' &&
    (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08003', '08006', '53300', 'SQLITE_BUSY'].includes(code))
  );
}

export function toProblem(error: unknown): Problem {
  if (error instanceof CustodyError) {
    const status = statusOf(error.code);
    // 5xx messages may describe internals: show only the generic title.
    const detail = status >= 500 && error.code === 'INTERNAL' ? 'internal error' : error.message;
    return {
      ...(error.details ?? {}),
      type: `https://custody.dev/problems/${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: error.code,
      status,
      code: error.code,
      detail,
    };
  }
  if (isUnavailable(error)) {
    return { type: 'https://custody.dev/problems/service-unavailable', title: 'SERVICE_UNAVAILABLE', status: 503, code: 'SERVICE_UNAVAILABLE', detail: 'a storage backend is unavailable; retry later' };
  }
  return { type: 'https://custody.dev/problems/internal', title: 'INTERNAL', status: 500, code: 'INTERNAL', detail: 'internal error' };
}
