/**
 * The log half of `admin verify-store`: reads every stored entry of the transparency log, checks
 * that each leaf is canonical JSON (RFC 8785) of an event and hashes to its stored leaf hash,
 * recomputes every stored subtree hash from the leaves and compares it with the stored one, and
 * checks the recomputed root against the latest checkpoint, whose signature must verify with the
 * log key. Entries are streamed in pages; only the tree's frontier is kept in memory.
 * Tree arithmetic: RFC 6962 §2.1 via `log/stored-hashes.ts`; checkpoints: https://c2sp.org/tlog-checkpoint.
 */
import { splitModel } from './transparency-log.js';
import { z } from 'zod';
import { canonicalJson } from '../crypto/canonical-json.js';
import { CustodyError } from '../domain/errors.js';
import { LOG_EVENT_TYPES, MAX_LEAF_BYTES, type LogEventType } from '../domain/log-event.js';
import { parseCheckpoint, verifyCheckpoint, type Checkpoint } from '../log/checkpoint.js';
import { EMPTY_ROOT, HASH_SIZE, hashLeaf } from '../log/merkle.js';
import type { Verifier } from '../log/signed-note.js';
import { storedHashCount, storedHashIndex } from '../log/stored-hashes.js';
import type { LogEntryRecord, MetadataReader } from '../store/metadata-store.js';
import { FrontierTree } from '../log/frontier-tree.js';
import { atIndex, atRecord, describeError, type ReportProblem } from './store-problems.js';

/** Most entries one `getLogEntries` call returns. */
const PAGE = 1000;

/** A `version.registered` event as the log states it (SPEC §4.4). */
export interface LoggedRegistration {
  readonly index: number;
  readonly model: string;
  readonly number: number;
  readonly digest: string;
  readonly omsRootDigest: string;
  readonly fileCount: number;
  readonly totalSize: number;
  readonly annotationsDigest: string | null;
}

/** A readable, canonical, well-formed event as parsed from its leaf (its type-specific fields unchecked). */
export type LoggedEvent = Readonly<Record<string, unknown>> & { readonly type: LogEventType; readonly time: string };

/** Sees every such event in log order, so other checks can replay the state the log implies. */
export type LoggedEventObserver = (index: number, event: LoggedEvent) => void;

/** The log's verifier (from the log key or a pinned verifier key), or why there is none. */
export type LogVerifier = Verifier | { readonly unavailable: string };

export interface LogCheckResult {
  readonly registrations: readonly LoggedRegistration[];
  readonly entries: number;
  readonly treeHashes: number;
  /** Size of the latest checkpoint, or null when there is none. */
  readonly checkpointSize: number | null;
}

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const eventSchema = z.looseObject({ v: z.literal(1), type: z.enum(LOG_EVENT_TYPES), time: z.string().min(1), model: z.string().optional() });
const registrationSchema = z.looseObject({
  model: z.string().min(1),
  number: count.min(1),
  digest,
  omsRootDigest: digest,
  fileCount: count,
  totalSize: count,
  annotationsDigest: digest.optional(),
});

/**
 * Runs every log check, reporting problems; throws only when the store itself cannot be read.
 * `observe` is shown each well-formed event in log order.
 */
