/**
 * The blob store seam (STYLE.md §2): content-addressed bytes, keyed by SHA-256 hex. Writes land
 * under a temporary name and become visible under their address only after the store itself has
 * recomputed the digest and found it equal to the expected one. Implementations: a local
 * directory (`fs/directory-blob-store.ts`) and an S3-compatible bucket (`s3/s3-blob-store.ts`). One contract suite covers them all
 * (`test/store/blob-store.contract.ts`).
 */
import type { FileSlice } from '../io/send-file-slice.js';
import type { Readable } from 'node:stream';

export interface BlobInfo {
  readonly sha256: string;
  readonly size: number;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export interface PutBlobOptions {
  /** Expected SHA-256 hex. The blob becomes visible only if the bytes hash to it. */
  readonly sha256: string;
  /** Expected size, when known: more or fewer bytes fail with SIZE_MISMATCH. */
  readonly size?: number;
  /** Hard cap on bytes accepted (FILE_TOO_LARGE past it). */
  readonly maxBytes: number;
  /** Called with each chunk's length as it is written (metrics, progress). */
  readonly onBytes?: (count: number) => void;
}

export interface AppendOptions {
  /** The offset the caller believes the session is at; must equal the current size. */
  readonly offset: number;
  /**
   * No byte may land at or past this offset (SIZE_MISMATCH): the session's declared size, or
   * the end of the chunk's Content-Range when that comes first.
   */
  readonly totalSize: number;
  readonly onBytes?: (count: number) => void;
}

export interface BlobStore {
  /** Size of a visible blob, or undefined. */
  stat(sha256: string): Promise<BlobInfo | undefined>;
  /** Streams a visible blob (or an inclusive range of it). Throws BLOB_NOT_FOUND. */
  read(sha256: string, range?: ByteRange): Promise<Readable>;
  /**
   * The same bytes as `read`, as an open file slice, for stores that keep blobs in local files
   * (the directory store); absent where blobs are not files (S3). Throws as `read` does. The
   * HTTP layer sends a slice with reused buffers (`io/send-file-slice.ts`) instead of a stream
   * that allocates a buffer per chunk.
   */
  readonly openSlice?: (sha256: string, range?: ByteRange) => Promise<FileSlice>;
  /**
   * Streams `source` into a temporary file while hashing; verifies digest and size; then makes
   * it visible atomically. On any failure (mismatch, limit, aborted source) nothing is visible
   * and the temporary file is gone. Idempotent: an existing blob is kept, the source drained.
   */
  put(source: Readable, options: PutBlobOptions): Promise<BlobInfo>;

  // Resumable upload sessions: the bytes of a session live in the store; the session's
  // metadata (owner, expected digest and size) lives in the metadata store.

  /** Creates empty storage for a new session. */
  createUpload(sessionId: string): Promise<void>;
  /** Bytes durably acknowledged for a session so far. Throws UPLOAD_NOT_FOUND. */
  uploadOffset(sessionId: string): Promise<number>;
  /**
   * Appends `source` at `offset`. Throws UPLOAD_OFFSET_MISMATCH when `offset` is not the current
   * size. If the source aborts midway, the bytes already written stay acknowledged (that is what
   * makes a push resumable); the new offset is returned either way via `uploadOffset`.
   */
  appendUpload(sessionId: string, source: Readable, options: AppendOptions): Promise<number>;
  /**
   * Verifies the session's bytes hash to `sha256` (and have `size` bytes), makes them visible as
   * that blob and removes the session's storage. On mismatch the session's storage is removed
   * too (its bytes can never become valid) and DIGEST_MISMATCH or SIZE_MISMATCH is thrown.
   */
  commitUpload(sessionId: string, expected: { readonly sha256: string; readonly size: number }): Promise<BlobInfo>;
  /** Removes a session's storage; no error if it is already gone. */
  abortUpload(sessionId: string): Promise<void>;

  /** Removes temporary files left by a crash (never touches visible blobs). */
  cleanupTemporary(): Promise<void>;
  close(): Promise<void>;
}
