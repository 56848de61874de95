/**
 * The one place where error codes become CLI exit codes (SPEC §8): 0 ok, 1 error, 2 usage,
 * 3 denied by policy, 4 verification failed, 5 not authenticated or not allowed, 6 not found.
 */
import type { ErrorCode } from '../domain/errors.js';

export const EXIT = { ok: 0, error: 1, usage: 2, denied: 3, verification: 4, auth: 5, notFound: 6 } as const;

export function exitCodeFor(code: ErrorCode): number {
  switch (code) {
    case 'USAGE':
    case 'INVALID_REFERENCE':
      return EXIT.usage;
    case 'VERIFICATION_FAILED':
    case 'DIGEST_MISMATCH':
    case 'SIGNATURE_INVALID':
    case 'INVALID_BUNDLE':
    case 'INVALID_STATEMENT':
    case 'SUBJECT_MISMATCH':
      return EXIT.verification;
    case 'UNAUTHENTICATED':
    case 'FORBIDDEN':
    case 'RATE_LIMITED':
      return EXIT.auth;
    case 'NOT_FOUND':
    case 'MODEL_NOT_FOUND':
    case 'VERSION_NOT_FOUND':
    case 'BLOB_NOT_FOUND':
    case 'UPLOAD_NOT_FOUND':
    case 'KEY_NOT_FOUND':
    case 'ATTESTATION_NOT_FOUND':
    case 'PRINCIPAL_NOT_FOUND':
    case 'TOKEN_NOT_FOUND':
    case 'BINDING_NOT_FOUND':
    case 'ROUTE_NOT_FOUND':
      return EXIT.notFound;
    default:
      return EXIT.error;
  }
}
