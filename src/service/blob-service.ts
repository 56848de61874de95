/**
 * Blob use cases: which blobs are missing, single-shot streamed uploads, resumable upload
 * sessions, and reads. Bytes become visible only after the blob store has verified their digest;
 * sessions belong to the principal that created them and resume where the last acknowledged
 * byte left off.
 */
import type { Readable } from 'node:stream';
import { CustodyError } from '../domain/errors.js';
import { parseDigest, toDigest, type Digest } from '../domain/digest.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import type { FileSlice } from '../io/send-file-slice.js';
import type { BlobInfo, BlobStore, ByteRange } from '../store/blob-store.js';
import type { MetadataStore, UploadSession } from '../store/metadata-store.js';
import type { Logger } from '../observability/logger.js';
import type { Actor } from './auth-service.js';
import { forEachLimited } from './for-each-limited.js';

export interface BlobLimits {
  readonly maxFileBytes: number;
  readonly maxFiles: number;
  readonly sessionTtlHours: number;
}

export interface UploadStatus {
  /** null when the blob already exists and no session was needed. */
  readonly id: string | null;
  readonly digest: Digest;
  readonly size: number;
  /** Bytes acknowledged so far. */
  readonly offset: number;
  readonly exists: boolean;
}

export class BlobService {
  constructor(
    private readonly blobs: BlobStore,
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly limits: BlobLimits,
    private readonly logger: Logger,
    private readonly onBytesReceived: (count: number) => void = () => undefined,
  ) {}

