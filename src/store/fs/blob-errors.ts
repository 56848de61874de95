/**
 * The typed errors the `BlobStore` contract promises for bad counts, limits, mismatched content
 * and unknown sessions. Apart from the directory store so that every implementation (S3 next)
 * throws the same codes with the same details.
 */
import { CustodyError } from '../../domain/errors.js';

/** Throws BAD_REQUEST unless `value` is a non-negative safe integer (callers may not be typed). */
export function requireCount(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CustodyError('BAD_REQUEST', `${name} must be a non-negative integer`, { details: { [name]: value } });
  }
}

/** Throws DIGEST_MISMATCH unless the computed digest equals the expected one. */
export function verifyDigest(expected: string, actual: string): void {
  if (actual !== expected) {
    throw new CustodyError('DIGEST_MISMATCH', 'content does not hash to the expected sha256', { details: { expected, actual } });
  }
}

export function tooLarge(maxBytes: number): CustodyError {
  return new CustodyError('FILE_TOO_LARGE', 'blob exceeds the size limit', { details: { maxBytes } });
}

export function sizeMismatch(expected: number, actual: number): CustodyError {
  return new CustodyError('SIZE_MISMATCH', 'content size differs from the declared size', { details: { expected, actual } });
}

export function uploadNotFound(sessionId: string): CustodyError {
  return new CustodyError('UPLOAD_NOT_FOUND', 'upload session not found', { details: { sessionId } });
}
