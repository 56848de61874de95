/**
 * The files of a model as OMS sees them when signing or verifying: Custody's scanner
 * (`scanModel`: sha256, no symlinks, safe names, canonical order) with the OMS exclusions —
 * the top-level git paths unless told otherwise, the signature file, the user's and the
 * signature's recorded ignore paths — resolved against the model root (reference/oms.md §2.1).
 * Spec: ../../shared/reference/oms.md §2.1, §2.2; ../../shared/SPEC.md §4.1.
 */
import { lstat } from 'node:fs/promises';
import nodePath from 'node:path';
import { CustodyError, isCustodyError } from '../domain/errors.js';
import { comparePaths } from '../domain/manifest.js';
import { scanModel, type LocalModel } from '../sdk/local-model.js';
import { OMS_DEFAULT_IGNORE_PATHS } from './oms-statement.js';

export interface OmsModelFiles {
  /** Absolute path of the model directory or single file. */
  readonly root: string;
  readonly singleFile: boolean;
  /** Files in canonical order; for a single-file model, one entry named after the file. */
  readonly files: readonly { readonly path: string; readonly sha256: string }[];
  /** The scan itself, when it found files (absent for a model that only has git paths). */
  readonly model: LocalModel | null;
}

export interface OmsScanOptions {
  /** Paths to leave out: relative to the model root, or absolute; outside the model: dropped. */
  readonly ignorePaths?: readonly string[];
  /** Leave out the top-level git paths (default true, as `model_signing`). */
  readonly ignoreGitPaths?: boolean;
  /** Return an empty file list instead of throwing EMPTY_MODEL (a verifier reports the missing files). */
  readonly allowEmpty?: boolean;
  readonly onScanned?: (totals: { readonly files: number; readonly bytes: number }) => void;
  readonly onProgress?: (bytesHashed: number) => void;
}

/**
 * The model-relative POSIX form of each ignore path that lies inside the model (others dropped,
 * as OMS does), deduplicated and sorted. Nothing for a single-file model.
 */
export function relativeIgnorePaths(root: string, singleFile: boolean, ignorePaths: readonly string[]): string[] {
  if (singleFile) return [];
  const relative = new Set<string>();
  for (const raw of ignorePaths) {
    const rel = nodePath.relative(root, nodePath.resolve(root, raw));
    if (rel === '' || rel === '..' || rel.startsWith(`..${nodePath.sep}`) || nodePath.isAbsolute(rel)) continue;
    relative.add(rel.split(nodePath.sep).join('/'));
  }
  return [...relative].sort(comparePaths);
}

/**
 * Scans a model for OMS signing or verification.
 * @throws CustodyError as `scanModel` (USAGE, SYMLINK_NOT_ALLOWED, INVALID_PATH, EMPTY_MODEL
 *   unless `allowEmpty`, VERIFICATION_FAILED when a file changes while hashed).
 */
export async function scanOmsModel(modelPath: string, options: OmsScanOptions = {}): Promise<OmsModelFiles> {
  const root = nodePath.resolve(modelPath);
  const ignorePaths = options.ignorePaths ?? [];
  let model: LocalModel | null;
  try {
    model = await scanModel(root, {
      ignorePaths,
      ...(options.onScanned === undefined ? {} : { onScanned: options.onScanned }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  } catch (error) {
    if (!(isCustodyError(error) && error.code === 'EMPTY_MODEL')) throw error;
    model = null;
  }
  const singleFile = model?.singleFile ?? false;
  const files = (model?.files ?? []).map((f) => ({ path: f.path, sha256: f.sha256 }));
  if (options.ignoreGitPaths === false && !singleFile) {
    files.push(...(await scanGitPaths(root, new Set(relativeIgnorePaths(root, false, ignorePaths)))));
    files.sort((a, b) => comparePaths(a.path, b.path));
  }
  if (files.length === 0 && options.allowEmpty !== true) {
    throw new CustodyError('EMPTY_MODEL', 'the model has no files', { details: { path: root } });
  }
  return { root, singleFile, files, model };
}

/**
 * `scanModel` always skips the top-level git paths; with ignoreGitPaths off they are scanned on
 * their own and prefixed. Ignore paths beneath them are passed down. (A `.git` nested directly
 * inside `.git` would still be skipped; git never creates one.)
 */
async function scanGitPaths(root: string, ignored: ReadonlySet<string>): Promise<{ path: string; sha256: string }[]> {
  const found: { path: string; sha256: string }[] = [];
  for (const name of OMS_DEFAULT_IGNORE_PATHS) {
    if (ignored.has(name)) continue;
    const absolute = nodePath.join(root, name);
    try {
      await lstat(absolute);
    } catch {
      continue;
    }
    const below = [...ignored].filter((p) => p.startsWith(`${name}/`)).map((p) => p.slice(name.length + 1));
    let part: LocalModel;
    try {
      part = await scanModel(absolute, { ignorePaths: below });
    } catch (error) {
      if (isCustodyError(error) && error.code === 'EMPTY_MODEL') continue;
      throw error;
    }
    for (const f of part.files) found.push({ path: part.singleFile ? name : `${name}/${f.path}`, sha256: f.sha256 });
  }
  return found;
}
