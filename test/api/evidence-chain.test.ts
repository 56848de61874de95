/**
 * Pipeline evidence and the provenance chain over real HTTP on SQLite and PostgreSQL (issue 6 §7;
 * SPEC §4.2 "Exception — pipeline evidence", §6.3, §10 "provenance gap"): in-toto link evidence
 * of the ingest and preprocess steps, signed by `data-platform`, is verified and attached to a
 * version whose training provenance names the data and script they connect to; the shipped
 * `production-with-chain` policy then allows the promotion, and denies the version that lacks the
 * preprocess evidence, naming the gap. Evidence of another predicate type is refused
 * (PREDICATE_TYPE_MISMATCH, logged); one evidence statement backs several versions; evidence is
 * listed with its role, never read as a fact about the version, and a client's pull verifies it.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAttestation } from '../../src/crypto/attestation.js';
import { parsePrivateKey } from '../../src/crypto/signing-keys.js';
import { parsePolicyDocument, readPolicyFixtures } from '../../src/policy/index.js';
import { LogWitness } from '../../src/sdk/log-witness.js';
import { BACKENDS, REPO_ROOT, startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  addKey,
  api,
  auditEvents,
  makeKey,
  provenancePredicate,
  RED_TEAM,
  register,
  sha256Hex,
  signBundle,
  SLSA,
  TEST_RESULT,
  uploadRandomModel,
  VULNS,
  type JsonReply,
  type TestKey,
} from '../support/trust-fixtures.js';

const LINK = 'https://in-toto.io/attestation/link/v0.3';
const EXAMPLES = path.join(REPO_ROOT, 'examples', 'policies');
const POLICY_FILE = path.join(EXAMPLES, 'production-with-chain.yaml');

/** The pipeline's digests (hex): the raw dataset, what ingest made of it, and the training data preprocess made. */
const RAW = sha256Hex('raw transactions');
const INGESTED = sha256Hex('ingested transactions');
const TRAINING_DATA = sha256Hex('training data manifest');
/** `provenancePredicate()` names this preprocessing script (`preprocess:clean`). */
const SCRIPT = 'c'.repeat(64);

/** A link v0.3 statement of `step` signed by `key`: `materials` consumed, `products` (its subjects) made. */
function linkBundle(key: TestKey, step: string, materials: { uri: string; sha256: string }[], products: { name: string; sha256: string }[]): string {
  return createAttestation({
    subjects: products.map((p) => ({ name: p.name, digest: { sha256: p.sha256 } })),
    predicateType: LINK,
    predicate: { name: step, command: ['run', step], materials: materials.map((m) => ({ uri: m.uri, digest: { sha256: m.sha256 } })), byproducts: {}, environment: {} },
    privateKey: parsePrivateKey(key.privateKeyPem),
  }).bundleJson;
}

