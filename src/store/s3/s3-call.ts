/**
 * How the S3 blob store talks to S3: every request goes through `sendS3`, which turns the SDK's
 * failures into the store's typed errors (STYLE.md §3) — an unreachable or failing server is
 * SERVICE_UNAVAILABLE (HTTP 503, "retry later"), any other refusal INTERNAL — so no SDK error
 * escapes the store. Issue 7 §4: "S3 unavailable → pushes fail cleanly".
 */
import { CustodyError } from '../../domain/errors.js';

interface SdkErrorShape {
  readonly name?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
}

/** The HTTP status of an SDK error, or undefined when no response came (connection failure). */
export function s3Status(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const status = (error as SdkErrorShape).$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** True for "no such key / bucket / upload" answers. */
export function isS3NotFound(error: unknown): boolean {
  const name = typeof error === 'object' && error !== null ? (error as SdkErrorShape).name : undefined;
  return s3Status(error) === 404 || name === 'NotFound' || name === 'NoSuchKey' || name === 'NoSuchUpload' || name === 'NoSuchBucket';
}

/** Maps an error of an S3 request to a CustodyError; CustodyErrors pass through unchanged. */
export function toS3Failure(error: unknown, what: string): CustodyError {
  if (error instanceof CustodyError) return error;
  const status = s3Status(error);
  if (status === undefined || status >= 500 || status === 429) {
    return new CustodyError('SERVICE_UNAVAILABLE', `object storage is unavailable (${what})`, {
      cause: error,
      ...(status === undefined ? {} : { details: { status } }),
    });
  }
  return new CustodyError('INTERNAL', `object storage refused ${what} (HTTP ${status})`, { cause: error, details: { status } });
}

/** Runs one S3 request, mapping its failure with `toS3Failure`. */
export async function sendS3<T>(what: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (error) {
    throw toS3Failure(error, what);
  }
}

/** Like `sendS3`, but a 404 answer becomes `undefined`. */
export async function sendS3OrMissing<T>(what: string, request: () => Promise<T>): Promise<T | undefined> {
  try {
    return await request();
  } catch (error) {
    if (isS3NotFound(error)) return undefined;
    throw toS3Failure(error, what);
  }
}
