/**
 * `admin verify-store` against the promotion state (issue 6; SPEC §10 "insider edits the
 * database"), once per metadata backend: a registry gets policies pushed and approved, versions
 * promoted (allowed and denied) and a signing key revoked so a placement is quarantined — all over
 * HTTP — and is stopped; then aliases, decisions, policies or quarantines are edited with raw SQL
 * and the verifier must report exactly that edit, naming the record and the log index.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { parseVerifierKey } from '../../src/log/signed-note.js';
import { parsePolicyDocument, readPolicyFixtures } from '../../src/policy/index.js';
import { verifyStore, type StoreProblem, type StoreReport } from '../../src/service/store-verifier.js';
import { openMetadataStore } from '../../src/store/open-metadata-store.js';
import { rawSql } from '../support/raw-sql.js';
import { BACKENDS, REPO_ROOT, openTestBlobStore, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, provenancePredicate, register, signBundle, SLSA, uploadRandomModel, VULNS, type JsonReply } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;

const EXAMPLES = path.join(REPO_ROOT, 'examples', 'policies');
const CLEAN_SCAN = { scanner: { uri: 'pkg:github/aquasecurity/trivy@0.58.0', result: [{ id: 'CVE-2026-1001', severity: [{ method: 'cvss_v3', score: 'LOW' }] }] } };
/** A second staging policy that asks only for training provenance (so a quarantined version can be promoted again). */
const STAGING_TRAINING_ONLY = JSON.stringify({
  apiVersion: 'custody.dev/v1',
  kind: 'PromotionPolicy',
  metadata: { name: 'staging-training-only', environment: 'staging' },
  spec: {
    requireFrom: 'development',
    attestations: { training: { predicateType: SLSA, signers: ['training-cluster'] } },
    tests: [{ name: 'a version without attestations is denied', input: { inline: { version: { environments: ['development'] } } }, expect: 'deny' }],
  },
});

/** What the populated registry holds, as the API and the log reported it. */
interface Built {
  readonly reg: TestRegistry;
  readonly alpha1: string;
  readonly alpha2: string;
  /** team/alpha v1 allowed into staging. */
  readonly allowAlpha: { id: string; index: number };
  /** team/alpha v2 denied staging. */
  readonly denyAlpha: { id: string; index: number };
  /** team/beta v1 allowed into staging again after its quarantine, clearing it. */
  readonly allowBetaAgain: { id: string; index: number };
  /** Log index of the quarantine of team/alpha v1 in staging (still active). */
  readonly alphaQuarantine: number;
  /** Log index of the quarantine of team/beta v1 in staging (cleared). */
  readonly betaQuarantine: number;
  /** policy.proposed log index by `environment #number`. */
  readonly proposed: ReadonlyMap<string, number>;
}

function expectOk(reply: JsonReply, status: number, what: string): Json {
  expect(reply.status, `${what}: ${JSON.stringify(reply.json)}`).toBe(status);
  return reply.json;
}

function problemAt(kind: StoreProblem['kind'], index: number, record: string): unknown {
  return expect.objectContaining({ kind, index, record });
}

async function examplePolicy(file: string): Promise<{ document: string; fixtures: Json }> {
  const document = await readFile(path.join(EXAMPLES, file), 'utf8');
  return { document, fixtures: await readPolicyFixtures(parsePolicyDocument(document, file), EXAMPLES) };
}

/** Log entries of `type`, oldest first, with their indexes. */
async function logged(reg: TestRegistry, type: string): Promise<{ index: number; event: Json }[]> {
  const items = expectOk(await api(reg, 'GET', `/api/v1/audit?type=${type}&limit=100`), 200, `audit ${type}`)['items'] as { index: number; event: Json }[];
  return [...items].reverse();
}

async function promote(reg: TestRegistry, model: string, digest: string, outcome: 'allow' | 'deny'): Promise<{ id: string; index: number }> {
  const decision = expectOk(await api(reg, 'POST', `/api/v1/models/${model}/environments/staging/promotions`, { version: digest }), 200, `promote ${model}`);
  expect(decision['outcome'], JSON.stringify(decision)).toBe(outcome);
  return { id: String(decision['id']), index: Number(decision['logIndex']) };
}

