/**
 * The client-side model scanner behind `custody digest` and `custody push`: walks a model
 * directory (or takes a single file), hashes every regular file with streaming reads and builds
 * the version manifest, its manifest digest and its OMS root digest.
 *
 * Enumeration follows OMS / `model_signing` (reference/oms.md §2.1, §2.2, §2.6) with Custody's
 * stricter rules (SPEC §4.1): symlinks are errors, names must pass `assertSafePath`, an empty
 * model is rejected, and order is by UTF-8 bytes of the path (reference/oms.md §2.4 explains
 * where that differs from Python's path-component order).
 * Spec: ../../shared/SPEC.md §4.1, ../../shared/reference/oms.md §2.
 */
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readdirSync, readSync, type BigIntStats } from 'node:fs';
import { lstat, open, type FileHandle } from 'node:fs/promises';
import nodePath from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Digest } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import { assertSafePath, comparePaths, manifestDigest, manifestOmsRoot, toManifest, type Manifest } from '../domain/manifest.js';

/** One hashed file of a local model. */
export interface LocalFile {
  /** Manifest path: relative to the model root, `/`-separated (the file name for a single file). */
  readonly path: string;
  readonly size: number;
  /** Lowercase hex SHA-256 of the file's bytes. */
  readonly sha256: string;
  /** Where the bytes were read from. */
  readonly absolutePath: string;
}

/** A scanned model: what `custody digest` prints and `custody push` uploads. */
export interface LocalModel {
  /** Absolute path of the model directory, or of the file for a single-file model. */
  readonly root: string;
  readonly singleFile: boolean;
  readonly manifest: Manifest;
  /** The manifest digest: the version's identity (binds names). */
  readonly digest: Digest;
  /** The OMS root digest over the file digests in canonical order (does not bind names). */
  readonly omsRootDigest: Digest;
  /** Files in canonical order, the same order as `manifest.files`. */
  readonly files: readonly LocalFile[];
}

export interface ScanOptions {
  /**
   * Paths relative to the model root to leave out, each with its whole subtree; no globbing.
   * Absolute paths inside the model are accepted; paths outside it are dropped, as in OMS.
   * Not used for a single-file model.
   */
  readonly ignorePaths?: readonly string[];
  /** Called after the walk, before any hashing, with what is about to be hashed. */
  readonly onScanned?: (totals: { readonly files: number; readonly bytes: number }) => void;
  /** Called as bytes are hashed, with the running total of bytes hashed so far. */
  readonly onProgress?: (bytesHashed: number) => void;
  /** How many files are hashed at once (default 4). Helps models of many small files. */
  readonly concurrency?: number;
}

/** Entries OMS skips by default, only at the model's top level (reference/oms.md §2.1). */
const DEFAULT_IGNORED = ['.git', '.gitattributes', '.github', '.gitignore'] as const;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
/** How long synchronous small-file hashing may hold the event loop before it yields. */
const YIELD_EVERY_MS = 10;
const DEFAULT_CONCURRENCY = 4;
// O_NOFOLLOW makes a file swapped for a symlink after the walk fail to open (ELOOP); O_NONBLOCK
// keeps a file swapped for a FIFO from blocking the open. Neither exists on Windows.
const OPEN_FLAGS = constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0);

interface PendingFile {
  readonly path: string;
  readonly absolutePath: string;
  /** What the walk saw (bigint: inode numbers may not fit a double, e.g. on overlayfs). */
  readonly stats: BigIntStats;
}

/**
 * Scans a model directory or single file and hashes it.
 *
 * Directory names come from the OS as bytes; a name that is not valid UTF-8 is rejected with
 * INVALID_PATH (it could not round-trip through a manifest). Names are kept as the OS returns
 * them, with no Unicode normalisation (macOS may hand back NFD).
 *
 * @throws CustodyError USAGE (path missing or bad option), SYMLINK_NOT_ALLOWED, INVALID_PATH,
 *   EMPTY_MODEL, or VERIFICATION_FAILED when a file changes while it is being hashed.
 */
