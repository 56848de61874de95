/**
 * The state half of `admin verify-store`: the stored versions must be exactly what the log's
 * `version.registered` events say (one event per version row, same model, number, digest, OMS
 * root, file count, total size and annotations digest; no event without a row), each version's
 * files must hash to its manifest digest (SPEC §4.1), and every blob they reference must exist
 * and hash to its address. Later state (aliases, keys, policies) gets its checks here too.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../crypto/canonical-json.js';
import { sha256Hex } from '../domain/digest.js';
import { manifestDigest, manifestOmsRoot, toManifest, totalSize, type ManifestFile } from '../domain/manifest.js';
import type { BlobStore } from '../store/blob-store.js';
import type { MetadataReader, VersionRecord } from '../store/metadata-store.js';
import { forEachLimited } from './for-each-limited.js';
import type { LoggedRegistration } from './store-log-check.js';
import { atIndex, atRecord, describeError, type ReportProblem } from './store-problems.js';

const PAGE = 1000;
const BLOB_CONCURRENCY = 4;

/** A blob some version references: its expected size and one file that names it. */
export interface BlobReference {
  readonly size: number;
  readonly file: string;
}

export interface StateCheckResult {
  readonly models: number;
  readonly versions: number;
  readonly files: number;
  /** Blobs referenced by the versions, by SHA-256 hex. */
  readonly blobs: ReadonlyMap<string, BlobReference>;
}

/** Compares every version row (and its files) with the logged registrations. */
export async function checkVersions(store: MetadataReader, registrations: readonly LoggedRegistration[], report: ReportProblem): Promise<StateCheckResult> {
  checkRegistrationOrder(registrations, report);
  const unused = new Set(registrations);
  const byNumber = new Map<string, LoggedRegistration[]>();
  for (const r of registrations) byNumber.set(`${r.model}@v${r.number}`, [...(byNumber.get(`${r.model}@v${r.number}`) ?? []), r]);
  const blobs = new Map<string, BlobReference>();
  const unmatched: VersionRecord[] = [];
  let models = 0;
  let versions = 0;
  let files = 0;

  for await (const { model, rows } of listAllVersions(store, report)) {
    models += 1;
    for (const row of rows) {
      versions += 1;
      const record = `${model}@v${row.number}`;
      const events = byNumber.get(record) ?? [];
      const [event, ...others] = events;
      if (others.length > 0) {
        report(atIndex('version-event-duplicate', others[0]?.index ?? 0, `${record} is registered by log entries ${events.map((e) => e.index).join(', ')}`, record));
      }
      events.forEach((e) => unused.delete(e));
      if (event === undefined) unmatched.push(row);
      else compareWithEvent(row, event, record, report);
      files += await checkFiles(store, row, record, blobs, report);
    }
  }

  for (const row of unmatched) {
    const model = `${row.namespace}/${row.name}`;
    const record = `${model}@v${row.number}`;
    // An edited number still names its registration by digest: report the pair, not two orphans.
    const event = [...unused].find((e) => e.model === model && e.digest === row.digest);
    if (event === undefined) {
      report(atRecord('version-unlogged', record, `version ${record} (${row.digest}) has no version.registered event in the log`));
      continue;
    }
    unused.delete(event);
    compareWithEvent(row, event, record, report);
  }
  for (const event of unused) {
    const record = `${event.model}@v${event.number}`;
    report(atIndex('version-event-orphaned', event.index, `log entry ${event.index} registers ${record} (${event.digest}) but no such version is stored`, record));
  }
  return { models, versions, files, blobs };
}

/** Streams blobs through SHA-256; reports any that are missing, of the wrong size, or corrupt. */
export async function checkBlobs(blobs: BlobStore, referenced: ReadonlyMap<string, BlobReference>, report: ReportProblem): Promise<number> {
  let bytes = 0;
  const found: { sha: string; problem: Parameters<ReportProblem>[0] }[] = [];
  await forEachLimited([...referenced], BLOB_CONCURRENCY, async ([sha, ref]) => {
    const record = `sha256:${sha}`;
    const add = (problem: Parameters<ReportProblem>[0]): void => {
      found.push({ sha, problem });
    };
    try {
      const info = await blobs.stat(sha);
      if (info === undefined) {
        add(atRecord('blob-missing', record, `blob ${record} (${ref.file}) is missing`));
        return;
      }
      if (info.size !== ref.size) add(atRecord('blob-size-mismatch', record, `blob ${record} (${ref.file}) has ${info.size} bytes, not ${ref.size}`));
      const hash = createHash('sha256');
      for await (const chunk of await blobs.read(sha)) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
      }
      const actual = hash.digest('hex');
      if (actual !== sha) add(atRecord('blob-corrupt', record, `blob ${record} (${ref.file}) hashes to sha256:${actual}`));
    } catch (error) {
      add(atRecord('blob-unreadable', record, `blob ${record} (${ref.file}) cannot be read: ${describeError(error)}`));
    }
  });
  found.sort((a, b) => a.sha.localeCompare(b.sha)).forEach(({ problem }) => {
    report(problem);
  });
  return bytes;
}

