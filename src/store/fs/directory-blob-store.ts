/**
 * The embedded blob store (SPEC §3): content-addressed bytes in a local directory. Every write
 * is hashed as it streams into a private file and becomes visible only through an atomic rename
 * after the digest matched, so a crash or a hostile upload can never leave a partial or mislabelled
 * blob under `sha256/` (SPEC §10, "hostile upload", "crash mid-write").
 *
 * Layout under `root`:
 *   sha256/ab/abcdef…   visible blobs, read-only (0444), fanned out by their first two hex digits
 *   tmp/<random>        in-flight single-shot puts; removed on failure and by `cleanupTemporary`
 *   uploads/<session>   bytes of resumable upload sessions; they survive restarts
 */
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { isSha256Hex } from '../../domain/digest.js';
import { CustodyError } from '../../domain/errors.js';
import type { AppendOptions, BlobInfo, BlobStore, ByteRange, PutBlobOptions } from '../blob-store.js';
import type { FileSlice } from '../../io/send-file-slice.js';
import { requireCount, sizeMismatch, tooLarge, uploadNotFound, verifyDigest } from './blob-errors.js';
import { consumeSource } from './consume-source.js';
import { hasErrnoCode } from './errno-code.js';
import { hashFile } from './hash-file.js';
import { StagedWriter } from '../../io/staged-writer.js';
import { syncDirectory } from './sync-directory.js';

/** Bytes per disk write and per read-stream chunk: large enough that syscalls are not the cost. */
const IO_BUFFER_BYTES = 1024 * 1024;
const SESSION_ID = /^[A-Za-z0-9_-]{16,64}$/;

/** Incremental digest of a session's bytes, valid while `offset` equals the session file's size. */
interface SessionDigest {
  readonly hash: Hash;
  readonly offset: number;
}

/**
 * A `BlobStore` over a local directory. Create it with `DirectoryBlobStore.open(root)`.
 *
 * Sources: once `put` or `appendUpload` has started reading a source, it reads it to the end or
 * destroys it — a source that passes a limit is not read any further. A call refused before
 * reading (bad argument, unknown session, wrong offset, CONFLICT) leaves the source untouched, so
 * the caller can still answer its client (e.g. with the expected offset). Errors of the source
 * become CLIENT_ABORTED, except that a source destroyed with a `CustodyError` keeps that error.
 *
 * A malformed digest is INVALID_DIGEST, a malformed session id BAD_REQUEST, both before any path
 * is built. Committing a session that is still short is UPLOAD_INCOMPLETE and keeps the session
 * (more bytes can still complete it); a session with too many bytes or the wrong digest is
 * removed. Appends, commits and aborts of one session are serialised (CONFLICT otherwise) within
 * this instance: one directory belongs to one store instance in one server process.
 */
export class DirectoryBlobStore implements BlobStore {
  private readonly blobDir: string;
  private readonly tmpDir: string;
  private readonly uploadDir: string;
  /** Sessions with an append, commit or abort in progress. */
  private readonly busySessions = new Set<string>();
  private readonly sessionDigests = new Map<string, SessionDigest>();
  /** Fan-out directories known to exist (saves a mkdir per published blob). */
  private readonly fanOutDirs = new Set<string>();
  /** Names in tmp/ that belong to puts in progress, spared by `cleanupTemporary`. */
  private readonly activeTemps = new Set<string>();

  private constructor(readonly root: string) {
    this.blobDir = path.join(root, 'sha256');
    this.tmpDir = path.join(root, 'tmp');
    this.uploadDir = path.join(root, 'uploads');
  }