export async function scanModel(path: string, options: ScanOptions = {}): Promise<LocalModel> {
  const concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
    throw new CustodyError('USAGE', 'concurrency must be a positive integer', { details: { concurrency } });
  }
  const root = nodePath.resolve(path);
  const rootStats = await lstatRoot(root);

  let pending: PendingFile[];
  let singleFile: boolean;
  if (rootStats.isFile()) {
    const name = nodePath.basename(root);
    assertSafePath(name);
    pending = [{ path: name, absolutePath: root, stats: rootStats }];
    singleFile = true;
  } else if (rootStats.isDirectory()) {
    pending = walkDirectory(root, toIgnoreSet(root, options.ignorePaths ?? []));
    singleFile = false;
  } else {
    throw notRegular(nodePath.basename(root));
  }
  if (pending.length === 0) {
    throw new CustodyError('EMPTY_MODEL', 'the model has no files', { details: { path: root } });
  }

  const ordered = [...pending].sort((a, b) => comparePaths(a.path, b.path));
  options.onScanned?.({ files: ordered.length, bytes: ordered.reduce((sum, f) => sum + Number(f.stats.size), 0) });

  const digests = await hashAll(ordered, concurrency, options.onProgress);
  const files: LocalFile[] = ordered.map((file, i) => ({
    path: file.path,
    size: Number(file.stats.size),
    sha256: digests[i] ?? '',
    absolutePath: file.absolutePath,
  }));
  const manifest = toManifest(files);
  return { root, singleFile, manifest, digest: manifestDigest(manifest), omsRootDigest: manifestOmsRoot(manifest), files };
}

/**
 * The model's OMS `predicate.resources` (name and digest) in canonical order. A single-file
 * model's resource is named `"."`, as the Python reference signer does (reference/oms.md §2.5).
 */
export function omsResourcesFor(model: LocalModel): { name: string; digest: string }[] {
  if (model.singleFile) return model.files.map((f) => ({ name: '.', digest: f.sha256 }));
  return model.files.map((f) => ({ name: f.path, digest: f.sha256 }));
}

async function lstatRoot(root: string): Promise<BigIntStats> {
  let stats: BigIntStats;
  try {
    stats = await lstat(root, { bigint: true });
  } catch (error) {
    if (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR')) {
      throw new CustodyError('USAGE', `no such file or directory: ${root}`, { cause: error, details: { path: root } });
    }
    throw error;
  }
  if (stats.isSymbolicLink()) throw symlinkError(nodePath.basename(root));
  return stats;
}

/** Normalises user ignore paths to manifest-style relative paths; drops paths outside the model. */
function toIgnoreSet(root: string, ignorePaths: readonly string[]): Set<string> {
  const ignored = new Set<string>(DEFAULT_IGNORED);
  for (const raw of ignorePaths) {
    const relative = nodePath.relative(root, nodePath.resolve(root, raw));
    if (relative === '' || relative === '..' || relative.startsWith(`..${nodePath.sep}`) || nodePath.isAbsolute(relative)) continue;
    ignored.add(relative.split(nodePath.sep).join('/'));
  }
  return ignored;
}

/**
 * Iterative depth-first walk. An ignored entry is skipped before it is even stat'ed, so nothing
 * beneath it (symlinks included) is met. Checking each entry's full relative path against the
 * set is enough to skip subtrees, because the walk never descends into a skipped directory.
 * The calls are synchronous: one libuv round trip per entry costs more than the lstat itself.
 */
