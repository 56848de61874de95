/**
 * The verified metadata table's conflicts (reference/ui-screens.md §2.2, "conflict: A says X, B
 * says Y"; SPEC §4.2–4.3): a provenance-derived row keeps the newest valid attestation's value and
 * lists every other valid attestation that says something else, newest first, one per (value,
 * key), at most 20; equal values, invalidated attestations and scan / test re-runs never conflict.
 * Pure: attestation views are built in the test.
 */
import { describe, expect, it } from 'vitest';
import type { Statement } from '../../src/crypto/in-toto-statement.js';
import type { AttestationView } from '../../src/service/attestation-service.js';
import { MAX_METADATA_CONFLICTS, verifiedMetadata, type MetadataRow, type VerifiedMetadata } from '../../src/service/verified-metadata.js';
import type { VersionRecord } from '../../src/store/metadata-store.js';
import { provenancePredicate as basePredicate, SLSA, TEST_RESULT } from '../support/trust-fixtures.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;
const VERSION: VersionRecord = {
  id: 'v1',
  namespace: 'fraud',
  name: 'detector',
  number: 1,
  digest: DIGEST,
  omsRootDigest: DIGEST,
  singleFile: true,
  fileCount: 1,
  totalSize: 64,
  annotations: null,
  registeredAt: '2026-01-01T00:00:00.000Z',
  registeredBy: 'admin',
};

let nextIndex = 0;

/** A §4.3 training provenance predicate (the fixtures' one) with this training data, entry point and hyperparameters. */
function provenancePredicate(options: { trainingData?: string; entryPoint?: string; hyperparameters?: Record<string, unknown> }): Record<string, unknown> {
  const predicate = basePredicate(options.trainingData === undefined ? {} : { trainingData: options.trainingData });
  const definition = predicate['buildDefinition'] as Record<string, unknown>;
  const external = definition['externalParameters'] as Record<string, unknown>;
  definition['externalParameters'] = {
    ...external,
    ...(options.entryPoint === undefined ? {} : { entryPoint: options.entryPoint }),
    ...(options.hyperparameters === undefined ? {} : { hyperparameters: options.hyperparameters }),
  };
  return predicate;
}

function sandboxPredicateOf(result: 'PASSED' | 'FAILED'): Record<string, unknown> {
  return { result, passedTests: [], failedTests: [] };
}

interface ViewOptions {
  readonly key?: string;
  readonly revoked?: boolean;
}

function view(predicateType: string, predicate: Record<string, unknown>, options: ViewOptions = {}): AttestationView {
  const logIndex = nextIndex++;
  const key = options.key ?? 'training-cluster';
  const statement: Statement = { subject: [{ name: 'model', digest: { sha256: 'ab'.repeat(32) } }], predicateType, predicate };
  return {
    record: {
      id: `a${logIndex}`,
      versionId: VERSION.id,
      versionDigest: DIGEST,
      bundleDigest: logIndex.toString(16).padStart(64, '0'),
      paeDigest: '0'.repeat(64),
      keyId: `id-of-${key}`,
      keyName: key,
      predicateType,
      role: 'attestation',
      bundle: '{}',
      loggedAt: `2026-01-01T00:00:${String(logIndex % 60).padStart(2, '0')}.000Z`,
      logIndex,
      addedBy: 'admin',
    },
    statement,
    status: options.revoked === true ? { valid: false, code: 'KEY_REVOKED', message: `key ${key} was revoked (leaked)` } : { valid: true },
    key: undefined,
  };
}

function rowOf(metadata: VerifiedMetadata, field: string): MetadataRow {
  const row = [...metadata.seed, ...metadata.training].find((r) => r.field === field);
  if (row === undefined) throw new Error(`no ${field} row`);
  return row;
}

const DATA_A = 'a1'.repeat(32);
const DATA_B = 'b2'.repeat(32);
const DATA_C = 'c3'.repeat(32);

