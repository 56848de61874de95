/**
 * The S3 blob store (SPEC §3, §11; issue 7 §1): the `BlobStore` contract over one S3 bucket, so
 * several stateless replicas can share blobs. Verified blobs live at `blobs/sha256/<hex>`;
 * they are written by `VerifiedObjectWriter`, which makes them appear only after the digest
 * matched (single PUT after verification, or a multipart upload completed only then). Upload
 * sessions live under `uploads/<session>/` (`s3-session-parts.ts`): their offset is derived from
 * what is stored, so any replica can resume any session; `commitUpload` streams the parts back,
 * hashing them into a new verified write, and deletes the session.
 *
 * The bucket is created at open when it does not exist (HeadBucket, then CreateBucket): a test
 * run or a first start needs no separate step, and an operator's existing bucket is used as is.
 * S3 failures surface as SERVICE_UNAVAILABLE (`s3-call.ts`); memory stays bounded by one part
 * per write in progress.
 */
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { isSha256Hex } from '../../domain/digest.js';
import { CustodyError } from '../../domain/errors.js';
import type { AppendOptions, BlobInfo, BlobStore, ByteRange, PutBlobOptions } from '../blob-store.js';
import { requireCount, sizeMismatch, tooLarge, verifyDigest } from '../fs/blob-errors.js';
import { consumeSource } from '../fs/consume-source.js';
import { isS3NotFound, sendS3, sendS3OrMissing } from './s3-call.js';
import type { S3Location } from './s3-location.js';
import { listSession, sessionMarkerKey, storeSessionParts } from './s3-session-parts.js';
import { abandonMultipartUpload, DEFAULT_PART_BYTES, MAX_OBJECT_BYTES, partBytesFor, VerifiedObjectWriter } from './verified-object-writer.js';

const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;
const BLOB_PREFIX = 'blobs/sha256/';

/** How to reach the bucket. */
export interface S3BlobStoreOptions extends S3Location {
  /** Static credentials; without them the SDK's provider chain (AWS_ACCESS_KEY_ID, …) is used. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Bytes per multipart part and per stored session piece (≥ 5 MiB). */
  readonly partBytes?: number;
  /**
   * Unfinished multipart uploads older than this are aborted by `cleanupTemporary` (default 24 h:
   * another replica may still be writing a large blob, and an upload's age is all S3 tells).
   */
  readonly temporaryMaxAgeMs?: number;
  /** Per-request timeout, so an unreachable S3 fails as SERVICE_UNAVAILABLE rather than hangs. */
  readonly requestTimeoutMs?: number;
}

/**
 * A `BlobStore` over an S3 bucket. Create it with `S3BlobStore.open(options)`. Errors and the
 * treatment of sources follow `DirectoryBlobStore` (the reference behaviour); appends, commits
 * and aborts of one session are serialised within this instance (CONFLICT otherwise). Across
 * replicas nothing locks a session: only its owner may write it, and if the owner races itself
 * through two replicas the worst outcome is a commit refused with DIGEST_MISMATCH (the commit
 * re-hashes every byte), plus stray part objects under a finished session's prefix — never a
 * wrong blob.
 */
export class S3BlobStore implements BlobStore {
  private readonly busySessions = new Set<string>();
  /** Multipart uploads of this instance in progress, spared by `cleanupTemporary`. */
  private readonly activeUploads = new Set<string>();
  private readonly partBytes: number;
  private readonly temporaryMaxAgeMs: number;

  private constructor(
    readonly client: S3Client,
    readonly bucket: string,
    options: S3BlobStoreOptions,
  ) {
    this.partBytes = Math.max(5 * 1024 * 1024, options.partBytes ?? DEFAULT_PART_BYTES);
    this.temporaryMaxAgeMs = options.temporaryMaxAgeMs ?? 24 * 60 * 60 * 1000;
  }