  /** The digests among `digests` that the store does not hold (order kept, duplicates once). */
  async missing(digests: readonly string[]): Promise<Digest[]> {
    if (digests.length > this.limits.maxFiles) {
      throw new CustodyError('TOO_MANY_FILES', `at most ${this.limits.maxFiles} digests per request`);
    }
    const unique = [...new Set(digests)];
    const hexes = unique.map((d) => parseDigest(d).hex);
    const missing: Digest[] = [];
    await forEachLimited(hexes, 16, async (hex) => {
      if ((await this.blobs.stat(hex)) === undefined) missing.push(toDigest(hex));
    });
    const order = new Map(unique.map((d, i) => [d, i]));
    return missing.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0));
  }

  /**
   * Whether a reader limited to `namespaces` (null = every namespace) may read this blob: only
   * when a registered version in one of them lists it. Blobs are shared across namespaces by
   * content; reading one by digest must not reach into a namespace the reader cannot see.
   */
  async readableIn(digest: string, namespaces: readonly string[] | null): Promise<boolean> {
    if (namespaces === null) return true;
    return this.store.blobInNamespaces(parseDigest(digest).hex, namespaces);
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    return this.blobs.stat(parseDigest(digest).hex);
  }

  /** A blob's bytes for a response: an open file slice where the store keeps files, else a stream. */
  async body(digest: string, range?: ByteRange): Promise<{ readonly file: FileSlice } | { readonly stream: Readable }> {
    const { hex } = parseDigest(digest);
    if (this.blobs.openSlice !== undefined) return { file: await this.blobs.openSlice(hex, range) };
    return { stream: await this.blobs.read(hex, range) };
  }

  /** Single-shot streamed upload of a whole blob. */
  async put(digest: string, body: Readable, declaredSize: number | undefined): Promise<BlobInfo> {
    const { hex } = parseDigest(digest);
    if (declaredSize !== undefined && declaredSize > this.limits.maxFileBytes) {
      throw new CustodyError('FILE_TOO_LARGE', `a file may have at most ${this.limits.maxFileBytes} bytes`);
    }
    return this.blobs.put(body, {
      sha256: hex,
      ...(declaredSize === undefined ? {} : { size: declaredSize }),
      maxBytes: this.limits.maxFileBytes,
      onBytes: this.onBytesReceived,
    });
  }

  /**
   * Opens (or resumes) the caller's upload session for a blob. A session of the same principal
   * for the same digest and size is resumed, so a re-run push continues from its offset.
   */
  async createUpload(actor: Actor, digest: string, size: number): Promise<UploadStatus> {
    const { hex } = parseDigest(digest);
    if (!Number.isSafeInteger(size) || size < 0) throw new CustodyError('VALIDATION_FAILED', 'size must be a non-negative integer');
    if (size > this.limits.maxFileBytes) throw new CustodyError('FILE_TOO_LARGE', `a file may have at most ${this.limits.maxFileBytes} bytes`);
    const existingBlob = await this.blobs.stat(hex);
    if (existingBlob !== undefined) return { id: null, digest: toDigest(hex), size: existingBlob.size, offset: existingBlob.size, exists: true };

    const resumable = await this.store.findUploadSession(actor.principal.id, hex, size);
    if (resumable !== undefined) {
      try {
        const offset = await this.blobs.uploadOffset(resumable.id);
        return { id: resumable.id, digest: toDigest(hex), size, offset, exists: false };
      } catch (error) {
        // The bytes are gone (expired or cleaned): forget the session and start afresh.
        if (!(error instanceof CustodyError && error.code === 'UPLOAD_NOT_FOUND')) throw error;
        await this.store.transaction((tx) => tx.deleteUploadSession(resumable.id));
      }
    }
    const now = isoNow(this.clock);
    const session: UploadSession = { id: newId(), principalId: actor.principal.id, sha256: hex, size, createdAt: now, updatedAt: now };
    await this.blobs.createUpload(session.id);
    try {
      await this.store.transaction(async (tx) => {
        await tx.insertUploadSession(session);
      });
    } catch (error) {
      await this.blobs.abortUpload(session.id);
      throw error;
    }
    return { id: session.id, digest: toDigest(hex), size, offset: 0, exists: false };
  }

  async uploadStatus(actor: Actor, id: string): Promise<UploadStatus> {
    const session = await this.ownedSession(actor, id);
    const offset = await this.blobs.uploadOffset(session.id);
    return { id: session.id, digest: toDigest(session.sha256), size: session.size, offset, exists: false };
  }

  /**
   * Appends a chunk at `start`; returns the new acknowledged offset. `end` (inclusive, from
   * Content-Range) bounds the chunk: no byte past it is accepted, even in a chunked body.
   */
  async append(actor: Actor, id: string, range: { start: number; end: number | undefined; total: number }, body: Readable): Promise<UploadStatus> {
    const session = await this.ownedSession(actor, id);
    if (range.total !== session.size) {
      throw new CustodyError('SIZE_MISMATCH', 'Content-Range total differs from the session size', { details: { size: session.size } });
    }
    const limit = range.end === undefined ? range.start : Math.min(session.size, range.end + 1);
    let offset: number;
    try {
      offset = await this.blobs.appendUpload(session.id, body, { offset: range.start, totalSize: limit, onBytes: this.onBytesReceived });
    } catch (error) {
      if (error instanceof CustodyError && error.code === 'SIZE_MISMATCH' && limit < session.size) {
        throw new CustodyError('INVALID_CONTENT_RANGE', 'the body carries more bytes than its Content-Range declares', { cause: error });
      }
      throw error;
    }
    await this.store.transaction((tx) => tx.touchUploadSession(session.id, isoNow(this.clock)));
    return { id: session.id, digest: toDigest(session.sha256), size: session.size, offset, exists: false };
  }

  /** Verifies and publishes a session's bytes under their digest; the session ends either way. */
  async commit(actor: Actor, id: string, digest: string): Promise<BlobInfo> {
    const session = await this.ownedSession(actor, id);
    const { hex } = parseDigest(digest);
    if (hex !== session.sha256) {
      throw new CustodyError('DIGEST_MISMATCH', 'the digest given at commit differs from the one the session was opened for');
    }
    const offset = await this.blobs.uploadOffset(session.id);
    if (offset !== session.size) {
      throw new CustodyError('UPLOAD_INCOMPLETE', `the session holds ${offset} of ${session.size} bytes`, { details: { offset, size: session.size } });
    }
    try {
      return await this.blobs.commitUpload(session.id, { sha256: session.sha256, size: session.size });
    } finally {
      await this.store.transaction((tx) => tx.deleteUploadSession(session.id));
    }
  }

  async abort(actor: Actor, id: string): Promise<void> {
    const session = await this.ownedSession(actor, id);
    await this.blobs.abortUpload(session.id);
    await this.store.transaction((tx) => tx.deleteUploadSession(session.id));
  }

  /** Discards sessions untouched for longer than the TTL, with their bytes. */
  async expireUploads(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - this.limits.sessionTtlHours * 3_600_000).toISOString();
    const stale = await this.store.listUploadSessionsUpdatedBefore(cutoff);
    for (const session of stale) {
      await this.blobs.abortUpload(session.id);
      await this.store.transaction((tx) => tx.deleteUploadSession(session.id));
    }
    if (stale.length > 0) this.logger.info('expired upload sessions', { count: stale.length });
    return stale.length;
  }

  private async ownedSession(actor: Actor, id: string): Promise<UploadSession> {
    const session = /^[A-Za-z0-9_-]{16,64}$/.test(id) ? await this.store.getUploadSession(id) : undefined;
    // Another principal's session is reported exactly like a missing one.
    if (session === undefined || session.principalId !== actor.principal.id) {
      throw new CustodyError('UPLOAD_NOT_FOUND', 'no such upload session');
    }
    return session;
  }
}