describe('verified metadata conflicts', () => {
  it('keeps the newest valid value and lists the older valid one that differs, with its source', () => {
    const older = view(SLSA, provenancePredicate({ trainingData: DATA_A }), { key: 'trainer-a' });
    const newer = view(SLSA, provenancePredicate({ trainingData: DATA_B }), { key: 'trainer-b' });
    const row = rowOf(verifiedMetadata(VERSION, [older, newer]), 'training_data_hash');
    expect(row.status).toBe('verified');
    expect(row.value).toBe(`sha256:${DATA_B}`);
    expect(row.source?.logIndex).toBe(newer.record.logIndex);
    expect(row.conflicts).toEqual([
      {
        value: `sha256:${DATA_A}`,
        source: { predicateType: SLSA, key: 'trainer-a', keyId: 'id-of-trainer-a', logIndex: older.record.logIndex, bundleDigest: `sha256:${older.record.bundleDigest}` },
      },
    ]);
    // The other provenance fields agree: no conflict there.
    for (const field of ['source_code_commit', 'hyperparameters', 'builder_id', 'entry_point', 'source_repository', 'preprocessing']) {
      expect(rowOf(verifiedMetadata(VERSION, [older, newer]), field).conflicts, field).toEqual([]);
    }
  });

  it('lists conflicts newest first, across the training rows too', () => {
    const first = view(SLSA, provenancePredicate({ trainingData: DATA_A, entryPoint: 'train.py' }), { key: 'trainer-a' });
    const second = view(SLSA, provenancePredicate({ trainingData: DATA_B, entryPoint: 'train.py' }), { key: 'trainer-b' });
    const third = view(SLSA, provenancePredicate({ trainingData: DATA_C, entryPoint: 'evil.py' }), { key: 'trainer-c' });
    const metadata = verifiedMetadata(VERSION, [first, second, third]);
    expect(rowOf(metadata, 'training_data_hash').conflicts.map((c) => [c.value, c.source.logIndex])).toEqual([
      [`sha256:${DATA_B}`, second.record.logIndex],
      [`sha256:${DATA_A}`, first.record.logIndex],
    ]);
    const entry = rowOf(metadata, 'entry_point');
    expect(entry.value).toBe('evil.py');
    expect(entry.conflicts.map((c) => [c.value, c.source.key])).toEqual([['train.py', 'trainer-b'], ['train.py', 'trainer-a']]);
  });

  it('compares canonically: equal values, keys in another order, are no conflict', () => {
    const older = view(SLSA, provenancePredicate({ hyperparameters: { lr: 0.001, epochs: 3 } }), { key: 'trainer-a' });
    const newer = view(SLSA, provenancePredicate({ hyperparameters: { epochs: 3, lr: 0.001 } }), { key: 'trainer-b' });
    const metadata = verifiedMetadata(VERSION, [older, newer]);
    for (const row of [...metadata.seed, ...metadata.training]) expect(row.conflicts, row.field).toEqual([]);
  });

  it('never takes a conflict from an invalidated (revoked-key) attestation', () => {
    const revoked = view(SLSA, provenancePredicate({ trainingData: DATA_A }), { key: 'leaked', revoked: true });
    const valid = view(SLSA, provenancePredicate({ trainingData: DATA_B }), { key: 'trainer-b' });
    const newerRevoked = view(SLSA, provenancePredicate({ trainingData: DATA_C }), { key: 'leaked', revoked: true });
    const row = rowOf(verifiedMetadata(VERSION, [revoked, valid, newerRevoked]), 'training_data_hash');
    expect(row.value).toBe(`sha256:${DATA_B}`);
    expect(row.conflicts).toEqual([]);
    // Only invalidated ones: the row is invalid, without conflicts.
    const invalid = rowOf(verifiedMetadata(VERSION, [revoked, newerRevoked]), 'training_data_hash');
    expect(invalid.status).toBe('invalid');
    expect(invalid.value).toBe(`sha256:${DATA_C}`);
    expect(invalid.conflicts).toEqual([]);
  });

  it('never marks scan, sandbox, attestation-count or digest rows as conflicting', () => {
    const views = [
      view(SLSA, provenancePredicate({}), { key: 'trainer-a' }),
      view(TEST_RESULT, sandboxPredicateOf('FAILED'), { key: 'sandbox' }),
      view(TEST_RESULT, sandboxPredicateOf('PASSED'), { key: 'sandbox' }),
    ];
    const metadata = verifiedMetadata(VERSION, views);
    expect(rowOf(metadata, 'sandbox_test_result').value).toBe('PASSED');
    for (const field of ['model_sha256', 'vulnerability_scan_id', 'sandbox_test_result', 'red_team_report_uri', 'attestations']) {
      expect(rowOf(metadata, field).conflicts, field).toEqual([]);
    }
  });

  it('lists one conflict per distinct (value, key) and at most 20', () => {
    // The same key saying the same other value twice counts once; another key saying it counts again.
    const repeated = [
      view(SLSA, provenancePredicate({ trainingData: DATA_A }), { key: 'trainer-a' }),
      view(SLSA, provenancePredicate({ trainingData: DATA_A }), { key: 'trainer-a' }),
      view(SLSA, provenancePredicate({ trainingData: DATA_A }), { key: 'trainer-b' }),
      view(SLSA, provenancePredicate({ trainingData: DATA_C }), { key: 'trainer-c' }),
    ];
    const deduplicated = rowOf(verifiedMetadata(VERSION, repeated), 'training_data_hash').conflicts;
    expect(deduplicated.map((c) => c.source.key)).toEqual(['trainer-b', 'trainer-a']);
    expect(deduplicated[1]?.source.logIndex).toBe(repeated[1]?.record.logIndex);

    const many = Array.from({ length: 30 }, (_, i) => view(SLSA, provenancePredicate({ trainingData: i.toString(16).padStart(64, '0') }), { key: `trainer-${i}` }));
    const row = rowOf(verifiedMetadata(VERSION, many), 'training_data_hash');
    expect(MAX_METADATA_CONFLICTS).toBe(20);
    expect(row.value).toBe(`sha256:${(29).toString(16).padStart(64, '0')}`);
    expect(row.conflicts).toHaveLength(20);
    expect(row.conflicts.map((c) => c.source.key)).toEqual(Array.from({ length: 20 }, (_, i) => `trainer-${28 - i}`));
  });
});
