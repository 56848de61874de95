/**
 * The version manifest (SPEC §4.1): a model's files `{path, size, sha256}` in canonical order,
 * its manifest digest (the version's identity, which binds names) and its OMS root digest (what
 * OpenSSF Model Signing signatures name as subject, which does not bind names).
 * Spec: ../../shared/SPEC.md §4.1, reference/oms.md §1.5 and §2.
 */
import { createHash } from 'node:crypto';
import { CustodyError } from './errors.js';
import { isSha256Hex, toDigest, type Digest } from './digest.js';

export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  /** Lowercase hex SHA-256 of the file's bytes. */
  readonly sha256: string;
}

export interface Manifest {
  /** Files in canonical order (UTF-8 byte order of their paths). */
  readonly files: readonly ManifestFile[];
}

export interface PathRules {
  /** Reject paths that differ only in case (`limits.caseInsensitivePaths`). */
  readonly caseInsensitive?: boolean;
}

const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
// C0 controls, DEL and C1 controls: never part of a model file name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Throws INVALID_PATH unless `path` is a relative POSIX path with no empty, `.` or `..`
 * segments, no backslash, no NUL or control character, and valid UTF-8.
 */
export function assertSafePath(path: string): void {
  const reject = (reason: string): never => {
    throw new CustodyError('INVALID_PATH', `invalid file path: ${reason}`, { details: { path: JSON.stringify(path).slice(0, 300) } });
  };
  if (typeof path !== 'string' || path.length === 0) reject('empty path');
  if (!path.isWellFormed()) reject('not valid UTF-8');
  if (CONTROL.test(path)) reject('contains a NUL or control character');
  if (path.includes('\\')) reject('contains a backslash');
  if (path.startsWith('/')) reject('absolute path');
  if (Buffer.byteLength(path, 'utf8') > MAX_PATH_BYTES) reject(`longer than ${MAX_PATH_BYTES} bytes`);
  for (const segment of path.split('/')) {
    if (segment === '') reject('empty segment (leading, trailing or double slash)');
    if (segment === '.' || segment === '..') reject(`"${segment}" segment`);
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) reject(`a segment is longer than ${MAX_SEGMENT_BYTES} bytes`);
  }
}

/** Canonical order: by path, comparing UTF-8 bytes (SPEC §4.1). */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

/**
 * Validates every entry and returns the manifest in canonical order. Throws INVALID_PATH,
 * DUPLICATE_PATH or VALIDATION_FAILED; never returns a partially checked manifest.
 */
export function toManifest(files: readonly ManifestFile[], rules: PathRules = {}): Manifest {
  const seen = new Set<string>();
  for (const file of files) {
    assertSafePath(file.path);
    if (!Number.isSafeInteger(file.size) || file.size < 0) {
      throw new CustodyError('VALIDATION_FAILED', 'file size must be a non-negative integer', { details: { path: file.path } });
    }
    if (!isSha256Hex(file.sha256)) {
      throw new CustodyError('INVALID_DIGEST', 'file digest must be 64 lowercase hex digits', { details: { path: file.path } });
    }
    // Upper case after NFC folds forms lower-casing keeps apart (final sigma ς vs σ); it is
    // slightly over-strict (ß collides with SS), which is the safe side.
    const key = rules.caseInsensitive === true ? file.path.normalize('NFC').toUpperCase() : file.path;
    if (seen.has(key)) {
      throw new CustodyError('DUPLICATE_PATH', rules.caseInsensitive === true ? 'two files differ only in case' : 'duplicate file path', {
        details: { path: file.path },
      });
    }
    seen.add(key);
  }
  const sorted = [...files].map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })).sort((a, b) => comparePaths(a.path, b.path));
  return { files: sorted };
}

/**
 * The manifest's canonical JSON: RFC 8785 JCS of `{"files":[{"digest","path","size"},…]}`. For
 * this shape JCS is exactly `JSON.stringify` with keys in that order and no whitespace.
 */
export function canonicalManifestJson(manifest: Manifest): string {
  return JSON.stringify({ files: manifest.files.map((f) => ({ digest: f.sha256, path: f.path, size: f.size })) });
}

/** The version digest: `sha256:` + SHA-256 of the canonical manifest JSON. */
export function manifestDigest(manifest: Manifest): Digest {
  return toDigest(createHash('sha256').update(canonicalManifestJson(manifest), 'utf8').digest('hex'));
}

/**
 * OMS root digest: SHA-256 over the raw 32-byte file digests concatenated in the given order
 * (reference/oms.md §1.5). No names, sizes or separators enter it.
 */
export function omsRootDigest(fileDigestsHex: readonly string[]): Digest {
  const hash = createHash('sha256');
  for (const hex of fileDigestsHex) hash.update(Buffer.from(hex, 'hex'));
  return toDigest(hash.digest('hex'));
}

/** OMS root of a manifest, in canonical order. */
export function manifestOmsRoot(manifest: Manifest): Digest {
  return omsRootDigest(manifest.files.map((f) => f.sha256));
}

export function totalSize(manifest: Manifest): number {
  return manifest.files.reduce((sum, f) => sum + f.size, 0);
}