export async function checkStoredLog(store: MetadataReader, logVerifier: LogVerifier, report: ReportProblem, observe?: LoggedEventObserver): Promise<LogCheckResult> {
  const size = await store.logSize();
  const checkpoint = await readLatestCheckpoint(store, size, logVerifier, report);
  const registrations: LoggedRegistration[] = [];
  const tree = new FrontierTree();
  const mismatched = new Set<number>();
  let rootAtCheckpoint: Buffer | undefined = checkpoint?.size === 0 ? Buffer.from(EMPTY_ROOT) : undefined;
  let missingFrom: number | null = null;
  const flushMissing = (end: number): void => {
    if (missingFrom === null) return;
    const what = end - missingFrom === 1 ? `log entry ${missingFrom} is missing` : `log entries ${missingFrom}–${end - 1} are missing`;
    report(atIndex('log-entry-missing', missingFrom, `${what} (the log head says ${size} entries)`));
    missingFrom = null;
  };

  for (let start = 0; start < size; ) {
    let end = Math.min(start + PAGE, size);
    // Stop a page at the checkpoint's size so the root there can be taken.
    if (checkpoint !== undefined && checkpoint.size > start && checkpoint.size < end) end = checkpoint.size;
    const entries = await readEntries(store, start, end, report);
    const stored = await readStoredHashes(store, storedHashCount(start), storedHashCount(end), report);
    const leafHashes: Buffer[] = [];
    for (let index = start; index < end; index++) {
      const entry = entries.get(index);
      if (entry !== undefined && entry !== 'unreadable') {
        flushMissing(index);
        leafHashes.push(checkEntry(entry, report, registrations, observe));
        continue;
      }
      if (entry === undefined) missingFrom ??= index;
      else flushMissing(index);
      // Without its leaf, an entry enters the tree as the stored tree says, so only the gap is reported.
      leafHashes.push(stored.get(storedHashIndex(0, index)) ?? Buffer.alloc(HASH_SIZE));
    }
    for (const hash of await tree.append(leafHashes)) {
      const expected = stored.get(hash.id);
      if (expected === undefined || expected.equals(hash.hash)) continue;
      mismatched.add(hash.id);
      if (hash.level === 0) {
        report(atIndex('tree-hash-mismatch', hash.index, `the stored tree hash of log entry ${hash.index} is not the hash of its leaf (entry edited, moved or reordered)`));
      } else if (!mismatched.has(storedHashIndex(hash.level - 1, 2 * hash.index)) && !mismatched.has(storedHashIndex(hash.level - 1, 2 * hash.index + 1))) {
        const first = hash.index * 2 ** hash.level;
        report(atRecord('tree-hash-mismatch', `log_hashes id ${hash.id}`, `the stored hash of entries ${first}–${first + 2 ** hash.level - 1} does not combine its stored children`));
      }
    }
    if (tree.size === checkpoint?.size) rootAtCheckpoint = await tree.root();
    start = end;
  }
  flushMissing(size);
  await reportEntriesBeyondHead(store, size, report);

  if (checkpoint !== undefined && rootAtCheckpoint !== undefined && !rootAtCheckpoint.equals(checkpoint.rootHash)) {
    report(
      atRecord(
        'root-mismatch',
        `checkpoint ${checkpoint.size}`,
        `the stored entries recompute to root ${rootAtCheckpoint.toString('hex')}, not the checkpoint's ${checkpoint.rootHash.toString('hex')}`,
      ),
    );
  }
  return { registrations, entries: size, treeHashes: storedHashCount(size), checkpointSize: checkpoint?.size ?? null };
}

/**
 * The latest checkpoint, verified with the log key when there is one. A checkpoint that does not
 * verify is still parsed (unverified) so its root can be compared, and reported.
 */
async function readLatestCheckpoint(
  store: MetadataReader,
  size: number,
  logVerifier: LogVerifier,
  report: ReportProblem,
): Promise<{ size: number; rootHash: Buffer } | undefined> {
  const latest = await store.getLatestCheckpoint();
  if ('unavailable' in logVerifier) report(atRecord('log-key-unavailable', 'log key', `checkpoint signatures not verified: ${logVerifier.unavailable}`));
  if (latest === undefined) {
    if (size > 0) report(atRecord('checkpoint-missing', 'checkpoints', `the log has ${size} entries but no checkpoint`));
    return undefined;
  }
  const record = `checkpoint ${latest.size}`;
  // The note's text ends at the blank line before its signatures (https://c2sp.org/signed-note).
  const unverified = (): Checkpoint => parseCheckpoint(latest.note.slice(0, latest.note.indexOf('\n\n') + 1));
  let parsed: Checkpoint;
  try {
    parsed = 'unavailable' in logVerifier ? unverified() : verifyCheckpoint(latest.note, logVerifier);
  } catch (error) {
    report(atRecord('checkpoint-invalid', record, describeError(error)));
    try {
      parsed = unverified();
    } catch {
      return undefined;
    }
  }
  const noteSize = Number(parsed.size);
  if (noteSize !== latest.size) report(atRecord('checkpoint-size-mismatch', record, `the checkpoint is stored as size ${latest.size} but its note says ${noteSize}`));
  if (noteSize !== size) report(atRecord('checkpoint-size-mismatch', record, `the latest checkpoint covers ${noteSize} entries but the log head says ${size}`));
  return noteSize <= size ? { size: noteSize, rootHash: parsed.rootHash } : undefined;
}

