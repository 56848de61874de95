/**
 * Lineage claims read from a version's annotations (SPEC §2: annotations are free JSON from the
 * pusher, always unverified; reference/ui-screens.md §2.3: an edge from an unsigned claim is
 * drawn dashed and labelled "claimed"). Only top-level keys of the annotations object count,
 * named as the seed's metadata table names the facts (SPEC §4.2), plus the short names the
 * version page's metadata table uses for the same rows:
 *
 * - training data: `training_data_hash` (the seed field) or `training_data`;
 * - source commit: `source_code_commit` (the seed field) or `source_commit`;
 * - base (parent) model: `base_model`, a reference `ns/name@sha256:<hex>` (anything else is an
 *   external model, shown but never looked up).
 *
 * Each value is a string or a list of strings; anything else (numbers, objects, over-long
 * strings) is ignored — the bytes are hostile. Values are normalised so a claim can be compared
 * with the verified value (`sha256:` digests and git commits in lowercase).
 */

/** Annotation keys read as training-data claims. */
export const TRAINING_DATA_KEYS = ['training_data_hash', 'training_data'] as const;
/** Annotation keys read as source-commit claims. */
export const SOURCE_COMMIT_KEYS = ['source_code_commit', 'source_commit'] as const;
/** Annotation keys read as base (parent) model claims. */
export const BASE_MODEL_KEYS = ['base_model'] as const;

const MAX_VALUE_LENGTH = 2048;
const MAX_VALUES_PER_KEY = 20;

/** One unsigned claim: the annotation key it came from and its normalised value. */
export interface LineageClaim {
  readonly key: string;
  readonly value: string;
}

/** What a version's annotations claim about its lineage. */
export interface LineageClaims {
  readonly trainingData: readonly LineageClaim[];
  readonly sourceCommit: readonly LineageClaim[];
  readonly baseModel: readonly LineageClaim[];
}

const SHA256 = /^(?:sha256:)?([0-9a-fA-F]{64})$/;
const GIT_COMMIT = /^[0-9a-fA-F]{40}(?:[0-9a-fA-F]{24})?$/;

/** A training-data value for comparison: a SHA-256 digest as `sha256:<lowercase hex>`, else trimmed. */
export function normaliseTrainingData(value: string): string {
  const trimmed = value.trim();
  const hex = SHA256.exec(trimmed)?.[1];
  return hex === undefined ? trimmed : `sha256:${hex.toLowerCase()}`;
}

/** A source-commit value for comparison: a git commit id in lowercase, else trimmed. */
export function normaliseCommit(value: string): string {
  const trimmed = value.trim();
  return GIT_COMMIT.test(trimmed) ? trimmed.toLowerCase() : trimmed;
}

function stringsOf(value: unknown): string[] {
  const list = Array.isArray(value) ? value.slice(0, MAX_VALUES_PER_KEY) : [value];
  return list.filter((v): v is string => typeof v === 'string' && v.trim().length > 0 && v.length <= MAX_VALUE_LENGTH);
}

function claimsOf(annotations: Readonly<Record<string, unknown>>, keys: readonly string[], normalise: (value: string) => string): LineageClaim[] {
  const seen = new Set<string>();
  const claims: LineageClaim[] = [];
  for (const key of keys) {
    if (!Object.prototype.hasOwnProperty.call(annotations, key)) continue;
    for (const raw of stringsOf(annotations[key])) {
      const value = normalise(raw);
      if (seen.has(value)) continue;
      seen.add(value);
      claims.push({ key, value });
    }
  }
  return claims;
}

/** The lineage claims in `annotations` (any JSON; a non-object claims nothing). */
export function lineageClaims(annotations: unknown): LineageClaims {
  if (typeof annotations !== 'object' || annotations === null || Array.isArray(annotations)) return { trainingData: [], sourceCommit: [], baseModel: [] };
  const record = annotations as Readonly<Record<string, unknown>>;
  return {
    trainingData: claimsOf(record, TRAINING_DATA_KEYS, normaliseTrainingData),
    sourceCommit: claimsOf(record, SOURCE_COMMIT_KEYS, normaliseCommit),
    baseModel: claimsOf(record, BASE_MODEL_KEYS, (v) => v.trim()),
  };
}