  /** Opens (creating when absent) the store rooted at `root`. */
  static async open(root: string): Promise<DirectoryBlobStore> {
    const store = new DirectoryBlobStore(path.resolve(root));
    for (const dir of [store.blobDir, store.tmpDir, store.uploadDir]) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
    }
    return store;
  }

  async stat(sha256: string): Promise<BlobInfo | undefined> {
    const file = this.blobPath(sha256);
    try {
      const info = await stat(file);
      return info.isFile() ? { sha256, size: info.size } : undefined;
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) return undefined;
      throw error;
    }
  }

  async read(sha256: string, range?: ByteRange): Promise<Readable> {
    const { handle, start, length } = await this.openSlice(sha256, range);
    // An explicit `end` keeps small blobs from each allocating a full read buffer.
    return length === 0 ? handle.createReadStream({ highWaterMark: 1 }) : handle.createReadStream({ start, end: start + length - 1, highWaterMark: IO_BUFFER_BYTES });
  }

  readonly openSlice = async (sha256: string, range?: ByteRange): Promise<FileSlice> => {
    const file = this.blobPath(sha256);
    if (range !== undefined) {
      requireCount(range.start, 'range start');
      requireCount(range.end, 'range end');
    }
    let handle: FileHandle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      if (hasErrnoCode(error, 'ENOENT')) throw new CustodyError('BLOB_NOT_FOUND', 'blob not found', { details: { sha256 } });
      throw error;
    }
    try {
      const { size } = await handle.stat();
      if (range === undefined) return { handle, start: 0, length: size };
      if (range.start > range.end || range.start >= size) {
        throw new CustodyError('RANGE_NOT_SATISFIABLE', 'range is outside the blob', {
          details: { size, start: range.start, end: range.end },
        });
      }
      const end = Math.min(range.end, size - 1);
      return { handle, start: range.start, length: end - range.start + 1 };
    } catch (error) {
      await handle.close();
      throw error;
    }
  };

  async put(source: Readable, options: PutBlobOptions): Promise<BlobInfo> {
    this.blobPath(options.sha256);
    requireCount(options.maxBytes, 'maxBytes');
    if (options.size !== undefined) {
      requireCount(options.size, 'size');
      if (options.size > options.maxBytes) throw tooLarge(options.maxBytes);
    }
    const limit = options.size ?? options.maxBytes;
    const tempName = randomBytes(16).toString('hex');
    const tempPath = path.join(this.tmpDir, tempName);
    this.activeTemps.add(tempName);
    let handle: FileHandle | undefined;
    let published = false;
    try {
      handle = await open(tempPath, 'wx', 0o600);
      const hash = createHash('sha256');
      const writer = new StagedWriter(handle, 0, bufferSizeFor(limit), hash);
      try {
        await consumeSource(source, async (chunk) => {
          const total = writer.end + chunk.length;
          if (total > options.maxBytes) throw tooLarge(options.maxBytes);
          if (options.size !== undefined && total > options.size) throw sizeMismatch(options.size, total);
          await writer.push(chunk);
          options.onBytes?.(chunk.length);
        });
        await writer.flush();
      } finally {
        await writer.settle();
      }
      if (options.size !== undefined && writer.end !== options.size) throw sizeMismatch(options.size, writer.end);
      verifyDigest(options.sha256, hash.digest('hex'));
      const info: BlobInfo = { sha256: options.sha256, size: writer.end };
      const existing = await this.stat(options.sha256);
      if (existing !== undefined) return existing;
      await handle.sync();
      await handle.chmod(0o444);
      await handle.close();
      handle = undefined;
      await this.publish(tempPath, options.sha256);
      published = true;
      return info;
    } finally {
      await handle?.close();
      if (!published) await rm(tempPath, { force: true });
      this.activeTemps.delete(tempName);
    }
  }

  async createUpload(sessionId: string): Promise<void> {
    const file = this.sessionPath(sessionId);
    let handle: FileHandle;
    try {
      handle = await open(file, 'wx', 0o600);
    } catch (error) {
      if (hasErrnoCode(error, 'EEXIST')) throw new CustodyError('CONFLICT', 'upload session already exists', { details: { sessionId } });
      throw error;
    }
    await handle.close();
    this.sessionDigests.set(sessionId, { hash: createHash('sha256'), offset: 0 });
    await syncDirectory(this.uploadDir);
  }

  async uploadOffset(sessionId: string): Promise<number> {
    const file = this.sessionPath(sessionId);
    try {
      return (await stat(file)).size;
    } catch (error) {
      throw hasErrnoCode(error, 'ENOENT') ? uploadNotFound(sessionId) : error;
    }
  }

  async appendUpload(sessionId: string, source: Readable, options: AppendOptions): Promise<number> {
    const file = this.sessionPath(sessionId);
    requireCount(options.offset, 'offset');
    requireCount(options.totalSize, 'totalSize');
    this.lockSession(sessionId);
    try {
      const handle = await openSession(file, sessionId, 'r+');
      try {
        return await this.appendTo(handle, sessionId, source, options);
      } finally {
        await handle.close();
      }
    } finally {
      this.busySessions.delete(sessionId);
    }
  }

  async commitUpload(sessionId: string, expected: { readonly sha256: string; readonly size: number }): Promise<BlobInfo> {
    const file = this.sessionPath(sessionId);
    this.blobPath(expected.sha256);
    requireCount(expected.size, 'size');
    this.lockSession(sessionId);
    try {
      const handle = await openSession(file, sessionId, 'r');
      let rejected = false;
      try {
        const { size } = await handle.stat();
        if (size < expected.size) {
          throw new CustodyError('UPLOAD_INCOMPLETE', 'upload session has fewer bytes than expected', {
            details: { offset: size, size: expected.size },
          });
        }
        rejected = true;
        if (size > expected.size) throw sizeMismatch(expected.size, size);
        const known = this.sessionDigests.get(sessionId);
        this.sessionDigests.delete(sessionId);
        const actual = known?.offset === size ? known.hash.digest('hex') : await hashFile(handle, size, bufferSizeFor(size));
        verifyDigest(expected.sha256, actual);
        rejected = false;
        if ((await this.stat(expected.sha256)) === undefined) {
          await handle.sync();
          await handle.chmod(0o444);
          await handle.close();
          await this.publish(file, expected.sha256);
          await syncDirectory(this.uploadDir);
        } else {
          await unlink(file);
        }
        return { sha256: expected.sha256, size };
      } finally {
        await handle.close();
        if (rejected) {
          this.sessionDigests.delete(sessionId);
          await rm(file, { force: true });
        }
      }
    } finally {
      this.busySessions.delete(sessionId);
    }
  }

  async abortUpload(sessionId: string): Promise<void> {
    const file = this.sessionPath(sessionId);
    this.lockSession(sessionId);
    try {
      this.sessionDigests.delete(sessionId);
      await rm(file, { force: true });
    } finally {
      this.busySessions.delete(sessionId);
    }
  }

  async cleanupTemporary(): Promise<void> {
    for (const name of await readdir(this.tmpDir)) {
      if (!this.activeTemps.has(name)) await rm(path.join(this.tmpDir, name), { force: true, recursive: true });
    }
  }

  close(): Promise<void> {
    this.sessionDigests.clear();
    return Promise.resolve();
  }

  /** The append proper, with the session locked and its file open. */
  private async appendTo(handle: FileHandle, sessionId: string, source: Readable, options: AppendOptions): Promise<number> {
    const { size } = await handle.stat();
    if (options.offset !== size) {
      throw new CustodyError('UPLOAD_OFFSET_MISMATCH', 'offset is not the current size of the upload session', {
        details: { expected: size, offset: options.offset },
      });
    }
    // The digest so far is trusted only if it covers exactly the bytes in the file; it is taken
    // out of the map for the duration and put back only if every staged byte reached the disk.
    const known = this.sessionDigests.get(sessionId);
    this.sessionDigests.delete(sessionId);
    const hash = known?.offset === size ? known.hash : size === 0 ? createHash('sha256') : undefined;
    const writer = new StagedWriter(handle, size, bufferSizeFor(options.totalSize - size), hash);
    let failure: { readonly error: unknown } | undefined;
    try {
      await consumeSource(source, async (chunk) => {
        const total = writer.end + chunk.length;
        if (total > options.totalSize) throw sizeMismatch(options.totalSize, total);
        await writer.push(chunk);
        options.onBytes?.(chunk.length);
      });
    } catch (error) {
      failure = { error };
    }
    // Whatever the source delivered before it failed is kept: that is what a resumed push relies on.
    try {
      await writer.flush();
      await handle.sync();
    } catch (error) {
      await writer.settle();
      await handle.truncate(writer.written);
      throw failure === undefined ? error : failure.error;
    }
    if (hash !== undefined) this.sessionDigests.set(sessionId, { hash, offset: writer.end });
    if (failure !== undefined) throw failure.error;
    return writer.end;
  }

  /** Moves a verified, synced file to its address and makes the rename durable. */
  private async publish(from: string, sha256: string): Promise<void> {
    const target = this.blobPath(sha256);
    const dir = path.dirname(target);
    if (!this.fanOutDirs.has(dir)) {
      const created = await mkdir(dir, { recursive: true, mode: 0o700 });
      if (created !== undefined) await syncDirectory(this.blobDir);
      this.fanOutDirs.add(dir);
    }
    await rename(from, target);
    await syncDirectory(dir);
  }

  private blobPath(sha256: string): string {
    if (!isSha256Hex(sha256)) {
      throw new CustodyError('INVALID_DIGEST', 'blob address must be 64 lowercase hex digits', {
        details: { sha256: shown(sha256) },
      });
    }
    return path.join(this.blobDir, sha256.slice(0, 2), sha256);
  }

  private sessionPath(sessionId: string): string {
    if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) {
      throw new CustodyError('BAD_REQUEST', 'upload session id must be 16 to 64 characters of [A-Za-z0-9_-]', {
        details: { sessionId: shown(sessionId) },
      });
    }
    return path.join(this.uploadDir, sessionId);
  }

  private lockSession(sessionId: string): void {
    if (this.busySessions.has(sessionId)) {
      throw new CustodyError('CONFLICT', 'another operation on this upload session is in progress', { details: { sessionId } });
    }
    this.busySessions.add(sessionId);
  }
}

async function openSession(file: string, sessionId: string, flags: 'r' | 'r+'): Promise<FileHandle> {
  try {
    return await open(file, flags);
  } catch (error) {
    throw hasErrnoCode(error, 'ENOENT') ? uploadNotFound(sessionId) : error;
  }
}

function bufferSizeFor(limit: number): number {
  return Math.max(1, Math.min(limit, IO_BUFFER_BYTES));
}

/** A bounded echo of rejected input for error details (callers may not be typed). */
function shown(value: unknown): string {
  return typeof value === 'string' ? value.slice(0, 80) : typeof value;
}