/** Every model's version rows, page by page; a page that cannot be read is reported and skipped. */
async function* listAllVersions(store: MetadataReader, report: ReportProblem): AsyncGenerator<{ model: string; rows: readonly VersionRecord[] }> {
  let cursor: string | undefined;
  do {
    let page;
    try {
      page = await store.listModels({ limit: PAGE, ...(cursor === undefined ? {} : { cursor }) });
    } catch (error) {
      report(atRecord('version-unreadable', 'models', `the model list cannot be read: ${describeError(error)}`));
      return;
    }
    for (const { namespace, name } of page.items) {
      const model = `${namespace}/${name}`;
      let versionCursor: string | undefined;
      do {
        try {
          const versions = await store.listVersions(namespace, name, { limit: PAGE, ...(versionCursor === undefined ? {} : { cursor: versionCursor }) });
          yield { model, rows: versions.items };
          versionCursor = versions.nextCursor ?? undefined;
        } catch (error) {
          report(atRecord('version-unreadable', model, `the versions of ${model} cannot be read: ${describeError(error)}`));
          versionCursor = undefined;
        }
      } while (versionCursor !== undefined);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
}

/** Registrations of one model must come in increasing version number order. */
function checkRegistrationOrder(registrations: readonly LoggedRegistration[], report: ReportProblem): void {
  const last = new Map<string, number>();
  for (const r of registrations) {
    const previous = last.get(r.model);
    if (previous !== undefined && r.number <= previous) {
      report(atIndex('version-event-order', r.index, `log entry ${r.index} registers ${r.model}@v${r.number} after v${previous} was registered`, `${r.model}@v${r.number}`));
    }
    last.set(r.model, Math.max(previous ?? 0, r.number));
  }
}

function compareWithEvent(row: VersionRecord, event: LoggedRegistration, record: string, report: ReportProblem): void {
  const stored = {
    number: row.number,
    digest: row.digest,
    omsRootDigest: row.omsRootDigest,
    fileCount: row.fileCount,
    totalSize: row.totalSize,
    annotationsDigest: annotationsDigest(row.annotations),
  };
  const differences = (Object.keys(stored) as (keyof typeof stored)[])
    .filter((field) => stored[field] !== event[field])
    .map((field) => `${field} ${String(stored[field])} (log: ${String(event[field])})`);
  if (differences.length > 0) {
    report(atIndex('version-mismatch', event.index, `version ${record} differs from its registration at log entry ${event.index}: ${differences.join(', ')}`, record));
  }
}

/** Recomputes the manifest digest, OMS root, count and size from the stored files. */
async function checkFiles(store: MetadataReader, row: VersionRecord, record: string, blobs: Map<string, BlobReference>, report: ReportProblem): Promise<number> {
  let files: readonly ManifestFile[];
  try {
    files = await store.getVersionFiles(row.id);
  } catch (error) {
    report(atRecord('version-unreadable', record, `the files of ${record} cannot be read: ${describeError(error)}`));
    return 0;
  }
  for (const f of files) if (!blobs.has(f.sha256)) blobs.set(f.sha256, { size: f.size, file: `${record}:${f.path}` });
  const reasons: string[] = [];
  try {
    const manifest = toManifest(files);
    const digest = manifestDigest(manifest);
    const omsRoot = manifestOmsRoot(manifest);
    if (digest !== row.digest) reasons.push(`hash to ${digest}, not the version's digest ${row.digest}`);
    if (omsRoot !== row.omsRootDigest) reasons.push(`have OMS root ${omsRoot}, not ${row.omsRootDigest}`);
    if (files.length !== row.fileCount) reasons.push(`are ${files.length} files, not ${row.fileCount}`);
    if (totalSize(manifest) !== row.totalSize) reasons.push(`total ${totalSize(manifest)} bytes, not ${row.totalSize}`);
  } catch (error) {
    reasons.push(`are not a valid manifest: ${describeError(error)}`);
  }
  if (reasons.length > 0) report(atRecord('version-files-mismatch', record, `the stored files of ${record} ${reasons.join('; ')}`));
  return files.length;
}

/** The digest a registration states for the annotations (SPEC §4.4), or null without any. */
function annotationsDigest(annotations: unknown): string | null {
  if (annotations === null || annotations === undefined) return null;
  try {
    return `sha256:${sha256Hex(canonicalJson(annotations))}`;
  } catch {
    return 'unhashable annotations';
  }
}
