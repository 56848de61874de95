/**
 * What `custody admin verify-store` reports (issue 3 item 7): one problem per thing in the stores
 * that does not match the transparency log or its own content address, each naming the log index
 * or the record involved so an operator can find it. Shared by the checks in `store-*-check.ts`.
 */

export type StoreProblemKind =
  // the log itself
  | 'log-entry-missing'
  | 'log-entry-unreadable'
  | 'log-entry-beyond-head'
  | 'leaf-hash-mismatch'
  | 'leaf-not-canonical'
  | 'leaf-too-large'
  | 'event-malformed'
  | 'entry-columns-mismatch'
  | 'tree-hash-missing'
  | 'tree-hash-mismatch'
  | 'checkpoint-missing'
  | 'checkpoint-invalid'
  | 'checkpoint-size-mismatch'
  | 'root-mismatch'
  | 'log-key-unavailable'
  // state against events
  | 'version-unreadable'
  | 'version-unlogged'
  | 'version-mismatch'
  | 'version-event-duplicate'
  | 'version-event-orphaned'
  | 'version-event-order'
  | 'version-files-mismatch'
  // promotion state against events (aliases, decisions, policies, quarantines)
  | 'promotion-unreadable'
  | 'alias-missing'
  | 'alias-unlogged'
  | 'alias-mismatch'
  | 'decision-missing'
  | 'decision-unlogged'
  | 'decision-mismatch'
  | 'policy-missing'
  | 'policy-unlogged'
  | 'policy-mismatch'
  | 'policy-document-mismatch'
  | 'quarantine-missing'
  | 'quarantine-unlogged'
  | 'quarantine-mismatch'
  // blobs
  | 'blob-missing'
  | 'blob-size-mismatch'
  | 'blob-corrupt'
  | 'blob-unreadable';

export interface StoreProblem {
  readonly kind: StoreProblemKind;
  /** The log entry involved, when there is one. */
  readonly index?: number;
  /**
   * The stored record involved: `team/model@v3`, `sha256:<hex>`, `checkpoint 12`, `log_hashes id 7`,
   * `team/model@staging` (an alias), `decision <id>`, `policy staging #2`, `team/model@v3 in staging`
   * (a quarantine).
   */
  readonly record?: string;
  readonly message: string;
}

/** Collects problems; the checks only ever add to it. */
export type ReportProblem = (problem: StoreProblem) => void;

/** A problem about log entry `index`. */
export function atIndex(kind: StoreProblemKind, index: number, message: string, record?: string): StoreProblem {
  return record === undefined ? { kind, index, message } : { kind, index, record, message };
}

/** A problem about a stored record. */
export function atRecord(kind: StoreProblemKind, record: string, message: string): StoreProblem {
  return { kind, record, message };
}

/** An error's message for a problem line: never a stack, never more than one line. */
export function describeError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return (message.split('\n')[0] ?? '').slice(0, 300);
}