/** Entries `start <= index < end` by index; a page with a corrupt row is re-read entry by entry. */
async function readEntries(store: MetadataReader, start: number, end: number, report: ReportProblem): Promise<Map<number, LogEntryRecord | 'unreadable'>> {
  const entries = new Map<number, LogEntryRecord | 'unreadable'>();
  try {
    for (const entry of await store.getLogEntries(start, end)) entries.set(entry.index, entry);
    return entries;
  } catch (error) {
    if (!isCorruptRow(error)) throw error;
  }
  for (let index = start; index < end; index++) {
    try {
      const [entry] = await store.getLogEntries(index, index + 1);
      if (entry !== undefined) entries.set(index, entry);
    } catch (error) {
      if (!isCorruptRow(error)) throw error;
      entries.set(index, 'unreadable');
      const column = error.details?.column;
      report(atIndex('log-entry-unreadable', index, `log entry ${index} cannot be read back: ${describeError(error)}${typeof column === 'string' ? ` (column ${column})` : ''}`));
    }
  }
  return entries;
}

/** Stored hashes with ids `from <= id < to`; missing or corrupt ones are reported and left out. */
async function readStoredHashes(store: MetadataReader, from: number, to: number, report: ReportProblem): Promise<Map<number, Buffer>> {
  const ids = Array.from({ length: to - from }, (_, i) => from + i);
  const hashes = new Map<number, Buffer>();
  try {
    (await store.readLogHashes(ids)).forEach((hash, i) => hashes.set(from + i, hash));
    return hashes;
  } catch (error) {
    if (!isCorruptRow(error)) throw error;
  }
  for (const id of ids) {
    try {
      const [hash] = await store.readLogHashes([id]);
      if (hash !== undefined) hashes.set(id, hash);
    } catch (error) {
      if (!isCorruptRow(error)) throw error;
      report(atRecord('tree-hash-missing', `log_hashes id ${id}`, `stored tree hash ${id} is missing or corrupt`));
    }
  }
  return hashes;
}

/** Checks one entry's leaf, hash, event shape and index columns; returns the leaf's hash. */
function checkEntry(entry: LogEntryRecord, report: ReportProblem, registrations: LoggedRegistration[], observe: LoggedEventObserver | undefined): Buffer {
  const { index, leaf } = entry;
  const bytes = Buffer.from(leaf, 'utf8');
  const leafHash = hashLeaf(bytes);
  if (bytes.length > MAX_LEAF_BYTES) report(atIndex('leaf-too-large', index, `log entry ${index} is ${bytes.length} bytes, over ${MAX_LEAF_BYTES}`));
  if (leafHash.toString('hex') !== entry.leafHash) {
    report(atIndex('leaf-hash-mismatch', index, `log entry ${index} hashes to ${leafHash.toString('hex')}, not its stored leaf hash ${entry.leafHash}`));
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(leaf);
    if (canonicalJson(parsed) !== leaf) throw new Error('not canonical');
  } catch {
    report(atIndex('leaf-not-canonical', index, `log entry ${index} is not RFC 8785 canonical JSON`));
    return leafHash;
  }
  const event = eventSchema.safeParse(parsed);
  if (!event.success) {
    report(atIndex('event-malformed', index, `log entry ${index} is not a log event (${event.error.issues[0]?.path.join('.') ?? 'shape'})`));
    return leafHash;
  }
  const [namespace, name] = splitModel(event.data.model);
  if (entry.type !== event.data.type || entry.time !== event.data.time || entry.namespace !== namespace || entry.name !== name) {
    report(atIndex('entry-columns-mismatch', index, `the type, time or model columns of log entry ${index} differ from its event`));
  }
  observe?.(index, event.data);
  if (event.data.type === 'version.registered') {
    const fields = registrationSchema.safeParse(parsed);
    if (!fields.success) report(atIndex('event-malformed', index, `log entry ${index} is a version.registered event without valid ${fields.error.issues[0]?.path.join('.') ?? 'fields'}`));
    else registrations.push({ index, ...fields.data, annotationsDigest: fields.data.annotationsDigest ?? null });
  }
  return leafHash;
}

async function reportEntriesBeyondHead(store: MetadataReader, size: number, report: ReportProblem): Promise<void> {
  let first: number | undefined;
  try {
    first = (await store.getLogEntries(size, size + PAGE))[0]?.index;
  } catch (error) {
    if (!isCorruptRow(error)) throw error;
    first = size;
  }
  if (first !== undefined) report(atIndex('log-entry-beyond-head', first, `log entry ${first} is stored past the log head (size ${size})`));
}

/** The store's way of saying a row did not decode (or a stored hash is missing): INTERNAL. */
function isCorruptRow(error: unknown): error is CustodyError {
  return error instanceof CustodyError && error.code === 'INTERNAL';
}
