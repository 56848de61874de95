/**
 * The seed's verified metadata table (SPEC §2, §4.2): each value taken from a verified
 * attestation and naming the key that signed it; a value whose only attestations were
 * invalidated by a revocation is shown as invalid; annotations stay apart, unverified. A
 * provenance-derived value also lists the other valid attestations that say something else
 * (reference/ui-screens.md §2.2, "conflict: A says X, B says Y"). One pure function, so the API,
 * the CLI and the web UI render the same facts.
 */
import { canonicalJson } from '../crypto/canonical-json.js';
import { extractTrainingProvenance, SLSA_PROVENANCE_V1 } from '../domain/provenance.js';
import type { VersionRecord } from '../store/metadata-store.js';
import type { AttestationView } from './attestation-service.js';

export const VULNS_V01 = 'https://in-toto.io/attestation/vulns/v0.1';
export const VULNS_V02 = 'https://in-toto.io/attestation/vulns/v0.2';
export const TEST_RESULT_V01 = 'https://in-toto.io/attestation/test-result/v0.1';
export const RED_TEAM_V1 = 'https://custody.dev/attestation/red-team/v1';
export const OMS_SIGNATURE_V1 = 'https://model_signing/signature/v1.0';

export interface MetadataSource {
  readonly predicateType: string;
  readonly key: string;
  readonly keyId: string;
  readonly logIndex: number;
  readonly bundleDigest: string;
}

/** At most this many conflicts are listed per row (the newest). */
export const MAX_METADATA_CONFLICTS = 20;

/** Another valid attestation's value for a field, differing from the row's value. */
export interface MetadataConflict {
  readonly value: unknown;
  readonly source: MetadataSource;
}

export interface MetadataRow {
  readonly field: string;
  readonly value: unknown;
  /** verified: from a valid attestation; invalid: only from invalidated ones; missing: none says. */
  readonly status: 'verified' | 'invalid' | 'missing';
  readonly source: MetadataSource | null;
  readonly reason: string | null;
  /**
   * The other VALID attestations whose value differs from `value` (compared as RFC 8785
   * canonical JSON), newest first, one per distinct (value, signing key id), at most
   * {@link MAX_METADATA_CONFLICTS}. Only the provenance-derived fields (training_data_hash,
   * source_code_commit and the training rows) are compared: scans and test runs legitimately
   * differ between runs, so their rows, like rows without a conflict, carry `[]`. Invalidated
   * attestations never create a conflict.
   */
  readonly conflicts: readonly MetadataConflict[];
}

export interface VerifiedMetadata {
  /** The seed's seven fields, in the seed's order. */
  readonly seed: readonly MetadataRow[];
  /** Hyperparameters, builder, entry point, source repository, preprocessing, parents. */
  readonly training: readonly MetadataRow[];
  /** Free JSON from the pusher: never verified, never a fact for policy. */
  readonly annotations: unknown;
}

type Extractor = (view: AttestationView) => unknown;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function get(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return current;
}

function provenanceField(field: 'trainingData' | 'sourceCommit' | 'builderId' | 'entryPoint' | 'sourceRepository' | 'hyperparameters' | 'preprocessing' | 'parents'): Extractor {
  return (view) => {
    if (view.statement.predicateType !== SLSA_PROVENANCE_V1) return undefined;
    try {
      const value = extractTrainingProvenance(view.statement.predicate)[field];
      return Array.isArray(value) && value.length === 0 ? undefined : (value ?? undefined);
    } catch {
      return undefined;
    }
  };
}

function ofType(types: readonly string[], read: (predicate: Readonly<Record<string, unknown>>, view: AttestationView) => unknown): Extractor {
  return (view) => (types.includes(view.statement.predicateType) ? (read(view.statement.predicate, view) ?? undefined) : undefined);
}