  /** Connects, and creates the bucket when it does not exist. Throws SERVICE_UNAVAILABLE. */
  static async open(options: S3BlobStoreOptions): Promise<S3BlobStore> {
    // The SDK warns on stderr, outside the structured log, that its releases after January 2027
    // need Node 22; the version in package-lock.json is pinned exactly and runs on Node 20.
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';
    const timeout = options.requestTimeoutMs ?? 30_000;
    const client = new S3Client({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
      ...(options.credentials === undefined ? {} : { credentials: { ...options.credentials } }),
      // Ceph 16 understands neither aws-chunked bodies nor checksum trailers (notes/environment.md).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 2,
      requestHandler: { connectionTimeout: Math.min(timeout, 5_000), requestTimeout: timeout },
    });
    const store = new S3BlobStore(client, options.bucket, options);
    try {
      const exists = await sendS3OrMissing('HeadBucket', () => client.send(new HeadBucketCommand({ Bucket: options.bucket })));
      if (exists === undefined) await sendS3('CreateBucket', () => client.send(new CreateBucketCommand({ Bucket: options.bucket })));
    } catch (error) {
      client.destroy();
      throw error;
    }
    return store;
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    const key = blobKey(sha256);
    const head = await sendS3OrMissing('HeadObject', () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
    return head === undefined ? undefined : { sha256, size: head.ContentLength ?? 0 };
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable> {
    const key = blobKey(sha256);
    if (range !== undefined) {
      requireCount(range.start, 'range start');
      requireCount(range.end, 'range end');
    }
    const info = await this.stat(sha256);
    if (info === undefined) throw new CustodyError('BLOB_NOT_FOUND', 'blob not found', { details: { sha256 } });
    let header: string | undefined;
    if (range !== undefined) {
      if (range.start > range.end || range.start >= info.size) {
        throw new CustodyError('RANGE_NOT_SATISFIABLE', 'range is outside the blob', {
          details: { size: info.size, start: range.start, end: range.end },
        });
      }
      header = `bytes=${range.start}-${Math.min(range.end, info.size - 1)}`;
    }
    try {
      const answer = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(header === undefined ? {} : { Range: header }) }));
      return answer.Body as Readable;
    } catch (error) {
      if (isS3NotFound(error)) throw new CustodyError('BLOB_NOT_FOUND', 'blob not found', { details: { sha256 } });
      return sendS3('GetObject', () => Promise.reject(error as Error));
    }
  }

  async put(source: Readable, options: PutBlobOptions): Promise<BlobInfo> {
    const key = blobKey(options.sha256);
    requireCount(options.maxBytes, 'maxBytes');
    if (options.size !== undefined) {
      requireCount(options.size, 'size');
      if (options.size > options.maxBytes) throw tooLarge(options.maxBytes);
    }
    // Without a declared size the limit bounds the blob (an S3 object cannot pass 5 TiB anyway).
    const writer = this.writerFor(key, options.size ?? Math.min(options.maxBytes, MAX_OBJECT_BYTES));
    let completed = false;
    try {
      await consumeSource(source, async (chunk) => {
        const total = writer.size + chunk.length;
        if (total > options.maxBytes) throw tooLarge(options.maxBytes);
        if (options.size !== undefined && total > options.size) throw sizeMismatch(options.size, total);
        await writer.push(chunk);
        options.onBytes?.(chunk.length);
      });
      if (options.size !== undefined && writer.size !== options.size) throw sizeMismatch(options.size, writer.size);
      verifyDigest(options.sha256, writer.digest());
      const existing = await this.stat(options.sha256);
      if (existing !== undefined) return existing;
      await writer.complete();
      completed = true;
      return { sha256: options.sha256, size: writer.size };
    } finally {
      if (!completed) await writer.abort();
    }
  }

  async createUpload(sessionId: string): Promise<void> {
    const key = sessionMarkerKey(checkSessionId(sessionId));
    const head = await sendS3OrMissing('HeadObject', () => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key })));
    if (head !== undefined) throw new CustodyError('CONFLICT', 'upload session already exists', { details: { sessionId } });
    await sendS3('PutObject', () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: Buffer.alloc(0), ContentLength: 0 })));
  }

  async uploadOffset(sessionId: string): Promise<number> {
    return (await listSession(this.client, this.bucket, checkSessionId(sessionId))).offset;
  }

  async appendUpload(sessionId: string, source: Readable, options: AppendOptions): Promise<number> {
    checkSessionId(sessionId);
    requireCount(options.offset, 'offset');
    requireCount(options.totalSize, 'totalSize');
    this.lockSession(sessionId);
    try {
      const { offset: size } = await listSession(this.client, this.bucket, sessionId);
      if (options.offset !== size) {
        throw new CustodyError('UPLOAD_OFFSET_MISMATCH', 'offset is not the current size of the upload session', {
          details: { expected: size, offset: options.offset },
        });
      }
      return await storeSessionParts({ client: this.client, bucket: this.bucket, partBytes: this.partBytes }, sessionId, size, source, options);
    } finally {
      this.busySessions.delete(sessionId);
    }
  }

  async commitUpload(sessionId: string, expected: { readonly sha256: string; readonly size: number }): Promise<BlobInfo> {
    checkSessionId(sessionId);
    const key = blobKey(expected.sha256);
    requireCount(expected.size, 'size');
    this.lockSession(sessionId);
    try {
      const listing = await listSession(this.client, this.bucket, sessionId);
      if (listing.offset < expected.size) {
        throw new CustodyError('UPLOAD_INCOMPLETE', 'upload session has fewer bytes than expected', {
          details: { offset: listing.offset, size: expected.size },
        });
      }
      let rejected = true;
      const writer = this.writerFor(key, expected.size);
      let completed = false;
      try {
        if (listing.offset > expected.size) throw sizeMismatch(expected.size, listing.offset);
        const exists = (await this.stat(expected.sha256)) !== undefined;
        for (const part of listing.parts) {
          const answer = await sendS3('GetObject', () => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: part.key })));
          for await (const chunk of answer.Body as AsyncIterable<Uint8Array>) {
            // Hash only, when the blob is already there: its bytes must still match.
            await (exists ? writer.hashOnly(chunk) : writer.push(chunk));
          }
        }
        verifyDigest(expected.sha256, writer.digest());
        rejected = false;
        if (!exists) {
          await writer.complete();
          completed = true;
        }
      } finally {
        if (!completed) await writer.abort();
        if (rejected) await this.deleteKeys(listing.keys);
      }
      await this.deleteKeys(listing.keys);
      return { sha256: expected.sha256, size: expected.size };
    } finally {
      this.busySessions.delete(sessionId);
    }
  }

  async abortUpload(sessionId: string): Promise<void> {
    checkSessionId(sessionId);
    this.lockSession(sessionId);
    try {
      const listing = await listSession(this.client, this.bucket, sessionId).catch((error: unknown) => {
        if (error instanceof CustodyError && error.code === 'UPLOAD_NOT_FOUND') return undefined;
        throw error;
      });
      if (listing !== undefined) await this.deleteKeys(listing.keys);
    } finally {
      this.busySessions.delete(sessionId);
    }
  }

  /** Aborts multipart uploads of blobs started more than `temporaryMaxAgeMs` ago and not ours. */
  async cleanupTemporary(): Promise<void> {
    const cutoff = Date.now() - this.temporaryMaxAgeMs;
    let keyMarker: string | undefined;
    let idMarker: string | undefined;
    do {
      const page = await sendS3('ListMultipartUploads', () =>
        this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            Prefix: BLOB_PREFIX,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(idMarker === undefined ? {} : { UploadIdMarker: idMarker }),
          }),
        ),
      );
      for (const upload of page.Uploads ?? []) {
        const { Key: key, UploadId: uploadId, Initiated: initiated } = upload;
        if (key === undefined || uploadId === undefined || this.activeUploads.has(uploadId)) continue;
        if (initiated !== undefined && initiated.getTime() > cutoff) continue;
        await abandonMultipartUpload(this.client, this.bucket, key, uploadId);
      }
      const more = page.IsTruncated === true;
      keyMarker = more ? page.NextKeyMarker : undefined;
      idMarker = more ? page.NextUploadIdMarker : undefined;
    } while (keyMarker !== undefined);
  }

  close(): Promise<void> {
    this.client.destroy();
    return Promise.resolve();
  }

  /** A writer for an object of at most `maxBytes`, in parts as large as S3's part limit needs. */
  private writerFor(key: string, maxBytes: number): VerifiedObjectWriter {
    return new VerifiedObjectWriter(this.client, this.bucket, key, partBytesFor(maxBytes, this.partBytes), (uploadId, open) => {
      if (open) this.activeUploads.add(uploadId);
      else this.activeUploads.delete(uploadId);
    });
  }

  private async deleteKeys(keys: readonly string[]): Promise<void> {
    // One DeleteObject per key: DeleteObjects needs a body checksum some S3 servers refuse.
    for (let i = 0; i < keys.length; i += 8) {
      await Promise.all(
        keys.slice(i, i + 8).map((key) => sendS3('DeleteObject', () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })))),
      );
    }
  }

  private lockSession(sessionId: string): void {
    if (this.busySessions.has(sessionId)) {
      throw new CustodyError('CONFLICT', 'another operation on this upload session is in progress', { details: { sessionId } });
    }
    this.busySessions.add(sessionId);
  }
}

function blobKey(sha256: string): string {
  if (!isSha256Hex(sha256)) {
    throw new CustodyError('INVALID_DIGEST', 'blob address must be 64 lowercase hex digits', { details: { sha256: shown(sha256) } });
  }
  return `${BLOB_PREFIX}${sha256}`;
}

function checkSessionId(sessionId: string): string {
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) {
    throw new CustodyError('BAD_REQUEST', 'upload session id must be 16 to 64 characters of [A-Za-z0-9_-]', {
      details: { sessionId: shown(sessionId) },
    });
  }
  return sessionId;
}

/** A bounded echo of rejected input for error details (callers may not be typed). */
function shown(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 80) : typeof value;
}
