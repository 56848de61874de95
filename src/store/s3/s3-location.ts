/**
 * The `storage.blobs` setting for S3 (issue 7 §1):
 * `s3://BUCKET?endpoint=http://host:port&region=us-east-1&forcePathStyle=true`. Parsed once at
 * start with CONFIG_INVALID naming what is wrong, so a typo never reaches the first push.
 * Credentials are not part of the URL (a config file is not a secret store): they come from
 * AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY or the SDK's usual provider chain.
 */
import { CustodyError } from '../../domain/errors.js';

/** Where the blobs live. */
export interface S3Location {
  readonly bucket: string;
  /** Custom endpoint (Ceph RGW, MinIO, …); undefined means AWS itself. */
  readonly endpoint: string | undefined;
  readonly region: string;
  readonly forcePathStyle: boolean;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const KNOWN_PARAMS = new Set(['endpoint', 'region', 'forcePathStyle']);

function invalid(message: string): CustodyError {
  return new CustodyError('CONFIG_INVALID', `storage.blobs: ${message}`);
}

/** Parses an `s3://` storage URL. Throws CONFIG_INVALID. */
export function parseS3Location(spec: string): S3Location {
  let url: URL;
  try {
    url = new URL(spec);
  } catch {
    throw invalid('not a valid s3://bucket?… URL');
  }
  if (url.protocol !== 's3:') throw invalid('an S3 location starts with s3://');
  if (url.username !== '' || url.password !== '') throw invalid('credentials do not belong in the URL; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY');
  if (url.pathname !== '' && url.pathname !== '/') throw invalid('s3://BUCKET takes no path (keys are chosen by Custody)');
  const bucket = url.hostname;
  if (!BUCKET.test(bucket) || bucket.includes('..')) throw invalid(`"${bucket.slice(0, 80)}" is not a valid bucket name (3–63 of a-z, 0-9, . and -)`);
  for (const key of url.searchParams.keys()) {
    if (!KNOWN_PARAMS.has(key)) throw invalid(`unknown parameter "${key.slice(0, 40)}" (known: endpoint, region, forcePathStyle)`);
  }
  const endpoint = url.searchParams.get('endpoint') ?? undefined;
  if (endpoint !== undefined) {
    let parsed: URL;
    try {
      parsed = new URL(endpoint);
    } catch {
      throw invalid('endpoint must be an http(s):// URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalid('endpoint must be an http(s):// URL');
  }
  const region = url.searchParams.get('region') ?? 'us-east-1';
  if (!/^[a-z0-9-]{1,40}$/.test(region)) throw invalid('region must be like us-east-1');
  const style = url.searchParams.get('forcePathStyle') ?? 'false';
  if (style !== 'true' && style !== 'false') throw invalid('forcePathStyle must be true or false');
  return { bucket, endpoint, region, forcePathStyle: style === 'true' };
}
