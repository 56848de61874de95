/**
 * Buckets on the run's S3 server (Ceph RGW, `global-setup.ts`) for registries under test: a fresh
 * bucket name, the `storage.blobs` setting and credentials that point a registry at it (as
 * configuration for one in this process, as environment for a spawned `custody serve`), and
 * read access for tests that inspect or tamper with what the registry stored (issue 7).
 */
import { randomBytes } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';

/** A bucket name no other test uses. */
export function newBucketName(prefix = 'custody-test'): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/** The `storage.blobs` setting for `bucket` on the run's S3 server (or on `endpoint`, e.g. a proxy in front of it). */
export function s3BlobsSpec(bucket: string, endpoint: string = inject('s3').endpoint): string {
  const { region } = inject('s3');
  return `s3://${bucket}?endpoint=${encodeURIComponent(endpoint)}&region=${encodeURIComponent(region)}&forcePathStyle=true`;
}

/** `storage` configuration keys for a registry in this process. */
export function s3StorageConfig(bucket: string, endpoint?: string): { blobs: string; s3AccessKeyId: string; s3SecretAccessKey: string } {
  const { accessKeyId, secretAccessKey } = inject('s3');
  return { blobs: s3BlobsSpec(bucket, endpoint), s3AccessKeyId: accessKeyId, s3SecretAccessKey: secretAccessKey };
}

/** Environment for a spawned `custody serve` (or `custody admin verify-store`) on the bucket. */
export function s3ServerEnv(bucket: string, endpoint?: string): Record<string, string> {
  const { accessKeyId, secretAccessKey } = inject('s3');
  return {
    CUSTODY_STORAGE_BLOBS: s3BlobsSpec(bucket, endpoint),
    CUSTODY_STORAGE_S3_ACCESS_KEY_ID: accessKeyId,
    CUSTODY_STORAGE_S3_SECRET_ACCESS_KEY: secretAccessKey,
  };
}

/** A client of the run's S3 server, for inspecting a bucket. Call `destroy()` when done. */
export function testS3Client(): S3Client {
  const s3 = inject('s3');
  return new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Every object key in the bucket under `prefix` (all pages). */
export async function listBucketKeys(client: S3Client, bucket: string, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ...(token === undefined ? {} : { ContinuationToken: token }) }));
    for (const item of page.Contents ?? []) if (item.Key !== undefined) keys.push(item.Key);
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return keys;
}

/** Keys of the unfinished multipart uploads in the bucket (blobs being written, never visible). */
export async function listOpenMultipartUploads(client: S3Client, bucket: string): Promise<string[]> {
  const page = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (page.Uploads ?? []).flatMap((upload) => (upload.Key === undefined ? [] : [upload.Key]));
}

/** Empties and deletes a bucket; no error when it does not exist. */
export async function dropBucket(bucket: string): Promise<void> {
  const client = testS3Client();
  try {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const upload of uploads.Uploads ?? []) {
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
    for (const key of await listBucketKeys(client, bucket)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as { name?: unknown }).name !== 'NoSuchBucket') throw error;
  } finally {
    client.destroy();
  }
}