function walkDirectory(root: string, ignored: ReadonlySet<string>): PendingFile[] {
  const files: PendingFile[] = [];
  const stack: { absolute: string; relative: string }[] = [{ absolute: root, relative: '' }];
  for (let dir = stack.pop(); dir !== undefined; dir = stack.pop()) {
    const names = readdirOrChanged(dir.absolute, dir.relative);
    for (const rawName of names) {
      if (!isUtf8(rawName)) {
        throw new CustodyError('INVALID_PATH', 'invalid file path: not valid UTF-8', {
          details: { path: `${dir.relative === '' ? '' : `${dir.relative}/`}${rawName.toString('utf8')}` },
        });
      }
      const name = rawName.toString('utf8');
      const relative = dir.relative === '' ? name : `${dir.relative}/${name}`;
      if (ignored.has(relative)) continue;
      assertSafePath(relative);
      const absolute = nodePath.join(dir.absolute, name);
      const stats = lstatOrChanged(absolute, relative);
      if (stats.isSymbolicLink()) throw symlinkError(relative);
      if (stats.isDirectory()) stack.push({ absolute, relative });
      else if (stats.isFile()) files.push({ path: relative, absolutePath: absolute, stats });
      else throw notRegular(relative);
    }
  }
  return files;
}

/** Hashes files with up to `concurrency` in flight; results are in the order of `files`. */
async function hashAll(files: readonly PendingFile[], concurrency: number, onProgress: ((bytes: number) => void) | undefined): Promise<string[]> {
  const results = new Array<string>(files.length);
  let next = 0;
  let hashed = 0;
  let failed = false;
  let lastYield = performance.now();
  const report = (bytes: number): void => {
    hashed += bytes;
    onProgress?.(hashed);
  };
  const worker = async (): Promise<void> => {
    // Reused buffers per worker: memory stays at concurrency × 2 chunks, whatever the file sizes;
    // the second is allocated only when a file is larger than one chunk.
    const buffers = new ReadBuffers();
    while (!failed && next < files.length) {
      const index = next++;
      const file = files[index];
      if (file === undefined) return;
      try {
        results[index] = await hashFile(file, buffers, report);
        // Small files hash synchronously; let the event loop run now and then (a large file's
        // reads, progress output, an embedding program) rather than once at the end of the walk.
        if (performance.now() - lastYield > YIELD_EVERY_MS) {
          await yieldToEventLoop();
          lastYield = performance.now();
        }
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  const workers = Array.from({ length: Math.min(concurrency, files.length) }, () => worker());
  await Promise.all(workers);
  return results;
}

/**
 * Hashes one file through a handle, guarding against the file changing after the walk (TOCTOU):
 * the opened handle must be the same regular file the walk saw (device, inode, size), yield
 * exactly that many bytes, and be unchanged (size, mtime) when the read is done.
 */
async function hashFile(file: PendingFile, buffers: ReadBuffers, report: (bytes: number) => void): Promise<string> {
  // A file that fits one buffer is read with synchronous calls: each asynchronous call is a round
  // trip through libuv's pool, and for small files those hand-offs (five per file) cost more than
  // the reads themselves. `hashAll` yields to the event loop every few milliseconds.
  if (file.stats.size < BigInt(buffers.first.length)) return hashSmallFile(file, buffers.first, report);
  let handle: FileHandle;
  try {
    handle = await open(file.absolutePath, OPEN_FLAGS);
  } catch (error) {
    throw openError(file, error);
  }
  let pending: Promise<{ bytesRead: number }> | undefined;
  try {
    const before = await handle.stat({ bigint: true });
    checkOpened(file, before);
    const hash = createHash('sha256');
    const expected = Number(file.stats.size);
    // A file larger than one buffer is read into one buffer while the other is hashed: reading
    // and hashing in turn would leave the main thread idle during every read.
    let reading: Buffer = buffers.first;
    let spare: Buffer | undefined = expected >= reading.length ? buffers.second() : undefined;
    let total = 0;
    pending = handle.read(reading, 0, reading.length, 0);
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > expected) throw changedWhileHashing(file.path);
      const full = reading;
      if (spare !== undefined) {
        reading = spare;
        spare = full;
        pending = handle.read(reading, 0, reading.length, total);
        hash.update(full.subarray(0, bytesRead));
      } else {
        hash.update(full.subarray(0, bytesRead));
        pending = handle.read(reading, 0, reading.length, total);
      }
      report(bytesRead);
    }
    checkDone(file, before, await handle.stat({ bigint: true }), total);
    return hash.digest('hex');
  } finally {
    // A read still in flight when a check failed must finish before its handle closes.
    await pending?.catch(() => undefined);
    await handle.close();
  }
}

/** `hashFile` for a file smaller than `buffer`, with synchronous reads and the same checks. */
function hashSmallFile(file: PendingFile, buffer: Buffer, report: (bytes: number) => void): string {
  let fd: number;
  try {
    fd = openSync(file.absolutePath, OPEN_FLAGS);
  } catch (error) {
    throw openError(file, error);
  }
  try {
    const before = fstatSync(fd, { bigint: true });
    checkOpened(file, before);
    const hash = createHash('sha256');
    let total = 0;
    for (;;) {
      // Reading past the expected size shows a file that grew; the buffer has room for it.
      const bytesRead = readSync(fd, buffer, 0, buffer.length, total);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > Number(file.stats.size)) throw changedWhileHashing(file.path);
      hash.update(buffer.subarray(0, bytesRead));
      report(bytesRead);
    }
    checkDone(file, before, fstatSync(fd, { bigint: true }), total);
    return hash.digest('hex');
  } finally {
    closeSync(fd);
  }
}

