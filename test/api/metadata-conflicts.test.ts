/**
 * Conflicting verified metadata over real HTTP on both metadata stores (reference/ui-screens.md
 * §2.2, SPEC §4.2–4.3): a version pushed with provenance signed by one training key, then a second
 * valid provenance attestation from another registered training key naming a different dataset —
 * `GET …/metadata` keeps the newest value and lists the older one as a conflict with its source,
 * the OpenAPI document describes `conflicts`, and the built `custody show` prints a CONFLICT line
 * under the row (`--json` carries the same conflicts). Run `npm run build` first (the CLI case).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSeedKeysAndSecondTrainer, attest, attestSeed, pushModel, type PushedVersion, type SeedKeys } from '../support/promotion-fixtures.js';
import { BACKENDS, runCli, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api, provenancePredicate, SLSA, type TestKey } from '../support/trust-fixtures.js';

const ORIGINAL_DATA = `sha256:${'d'.repeat(64)}`;
const OTHER_DATA = 'e7'.repeat(32);

interface Source {
  readonly predicateType: string;
  readonly key: string;
  readonly keyId: string;
  readonly logIndex: number;
  readonly bundleDigest: string;
}

interface Row {
  readonly field: string;
  readonly value: unknown;
  readonly status: string;
  readonly source: Source | null;
  readonly conflicts: readonly { readonly value: unknown; readonly source: Source }[];
}

interface ListedAttestation {
  readonly key: string;
  readonly logIndex: number;
  readonly bundleDigest: string;
  readonly predicateType: string;
}

describe.each(BACKENDS)('conflicting verified metadata on %s', (backend) => {
  let reg: TestRegistry;
  let keys: SeedKeys;
  let second: TestKey;
  let version: PushedVersion;
  let rows: Row[];
  let listed: ListedAttestation[];

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    ({ keys, second } = await addSeedKeysAndSecondTrainer(reg));
    version = await pushModel(reg, 'fraud/conflicted', keys.training);
    await attestSeed(reg, version, keys);
    await attest(reg, version, second, SLSA, provenancePredicate({ trainingData: OTHER_DATA }));
    const metadata = await api(reg, 'GET', `/api/v1/models/fraud/conflicted/versions/${version.digest}/metadata`);
    expect(metadata.status, JSON.stringify(metadata.json)).toBe(200);
    rows = [...(metadata.json['seed'] as Row[]), ...(metadata.json['training'] as Row[])];
    const attestations = await api(reg, 'GET', `/api/v1/models/fraud/conflicted/versions/${version.digest}/attestations`);
    listed = attestations.json['items'] as ListedAttestation[];
  });

  afterAll(async () => {
    await reg.stop();
  });

  function row(field: string): Row {
    const found = rows.find((r) => r.field === field);
    if (found === undefined) throw new Error(`no ${field} row`);
    return found;
  }

  function provenanceBy(key: string): ListedAttestation {
    const found = listed.find((a) => a.predicateType === SLSA && a.key === key);
    if (found === undefined) throw new Error(`no provenance by ${key}`);
    return found;
  }

  it('GET …/metadata keeps the newest training data and names the older attestation that says otherwise', () => {
    const original = provenanceBy('training-cluster');
    const newer = provenanceBy('training-cluster-2');
    const training = row('training_data_hash');
    expect(training.status).toBe('verified');
    expect(training.value).toBe(`sha256:${OTHER_DATA}`);
    expect(training.source).toEqual({ predicateType: SLSA, key: 'training-cluster-2', keyId: second.keyId, logIndex: newer.logIndex, bundleDigest: newer.bundleDigest });
    expect(training.conflicts).toEqual([
      { value: ORIGINAL_DATA, source: { predicateType: SLSA, key: 'training-cluster', keyId: keys.training.keyId, logIndex: original.logIndex, bundleDigest: original.bundleDigest } },
    ]);
    // Both provenance statements agree on everything else; scans and test results never conflict.
    for (const r of rows.filter((r) => r.field !== 'training_data_hash')) expect(r.conflicts, r.field).toEqual([]);
  });

  it('the OpenAPI document describes conflicts on the metadata rows', async () => {
    const reply = await fetch(`${reg.url}/api/v1/openapi.json`);
    expect(reply.status).toBe(200);
    const doc = (await reply.json()) as { paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>> };
    const schema = doc.paths['/api/v1/models/{namespace}/{name}/versions/{selector}/metadata']?.['get']?.responses['200']?.content?.['application/json']?.schema as {
      properties: { seed: { items: { properties: Record<string, { type?: string; maxItems?: number; items?: { properties?: Record<string, unknown> } }>; required: string[] } } };
    };
    const rowSchema = schema.properties.seed.items;
    expect(rowSchema.required).toContain('conflicts');
    expect(rowSchema.properties['conflicts']?.type).toBe('array');
    expect(rowSchema.properties['conflicts']?.maxItems).toBe(20);
    expect(Object.keys(rowSchema.properties['conflicts']?.items?.properties ?? {})).toEqual(['value', 'source']);
  });

  it('custody show prints a CONFLICT line under the row; --json carries the conflicts', async () => {
    const original = provenanceBy('training-cluster');
    const env = { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token };
    const [human, machine] = await Promise.all([runCli(['show', `fraud/conflicted@${version.digest}`], env), runCli(['--json', 'show', `fraud/conflicted@v${version.number}`], env)]);
    expect(human.code, human.stderr).toBe(0);
    const lines = human.stdout.split('\n');
    const at = lines.findIndex((l) => l.startsWith('training_data_hash '));
    expect(lines[at]).toContain(`sha256:${OTHER_DATA}`);
    expect(lines[at]).toContain('verified, CONFLICT (1)');
    expect(lines[at + 1]).toBe(`    CONFLICT: key training-cluster (log #${original.logIndex}) says ${ORIGINAL_DATA}`);
    expect(human.stdout.match(/CONFLICT:/g)).toHaveLength(1);

    expect(machine.code, machine.stderr).toBe(0);
    const shown = JSON.parse(machine.stdout) as { metadata: { seed: Row[] } };
    expect(shown.metadata.seed.find((r) => r.field === 'training_data_hash')?.conflicts).toEqual(row('training_data_hash').conflicts);
  });
});