function sourceOf(view: AttestationView): MetadataSource {
  return { predicateType: view.record.predicateType, key: view.record.keyName, keyId: view.record.keyId, logIndex: view.record.logIndex, bundleDigest: `sha256:${view.record.bundleDigest}` };
}

/** A value's comparison text: its canonical JSON, or (for what JCS refuses, e.g. too deep) its JSON. */
function comparable(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return JSON.stringify(value) ?? '';
  }
}

/**
 * The newest valid attestation's value, else the newest invalidated one's, else missing. With
 * `compare`, the older valid attestations that say something else become the row's conflicts.
 */
function rowFor(field: string, views: readonly AttestationView[], extract: Extractor, compare = false): MetadataRow {
  let found: { value: unknown; text: string; source: MetadataSource } | null = null;
  let invalid: MetadataRow | null = null;
  const conflicts: MetadataConflict[] = [];
  const seen = new Set<string>();
  for (const view of [...views].reverse()) {
    if (found !== null && (!compare || conflicts.length >= MAX_METADATA_CONFLICTS)) break;
    if (found !== null && !view.status.valid) continue;
    const value = extract(view);
    if (value === undefined) continue;
    if (!view.status.valid) {
      invalid ??= { field, value, status: 'invalid', source: sourceOf(view), reason: view.status.message, conflicts: [] };
    } else if (found === null) {
      found = { value, text: comparable(value), source: sourceOf(view) };
    } else {
      const text = comparable(value);
      const pair = JSON.stringify([text, view.record.keyId]);
      if (text === found.text || seen.has(pair)) continue;
      seen.add(pair);
      conflicts.push({ value, source: sourceOf(view) });
    }
  }
  if (found !== null) return { field, value: found.value, status: 'verified', source: found.source, reason: null, conflicts };
  return invalid ?? { field, value: null, status: 'missing', source: null, reason: 'no attestation states it', conflicts: [] };
}

/** The verified metadata of a version from its attestation views (in log order). */
export function verifiedMetadata(version: VersionRecord, views: readonly AttestationView[]): VerifiedMetadata {
  const valid = views.filter((v) => v.status.valid);
  const seed: MetadataRow[] = [
    rowFor('model_sha256', views, (v) => (v.statement.predicateType === OMS_SIGNATURE_V1 || v.statement.predicateType === SLSA_PROVENANCE_V1 ? version.digest : undefined)),
    rowFor('training_data_hash', views, provenanceField('trainingData'), true),
    rowFor('source_code_commit', views, provenanceField('sourceCommit'), true),
    rowFor(
      'vulnerability_scan_id',
      views,
      ofType([VULNS_V01, VULNS_V02], (p, view) => get(p, 'invocation', 'uri') ?? get(p, 'metadata', 'scanId') ?? `sha256:${view.record.bundleDigest}`),
    ),
    rowFor('sandbox_test_result', views, ofType([TEST_RESULT_V01], (p) => (typeof p['result'] === 'string' ? p['result'] : undefined))),
    {
      field: 'attestations',
      value: { valid: valid.length, total: views.length, predicateTypes: [...new Set(valid.map((v) => v.statement.predicateType))].sort() },
      status: valid.length > 0 ? 'verified' : views.length > 0 ? 'invalid' : 'missing',
      source: null,
      reason: null,
      conflicts: [],
    },
    rowFor('red_team_report_uri', views, ofType([RED_TEAM_V1], (p) => (typeof p['reportUri'] === 'string' ? p['reportUri'] : undefined))),
  ];
  const training: MetadataRow[] = [
    rowFor('hyperparameters', views, provenanceField('hyperparameters'), true),
    rowFor('builder_id', views, provenanceField('builderId'), true),
    rowFor('entry_point', views, provenanceField('entryPoint'), true),
    rowFor('source_repository', views, provenanceField('sourceRepository'), true),
    rowFor('preprocessing', views, provenanceField('preprocessing'), true),
    rowFor('parents', views, provenanceField('parents'), true),
  ];
  return { seed, training, annotations: version.annotations };
}