function openError(file: PendingFile, error: unknown): unknown {
  if (hasCode(error, 'ELOOP')) return symlinkError(file.path);
  if (hasCode(error, 'ENOENT')) return changedWhileHashing(file.path, error);
  return error;
}

/** The opened file must be the regular file the walk saw (device, inode, size). */
function checkOpened(file: PendingFile, opened: BigIntStats): void {
  if (!opened.isFile()) throw notRegular(file.path);
  if (opened.dev !== file.stats.dev || opened.ino !== file.stats.ino || opened.size !== file.stats.size) {
    throw changedWhileHashing(file.path);
  }
}

/** Exactly the expected bytes were read and the file is unchanged (size, mtime) since it was opened. */
function checkDone(file: PendingFile, before: BigIntStats, after: BigIntStats, total: number): void {
  if (total !== Number(file.stats.size) || !sameContentStamp(before, after)) throw changedWhileHashing(file.path);
}

/** A worker's read buffers: the first always, the second once a file needs it. */
class ReadBuffers {
  readonly first = Buffer.allocUnsafe(READ_CHUNK_BYTES);
  private other: Buffer | undefined;

  second(): Buffer {
    this.other ??= Buffer.allocUnsafe(READ_CHUNK_BYTES);
    return this.other;
  }
}

function sameContentStamp(a: BigIntStats, b: BigIntStats): boolean {
  return a.size === b.size && a.mtimeNs === b.mtimeNs;
}

function readdirOrChanged(absolute: string, relative: string): Buffer[] {
  try {
    return readdirSync(absolute, { encoding: 'buffer' });
  } catch (error) {
    // A directory that vanished or was swapped for a file after we saw it.
    if (relative !== '' && (hasCode(error, 'ENOENT') || hasCode(error, 'ENOTDIR'))) throw changedWhileHashing(relative, error);
    throw error;
  }
}

function lstatOrChanged(absolute: string, relative: string): BigIntStats {
  try {
    return lstatSync(absolute, { bigint: true });
  } catch (error) {
    if (hasCode(error, 'ENOENT')) throw changedWhileHashing(relative, error);
    throw error;
  }
}

function symlinkError(path: string): CustodyError {
  return new CustodyError('SYMLINK_NOT_ALLOWED', `symlinks are not allowed in a model: ${path}`, { details: { path } });
}

function notRegular(path: string): CustodyError {
  return new CustodyError('INVALID_PATH', `not a regular file or directory: ${path}`, { details: { path } });
}

function changedWhileHashing(path: string, cause?: unknown): CustodyError {
  return new CustodyError('VERIFICATION_FAILED', `file changed while hashing: ${path}`, cause === undefined ? { details: { path } } : { cause, details: { path } });
}

function hasCode(error: unknown, code: string): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === code;
}
