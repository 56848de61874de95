/**
 * Writes a stream of bytes to one S3 key so that nothing is visible under that key until the
 * caller has checked the bytes (SPEC §3: a blob is visible only under its verified address).
 *
 * How: bytes are hashed as they arrive and gathered into parts of `partSize` bytes (bounded memory:
 * one part buffered at a time). Up to one part, nothing is sent before `complete()`, which then
 * PUTs the buffer with its Content-Length. Past one part, the parts go into a multipart upload
 * *at the final key*; S3 shows an object only once its multipart upload is completed, so
 * `complete()` — called only after the digest matched — is the single moment it appears, and
 * `abort()` discards the parts. Leftover uploads of crashed writers are aborted by
 * `S3BlobStore.cleanupTemporary`. No aws-chunked bodies, no checksum trailers (Ceph 16).
 */
import { createHash, type Hash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { CustodyError } from '../../domain/errors.js';
import { sendS3 } from './s3-call.js';

/** Parts of a multipart upload: S3's minimum is 5 MiB (but for the last). */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/** S3 allows at most 10,000 parts per multipart upload, each at most 5 GiB. */
const MAX_PARTS = 10_000;
const MAX_PART_BYTES = 5 * 1024 * 1024 * 1024;
/** The largest object a multipart upload can make. */
export const MAX_OBJECT_BYTES = MAX_PARTS * MAX_PART_BYTES;
const MiB = 1024 * 1024;

/**
 * The part size for an object of up to `maxBytes`: `preferred`, or larger (whole MiB) when
 * `preferred` would need more than S3's 10,000 parts — so a 100 GiB blob is written in ~10.3 MiB
 * parts instead of failing at part 10,001 (78 GiB with 8 MiB parts). FILE_TOO_LARGE past what S3
 * can hold in one object.
 */
export function partBytesFor(maxBytes: number, preferred: number = DEFAULT_PART_BYTES): number {
  const needed = Math.ceil(Math.ceil(maxBytes / MAX_PARTS) / MiB) * MiB;
  const size = Math.max(preferred, needed);
  if (size > MAX_PART_BYTES) {
    throw new CustodyError('FILE_TOO_LARGE', 'the blob is larger than one S3 object can be', { details: { maxBytes: MAX_PARTS * MAX_PART_BYTES } });
  }
  return size;
}

/** One key's pending content; see the module comment. */
export class VerifiedObjectWriter {
  private readonly hash: Hash = createHash('sha256');
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private written = 0;
  private uploadId: string | undefined;
  private readonly parts: { ETag: string; PartNumber: number }[] = [];
  private finished = false;

  constructor(
    private readonly client: S3Client,
    private readonly bucket: string,
    private readonly key: string,
    private readonly partSize: number = DEFAULT_PART_BYTES,
    /** Told the id of a multipart upload while it is open, so cleanup spares it. */
    private readonly track?: (uploadId: string, open: boolean) => void,
  ) {}

  /** Bytes accepted so far. */
  get size(): number {
    return this.written;
  }

  /** SHA-256 hex of the bytes accepted; call once, after the last `push`. */
  digest(): string {
    return this.hash.digest('hex');
  }

  /** Accepts a chunk; sends a part whenever a full one is buffered. */
  async push(chunk: Uint8Array): Promise<void> {
    this.hash.update(chunk);
    this.buffered.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    this.bufferedBytes += chunk.byteLength;
    this.written += chunk.byteLength;
    while (this.bufferedBytes >= this.partSize) await this.sendPart(this.partSize);
  }

  /** Counts and hashes a chunk without storing it (the object already exists). */
  hashOnly(chunk: Uint8Array): Promise<void> {
    this.hash.update(chunk);
    this.written += chunk.byteLength;
    return Promise.resolve();
  }

  /** Makes the bytes visible under the key. Call only after verifying them. */
  async complete(): Promise<void> {
    this.finished = true;
    if (this.uploadId === undefined) {
      const body = Buffer.concat(this.buffered, this.bufferedBytes);
      this.buffered = [];
      await sendS3('PutObject', () =>
        this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: this.key, Body: body, ContentLength: body.length })),
      );
      return;
    }
    if (this.bufferedBytes > 0) await this.sendPart(this.bufferedBytes);
    const uploadId = this.uploadId;
    await sendS3('CompleteMultipartUpload', () =>
      this.client.send(
        new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, MultipartUpload: { Parts: this.parts } }),
      ),
    );
    this.track?.(uploadId, false);
  }

  /** Discards everything; never throws (a leftover upload is cleanupTemporary's to abort). */
  async abort(): Promise<void> {
    if (this.finished && this.uploadId === undefined) return;
    this.finished = true;
    this.buffered = [];
    const uploadId = this.uploadId;
    if (uploadId === undefined) return;
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId }));
      this.track?.(uploadId, false);
    } catch {
      // Unreachable S3: the parts stay invisible and are aborted by a later cleanup.
    }
  }

  private async sendPart(length: number): Promise<void> {
    const all = Buffer.concat(this.buffered, this.bufferedBytes);
    const body = all.subarray(0, length);
    const rest = all.subarray(length);
    this.buffered = rest.length > 0 ? [rest] : [];
    this.bufferedBytes = rest.length;
    if (this.uploadId === undefined) {
      const created = await sendS3('CreateMultipartUpload', () =>
        this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: this.key })),
      );
      if (created.UploadId === undefined) throw new CustodyError('INTERNAL', 'object storage returned no multipart upload id');
      this.uploadId = created.UploadId;
      this.track?.(created.UploadId, true);
    }
    const uploadId = this.uploadId;
    const partNumber = this.parts.length + 1;
    const answer = await sendS3('UploadPart', () =>
      this.client.send(
        new UploadPartCommand({ Bucket: this.bucket, Key: this.key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.length }),
      ),
    );
    if (answer.ETag === undefined) throw new CustodyError('INTERNAL', 'object storage returned no ETag for a part');
    this.parts.push({ ETag: answer.ETag, PartNumber: partNumber });
  }
}

/** Aborts a multipart upload left by another writer; never throws (the next cleanup retries). */
export async function abandonMultipartUpload(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  try {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: uploadId }));
  } catch {
    // Unreachable S3 or already gone: nothing to do now.
  }
}
