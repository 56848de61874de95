/**
 * `custody admin verify-store` (issue 3 item 7): an offline audit of the stores against the
 * transparency log, for the insider who edits the database or the blob directory directly. It
 * recomputes every leaf, the stored tree and the root, checks the latest checkpoint's signature,
 * checks that the stored versions are exactly what the log's events say, and so are the aliases,
 * decisions, policies and quarantines (issue 6), and re-hashes every referenced blob. It reads
 * through the store and blob seams only and never writes; run it with the server stopped, or a
 * write landing mid-check shows up as a (false) problem.
 */
import type { BlobStore } from '../store/blob-store.js';
import type { MetadataReader } from '../store/metadata-store.js';
import { checkStoredLog, type LogVerifier } from './store-log-check.js';
import type { StoreProblem } from './store-problems.js';
import { checkPromotions } from './store-promotion-check.js';
import { PromotionReplay } from './store-promotion-replay.js';
import { checkBlobs, checkVersions } from './store-state-check.js';

export type { LogVerifier } from './store-log-check.js';
export type { StoreProblem, StoreProblemKind } from './store-problems.js';

export interface StoreVerifierInput {
  readonly metadata: MetadataReader;
  readonly blobs: BlobStore;
  /** Verifies checkpoint signatures: from the log key, or a pinned verifier key. */
  readonly logVerifier: LogVerifier;
}

/** What was checked. */
export interface StoreCounts {
  readonly logEntries: number;
  readonly treeHashes: number;
  /** Size of the latest checkpoint, or null when there is none. */
  readonly checkpointSize: number | null;
  readonly models: number;
  readonly versions: number;
  readonly files: number;
  readonly blobs: number;
  readonly blobBytes: number;
}

export interface StoreReport {
  /** Empty when the stores are consistent with the log. */
  readonly problems: readonly StoreProblem[];
  readonly counts: StoreCounts;
}

/**
 * Runs every check and returns all problems found (the checks go on past the first). Throws only
 * when a store cannot be read at all (connection lost, schema missing).
 */
export async function verifyStore(input: StoreVerifierInput): Promise<StoreReport> {
  const problems: StoreProblem[] = [];
  const report = (problem: StoreProblem): void => {
    problems.push(problem);
  };
  const promotions = new PromotionReplay(report);
  const log = await checkStoredLog(input.metadata, input.logVerifier, report, promotions.observe);
  // Entries the log check named: records tied to them are not reported a second time.
  const distrusted = new Set(problems.flatMap((p) => (p.index === undefined ? [] : [p.index])));
  const state = await checkVersions(input.metadata, log.registrations, report);
  await checkPromotions(input.metadata, promotions, { logSize: log.entries, distrusted }, report);
  const blobBytes = await checkBlobs(input.blobs, state.blobs, report);
  return {
    problems,
    counts: {
      logEntries: log.entries,
      treeHashes: log.treeHashes,
      checkpointSize: log.checkpointSize,
      models: state.models,
      versions: state.versions,
      files: state.files,
      blobs: state.blobs.size,
      blobBytes,
    },
  };
}