describe.each(BACKENDS)('admin verify-store: promotion state on %s', (backend) => {
  const registries: TestRegistry[] = [];
  let clean: Built;

  beforeAll(async () => {
    clean = await populated();
  });

  afterAll(async () => {
    for (const reg of registries.splice(0)) await reg.stop();
  });

  /** A registry with policies, promotions and a quarantine made over HTTP, stopped, its storage kept. */
  async function populated(): Promise<Built> {
    const reg = await startTestRegistry(backend);
    registries.push(reg);
    const training = makeKey('training-cluster');
    const scanner = makeKey('security-scanner');
    await addKey(reg, training, [SLSA]);
    await addKey(reg, scanner, [VULNS]);
    const attested = async (model: string): Promise<string> => {
      const uploaded = await uploadRandomModel(reg);
      const bundles = { provenance: signBundle(training, uploaded.digest, SLSA, provenancePredicate()), attestations: [signBundle(scanner, uploaded.digest, VULNS, CLEAN_SCAN)] };
      expectOk(await register(reg, model, uploaded, bundles), 201, `register ${model}`);
      return uploaded.digest;
    };
    const alpha1 = await attested('team/alpha');
    const beta1 = await attested('team/beta');

    const staging = await examplePolicy('staging.yaml');
    expect(expectOk(await api(reg, 'POST', '/api/v1/policies', staging), 201, 'push staging')['status']).toBe('active');
    const allowAlpha = await promote(reg, 'team/alpha', alpha1, 'allow');
    await promote(reg, 'team/beta', beta1, 'allow');
    const alpha2Model = await uploadRandomModel(reg);
    expectOk(await register(reg, 'team/alpha', alpha2Model), 201, 'register team/alpha v2');
    const denyAlpha = await promote(reg, 'team/alpha', alpha2Model.digest, 'deny');

    // Compromised since long before its scans: both staging placements relied on them.
    expectOk(await api(reg, 'POST', `/api/v1/keys/${scanner.name}/revoke`, { reason: 'stolen', compromisedSince: '2020-01-01T00:00:00Z' }), 200, 'revoke');
    const quarantines = await logged(reg, 'version.quarantined');
    expect(quarantines.map((q) => `${String(q.event['model'])} ${String(q.event['environment'])}`)).toEqual(['team/alpha staging', 'team/beta staging']);

    // A staging policy without the scan lets team/beta in again, which clears its quarantine.
    expectOk(await api(reg, 'POST', '/api/v1/policies', { document: STAGING_TRAINING_ONLY }), 201, 'push staging #2');
    const allowBetaAgain = await promote(reg, 'team/beta', beta1, 'allow');

    // Production needs a second principal's approval: #1 approved and active, #2 left proposed.
    expectOk(await api(reg, 'POST', '/api/v1/principals', { name: 'pat', kind: 'user' }), 201, 'principal');
    expectOk(await api(reg, 'POST', '/api/v1/bindings', { principal: 'pat', role: 'policy-admin' }), 201, 'binding');
    const pat = String(expectOk(await api(reg, 'POST', '/api/v1/tokens', { principal: 'pat' }), 201, 'token')['token']);
    const production = await examplePolicy('production.yaml');
    const first = expectOk(await api(reg, 'POST', '/api/v1/policies', production), 201, 'push production');
    expect(expectOk(await api(reg, 'POST', `/api/v1/policies/${String(first['id'])}/approve`, undefined, pat), 200, 'approve')['status']).toBe('active');
    const second = { ...production, document: production.document.replace('name: production-gate', 'name: production-gate-2') };
    expect(expectOk(await api(reg, 'POST', '/api/v1/policies', second), 201, 'push production #2')['status']).toBe('proposed');

    const proposed = new Map((await logged(reg, 'policy.proposed')).map((p) => [`${String(p.event['environment'])} #${String(p.event['number'])}`, p.index]));
    await reg.registry.stop();
    return {
      reg,
      alpha1,
      alpha2: alpha2Model.digest,
      allowAlpha,
      denyAlpha,
      allowBetaAgain,
      alphaQuarantine: quarantines[0]?.index ?? -1,
      betaQuarantine: quarantines[1]?.index ?? -1,
      proposed,
    };
  }

  async function verify(reg: TestRegistry): Promise<StoreReport> {
    const metadata = await openMetadataStore(reg.metadataSpec, reg.dataDir);
    try {
      const blobs = await openTestBlobStore(reg);
      try {
        const logVerifier = parseVerifierKey((await loadOrCreateLogKey(path.join(reg.dataDir, 'keys', 'log.key'), 'custody.local/log')).verifierKey);
        return await verifyStore({ metadata, blobs, logVerifier });
      } finally {
        await blobs.close();
      }
    } finally {
      await metadata.close();
    }
  }

  function proposedAt(built: Built, policy: string): number {
    const index = built.proposed.get(policy);
    if (index === undefined) throw new Error(`no policy.proposed event for ${policy}`);
    return index;
  }

  it('finds no problem in the promotion state the server left', async () => {
    const rows = await rawSql(clean.reg, 'select status from policies order by environment, number');
    expect(rows.map((r) => r['status'])).toEqual(['active', 'proposed', 'superseded', 'active']);
    const active = await rawSql(clean.reg, 'select log_index from quarantines where cleared_at is null');
    expect(active.map((r) => Number(r['log_index']))).toEqual([clean.alphaQuarantine]);
    expect((await verify(clean.reg)).problems).toEqual([]);
  });

  it('names an alias re-pointed to another version', async () => {
    const built = await populated();
    await rawSql(
      built.reg,
      "update aliases set version_id = (select id from versions where namespace = 'team' and name = 'alpha' and number = 2), version_digest = ? where namespace = 'team' and name = 'alpha' and environment = 'staging'",
      [built.alpha2],
    );
    const report = await verify(built.reg);
    expect(report.problems).toEqual([problemAt('alias-mismatch', built.allowAlpha.index, 'team/alpha@staging')]);
    expect(report.problems[0]?.message).toContain(`version ${built.alpha2} (log: ${built.alpha1})`);
  });

  it('names a deleted alias and one inserted without an event', async () => {
    const built = await populated();
    await rawSql(built.reg, "delete from aliases where namespace = 'team' and name = 'beta' and environment = 'staging'");
    await rawSql(
      built.reg,
      "insert into aliases (namespace, name, environment, version_id, version_digest, since, decision_id, log_index) select namespace, name, 'production', version_id, version_digest, since, decision_id, log_index from aliases where namespace = 'team' and name = 'alpha' and environment = 'staging'",
    );
    const report = await verify(built.reg);
    expect(report.problems).toHaveLength(2);
    expect(report.problems).toEqual(
      expect.arrayContaining([problemAt('alias-missing', built.allowBetaAgain.index, 'team/beta@staging'), problemAt('alias-unlogged', built.allowAlpha.index, 'team/alpha@production')]),
    );
  });

  it('names a deleted decision row', async () => {
    const built = await populated();
    await rawSql(built.reg, 'delete from decisions where id = ?', [built.denyAlpha.id]);
    expect((await verify(built.reg)).problems).toEqual([problemAt('decision-missing', built.denyAlpha.index, `decision ${built.denyAlpha.id}`)]);
  });

  it('names a denied decision edited into an allowed one', async () => {
    const built = await populated();
    await rawSql(built.reg, "update decisions set outcome = 'allow' where id = ?", [built.denyAlpha.id]);
    const report = await verify(built.reg);
    expect(report.problems).toEqual([problemAt('decision-mismatch', built.denyAlpha.index, `decision ${built.denyAlpha.id}`)]);
    expect(report.problems[0]?.message).toContain('outcome allow (log: deny)');
  });

  it('names a decision whose stored results were rewritten, and a decision row with no event', async () => {
    const built = await populated();
    const [row] = await rawSql(built.reg, 'select results from decisions where id = ?', [built.denyAlpha.id]);
    const results = String(row?.['results']);
    expect(results).toContain('"MISSING"');
    await rawSql(built.reg, 'update decisions set results = ? where id = ?', [results.replaceAll('"MISSING"', '"PASS"'), built.denyAlpha.id]);
    await rawSql(
      built.reg,
      "insert into decisions (id, namespace, name, version_id, version_digest, environment, outcome, policy_digest, effective_digest, input_digest, results, principal, principal_kind, decided_at, log_index, vsa) select 'forgedDecision0000001', namespace, name, version_id, version_digest, 'production', outcome, policy_digest, effective_digest, input_digest, results, principal, principal_kind, decided_at, log_index, vsa from decisions where id = ?",
      [built.allowAlpha.id],
    );
    const report = await verify(built.reg);
    expect(report.problems).toHaveLength(2);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        problemAt('decision-mismatch', built.denyAlpha.index, `decision ${built.denyAlpha.id}`),
        problemAt('decision-unlogged', built.allowAlpha.index, 'decision forgedDecision0000001'),
      ]),
    );
  });

  it('names a policy whose document was swapped for another', async () => {
    const built = await populated();
    await rawSql(built.reg, "update policies set document = (select document from policies where environment = 'staging' and number = 2) where environment = 'staging' and number = 1");
    expect((await verify(built.reg)).problems).toEqual([problemAt('policy-document-mismatch', proposedAt(built, 'staging #1'), 'policy staging #1')]);
  });

  it('names a proposed policy made active in SQL', async () => {
    const built = await populated();
    await rawSql(built.reg, "update policies set status = 'active' where environment = 'production' and number = 2");
    const report = await verify(built.reg);
    expect(report.problems).toEqual([problemAt('policy-mismatch', proposedAt(built, 'production #2'), 'policy production #2')]);
    expect(report.problems[0]?.message).toContain('status active (log: proposed)');
  });

  it('names a policy swapped with its digest (the events name the real one)', async () => {
    const built = await populated();
    await rawSql(
      built.reg,
      "update policies set document = (select document from policies where environment = 'staging' and number = 2), digest = (select digest from policies where environment = 'staging' and number = 2) where environment = 'staging' and number = 1",
    );
    expect((await verify(built.reg)).problems).toEqual([problemAt('policy-mismatch', proposedAt(built, 'staging #1'), 'policy staging #1')]);
  });

  it('names a deleted quarantine', async () => {
    const built = await populated();
    await rawSql(built.reg, 'delete from quarantines where log_index = ?', [built.alphaQuarantine]);
    expect((await verify(built.reg)).problems).toEqual([problemAt('quarantine-missing', built.alphaQuarantine, 'team/alpha@v1 in staging')]);
  });

  it('names a quarantine cleared without an allowed decision', async () => {
    const built = await populated();
    // Cleared "by" an earlier decision: only a later allowed promotion clears a quarantine.
    await rawSql(built.reg, 'update quarantines set cleared_at = ?, cleared_by = ? where log_index = ?', [new Date().toISOString(), built.allowAlpha.id, built.alphaQuarantine]);
    const report = await verify(built.reg);
    expect(report.problems).toEqual([problemAt('quarantine-missing', built.alphaQuarantine, 'team/alpha@v1 in staging')]);
    expect(report.problems[0]?.message).toContain('no allowed decision cleared it');
  });

  it('names a cleared quarantine made active again', async () => {
    const built = await populated();
    await rawSql(built.reg, 'update quarantines set cleared_at = null, cleared_by = null where log_index = ?', [built.betaQuarantine]);
    const report = await verify(built.reg);
    expect(report.problems).toEqual([problemAt('quarantine-mismatch', built.betaQuarantine, 'team/beta@v1 in staging')]);
    expect(report.problems[0]?.message).toContain(`decision ${built.allowBetaAgain.id} at log entry ${built.allowBetaAgain.index} cleared it`);
  });

  it('names a decision row that no longer reads back, without reporting its event missing', async () => {
    const built = await populated();
    await rawSql(built.reg, "update decisions set outcome = 'maybe' where id = ?", [built.denyAlpha.id]);
    expect((await verify(built.reg)).problems).toEqual([expect.objectContaining({ kind: 'promotion-unreadable', record: 'team/alpha@v2' })]);
  });
});