describe.each(BACKENDS)('pipeline evidence and the provenance chain (%s)', (backend) => {
  let reg: TestRegistry;
  const trainer = makeKey('training-cluster');
  const scanner = makeKey('security-scanner');
  const sandbox = makeKey('sandbox');
  const redTeam = makeKey('red-team');
  const dataPlatform = makeKey('data-platform');
  const model = 'fraud/detector';
  const versions = `/api/v1/models/${model}/versions`;
  let complete: string;
  let partial: string;

  const ingest = () =>
    linkBundle(dataPlatform, 'ingest', [{ uri: 's3://datasets/raw/fraud/2026-11.csv', sha256: RAW }], [{ name: 's3://datasets/staging/fraud.parquet', sha256: INGESTED }]);
  const preprocess = () =>
    linkBundle(
      dataPlatform,
      'preprocess',
      [
        { uri: 's3://datasets/staging/fraud.parquet', sha256: INGESTED },
        { uri: 'git+https://git.example.com/acme/fraud-detector/preprocess/clean.py', sha256: SCRIPT },
      ],
      [{ name: 's3://datasets/fraud/manifest.json', sha256: TRAINING_DATA }],
    );
  const addEvidence = (digest: string, bundle: string): Promise<JsonReply> => api(reg, 'POST', `${versions}/${digest}/attestations`, { bundle, role: 'evidence' });

  /** Registers a version with training provenance naming TRAINING_DATA and SCRIPT, plus a clean scan, a passed sandbox run and an approved red team. */
  async function registerVersion(): Promise<string> {
    const uploaded = await uploadRandomModel(reg);
    const reply = await register(reg, model, uploaded, {
      provenance: signBundle(trainer, uploaded.digest, SLSA, provenancePredicate({ trainingData: TRAINING_DATA })),
      attestations: [
        signBundle(scanner, uploaded.digest, VULNS, { scanner: { uri: 'pkg:trivy', result: [] }, metadata: { scanStartedOn: '2026-01-01T00:00:00Z', scanFinishedOn: '2026-01-01T00:01:00Z' } }),
        signBundle(sandbox, uploaded.digest, TEST_RESULT, { result: 'PASSED', configuration: [] }),
        signBundle(redTeam, uploaded.digest, RED_TEAM, { status: 'APPROVED', reportUri: 'https://redteam.example/r/1' }),
      ],
    });
    expect(reply.status).toBe(201);
    return uploaded.digest;
  }

  /** Promotes `digest` into staging (no policy there), which production's `requireFrom` asks for; staging holds one version at a time. */
  async function stage(digest: string): Promise<void> {
    const staged = await api(reg, 'POST', `/api/v1/models/${model}/environments/staging/promotions`, { version: digest });
    expect(staged.json['outcome']).toBe('allow');
  }

  beforeAll(async () => {
    reg = await startTestRegistry(backend, { provenance: { requireAtEntry: true }, promotion: { twoPersonPolicyChange: [], lastEnvironmentServiceOnly: false } });
    await addKey(reg, trainer, [SLSA]);
    await addKey(reg, scanner, [VULNS]);
    await addKey(reg, sandbox, [TEST_RESULT]);
    await addKey(reg, redTeam, [RED_TEAM]);
    await addKey(reg, dataPlatform, [LINK, SLSA]);
    const text = readFileSync(POLICY_FILE, 'utf8');
    const pushed = await api(reg, 'POST', '/api/v1/policies', { document: text, fixtures: await readPolicyFixtures(parsePolicyDocument(text), EXAMPLES) });
    expect(pushed.status).toBe(201);
    expect(pushed.json['status']).toBe('active');
    complete = await registerVersion();
    partial = await registerVersion();
  });
  afterAll(async () => {
    await reg.stop();
  });

  it('attaches verified link evidence, logs it with role evidence, and lists it with its role', async () => {
    const first = await addEvidence(complete, ingest());
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ role: 'evidence', predicateType: LINK, key: dataPlatform.name, status: { valid: true }, created: true });
    expect((await addEvidence(complete, preprocess())).status).toBe(201);
    const events = (await auditEvents(reg, 'attestation.added')).filter((e) => e['version'] === complete && e['key'] === dataPlatform.name);
    expect(events.map((e) => e['role'])).toEqual(['evidence', 'evidence']);
    const listed = (await api(reg, 'GET', `${versions}/${complete}/attestations`)).json['items'] as { role: string; predicateType: string }[];
    expect(listed.filter((a) => a.role === 'evidence').map((a) => a.predicateType)).toEqual([LINK, LINK]);
    expect(listed.filter((a) => a.role === 'provenance')).toHaveLength(1);
  });

  it('allows the promotion when the chain connects raw data to the training data', async () => {
    await stage(complete);
    const evaluation = await api(reg, 'GET', `/api/v1/models/${model}/environments/production/evaluation?version=${complete}`);
    const result = evaluation.json['evaluation'] as { outcome: string; requirements: { name: string; result: string; message: string; satisfiedBy: string[] }[] };
    expect(result.requirements.filter((r) => r.result !== 'PASS')).toEqual([]);
    const chain = result.requirements.find((r) => r.name === 'chain');
    expect(chain?.message).toContain(`training data sha256:${TRAINING_DATA} traced through ingest → preprocess`);
    expect(chain?.satisfiedBy).toHaveLength(2);
    expect(result.outcome).toBe('allow');
    const promoted = await api(reg, 'POST', `/api/v1/models/${model}/environments/production/promotions`, { version: complete });
    expect(promoted.json['outcome']).toBe('allow');
  });

  it('denies the version without preprocess evidence, naming the gap', async () => {
    expect((await addEvidence(partial, ingest())).status).toBe(201);
    await stage(partial);
    const decided = await api(reg, 'POST', `/api/v1/models/${model}/environments/production/promotions`, { version: partial });
    expect(decided.json['outcome']).toBe('deny');
    const failing = (decided.json['requirements'] as { name: string; result: string; message: string }[]).filter((r) => r.result !== 'PASS');
    expect(failing).toEqual([{ name: 'chain', source: 'policy', result: 'FAIL', message: 'no valid attestation of step preprocess signed by data-platform', satisfiedBy: [] }]);
  });

  it('attaches one evidence statement to several versions, and once per version', async () => {
    const bundle = ingest();
    // The ingest statement is the same signed bytes for both versions (Ed25519 is deterministic).
    const again = await addEvidence(complete, bundle);
    expect(again.status).toBe(200);
    expect(again.json['created']).toBe(false);
    const elsewhere = await registerVersion();
    const attached = await addEvidence(elsewhere, bundle);
    expect(attached.status).toBe(201);
    expect(attached.json).toMatchObject({ role: 'evidence', version: elsewhere, status: { valid: true } });
  });

  it('refuses evidence of a predicate type other than link or SLSA provenance, and logs the refusal', async () => {
    const scan = signBundle(scanner, `sha256:${INGESTED}`, VULNS, { scanner: { uri: 'pkg:trivy', result: [] } });
    const reply = await addEvidence(partial, scan);
    expect(reply.status).toBe(422);
    expect(reply.json['code']).toBe('PREDICATE_TYPE_MISMATCH');
    expect((await auditEvents(reg, 'attestation.rejected')).some((e) => e['code'] === 'PREDICATE_TYPE_MISMATCH' && e['version'] === partial)).toBe(true);
    // Evidence is verified like any attestation: a key not allowed for link statements is refused.
    const stranger = makeKey('stranger');
    await addKey(reg, stranger, [SLSA]);
    const foreign = await addEvidence(partial, linkBundle(stranger, 'preprocess', [], [{ name: 'x', sha256: TRAINING_DATA }]));
    expect(foreign.json['code']).toBe('KEY_PREDICATE_NOT_ALLOWED');
    // Without role evidence, a statement about a step's products is not about the version.
    expect((await api(reg, 'POST', `${versions}/${partial}/attestations`, { bundle: preprocess() })).json['code']).toBe('SUBJECT_MISMATCH');
  });

  it('never reads evidence as a fact about the version', async () => {
    const slsaEvidence = createAttestation({
      subjects: [{ name: 'features', digest: { sha256: sha256Hex('features') } }],
      predicateType: SLSA,
      predicate: provenancePredicate({ trainingData: 'e'.repeat(64), commit: 'b'.repeat(40) }),
      privateKey: parsePrivateKey(dataPlatform.privateKeyPem),
    }).bundleJson;
    expect((await addEvidence(partial, slsaEvidence)).status).toBe(201);
    const seed = (await api(reg, 'GET', `${versions}/${partial}/metadata`)).json['seed'] as { field: string; value: unknown; source: { key: string } | null }[];
    expect(seed.find((r) => r.field === 'training_data_hash')).toMatchObject({ value: `sha256:${TRAINING_DATA}`, source: { key: trainer.name } });
    expect(seed.find((r) => r.field === 'source_code_commit')?.value).toBe('a'.repeat(40));
  });

  it("a client's pull verifies the evidence against the log", async () => {
    const client = reg.client();
    const output = await mkdtemp(path.join(tmpdir(), 'custody-evidence-pull-'));
    try {
      const { verifierKey } = await client.logKey();
      const pulled = await client.pull(`${model}@${complete}`, { output: path.join(output, 'model'), witness: new LogWitness(verifierKey) });
      const evidence = pulled.attestations?.attestations.filter((a) => a.role === 'evidence') ?? [];
      expect(evidence).toHaveLength(2);
      expect(evidence.every((a) => a.valid)).toBe(true);
    } finally {
      client.close();
      await rm(output, { recursive: true, force: true });
    }
  });
});
