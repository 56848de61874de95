/**
 * Signer keys, attestations, verified metadata, lineage and pull verification through the built
 * `custody` CLI against a spawned `custody serve` that requires signed provenance at entry (its
 * real default), once per metadata backend (SPEC §2, §4.2, §4.3, §8): keys add/list/revoke; push
 * with a SLSA training provenance made by `custody attest`; `show` printing the seed table naming
 * the signing key; attestations added after entry (idempotently) and listed; lineage of a child
 * version as a tree and as a graph; pull re-verifying each attestation; a revocation with
 * `--compromised-since` invalidating exactly what was logged from then on; and pull failing with
 * exit 4 when an insider's edits make the registry serve a forged signature or answers its own
 * log contradicts. Run `npm run build` first.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { rawSql } from '../support/raw-sql.js';
import { BACKENDS, createTestStorage, runCli, spawnServer, type CliResult, type SpawnedServer, type TestStorage } from '../support/registry.js';

const SLSA = 'https://slsa.dev/provenance/v1';
const VULNS = 'https://in-toto.io/attestation/vulns/v0.2';
const TEST_RESULT = 'https://in-toto.io/attestation/test-result/v0.1';
const RED_TEAM = 'https://custody.dev/attestation/red-team/v1';
const COMMIT = '3f2a9c1e'.repeat(5);
const CHILD_COMMIT = '9b8c7d6e'.repeat(5);
const TRAINING_DATA = 'd4'.repeat(32);
const CHILD_DATA = 'e5'.repeat(32);
const SCAN_URI = 'https://scanner.example/scans/1234';
const REPORT_URI = 'https://redteam.example/reports/7';
const TIMEOUT = 120_000;

type Json = Record<string, unknown>;

function ok(result: CliResult): CliResult {
  if (result.code !== 0) throw new Error(`custody exited ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** The one JSON document a `--json` run printed (also for failures: `{error: …}`). */
function json(result: CliResult): Json {
  try {
    return JSON.parse(result.stdout) as Json;
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

/** The line of a printed table that starts with `first`. */
function lineOf(text: string, first: string): string {
  const line = text.split('\n').find((l) => l.startsWith(`${first} `));
  if (line === undefined) throw new Error(`no line starting with ${first} in:\n${text}`);
  return line;
}

function provenancePredicate(options: { commit: string; data: string; parent?: string }): Json {
  return {
    buildDefinition: {
      buildType: 'https://custody.dev/ml-training/v1',
      externalParameters: { hyperparameters: { learningRate: 0.001, epochs: 3 }, entryPoint: 'train.py', sourceRepository: 'https://git.example/vision/resnet' },
      resolvedDependencies: [
        { uri: 'git+https://git.example/vision/resnet', digest: { gitCommit: options.commit } },
        { name: 'training-data', digest: { sha256: options.data } },
        { name: 'preprocess:tokenize', digest: { sha256: 'a1'.repeat(32) } },
        ...(options.parent === undefined ? [] : [{ uri: 'custody:vision/base', digest: { sha256: options.parent } }]),
      ],
    },
    runDetails: { builder: { id: 'https://ci.example/trainers/gpu-7' }, metadata: { invocationId: 'run-42' } },
  };
}

describe.each(BACKENDS)('keys, attestations, verified metadata, lineage and pull verification through the CLI on %s', (backend) => {
  let storage: TestStorage | undefined;
  let server: SpawnedServer | undefined;
  let env: Record<string, string>;
  let work: string;
  let trainerKeyId = '';
  let scannerKeyId = '';
  /** Version digests (`sha256:<hex>`) of the two models, once pushed. */
  let baseDigest = '';
  let childDigest = '';

  const cli = (...args: string[]): Promise<CliResult> => runCli(args, env);
  const file = (name: string): string => path.join(work, name);
  const write = async (name: string, value: unknown): Promise<string> => {
    await writeFile(file(name), typeof value === 'string' ? value : JSON.stringify(value));
    return file(name);
  };
  /** `custody attest sha256:<hex> …` into a bundle file; returns the file. */
  const attest = async (digest: string, predicateType: string, predicate: Json, key: string, name: string): Promise<string> => {
    ok(await cli('attest', digest, '--predicate-type', predicateType, '--predicate', await write(`${name}.predicate.json`, predicate), '--key', file(`${key}.key`), '--output', file(name), '--quiet'));
    return file(name);
  };
  const digestOf = async (dir: string): Promise<string> => String(json(ok(await cli('--json', 'digest', dir))).digest);
  const pushed = (digest: string): string => {
    if (digest === '') throw new Error('the model was not pushed (an earlier test failed)');
    return digest;
  };

  beforeAll(async () => {
    storage = await createTestStorage(backend);
    work = await mkdtemp(path.join(tmpdir(), `custody-trust-cli-${backend}-`));
    const token = generateApiToken();
    server = await spawnServer({ dataDir: storage.dataDir, metadataSpec: storage.metadataSpec, blobs: storage.blobs, token, env: { CUSTODY_PROVENANCE_REQUIRE_AT_ENTRY: 'true' } });
    env = { CUSTODY_SERVER: server.url, CUSTODY_TOKEN: token, XDG_CONFIG_HOME: path.join(work, 'xdg') };
    for (const [dir, content] of [['base', 'base weights'], ['child', 'fine-tuned weights']] as const) {
      await mkdir(file(dir));
      await writeFile(path.join(file(dir), 'weights.bin'), content);
      await writeFile(path.join(file(dir), 'config.json'), `{"model":"${dir}"}`);
    }
    const [trainer, scanner, rogue] = await Promise.all([
      cli('--json', 'keygen', '--out', file('trainer'), '--type', 'ed25519'),
      cli('--json', 'keygen', '--out', file('scanner'), '--type', 'p256'),
      cli('--json', 'keygen', '--out', file('rogue'), '--type', 'p384'),
    ]);
    trainerKeyId = String(json(ok(trainer)).keyId);
    scannerKeyId = String(json(ok(scanner)).keyId);
    ok(rogue);
  }, TIMEOUT);

  afterAll(async () => {
    try {
      await server?.stop();
    } finally {
      try {
        await storage?.cleanup();
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    }
  });

  it('keys add registers signer keys, keys list shows them as a table and as JSON, and a taken name is refused', async () => {
    const added = json(ok(await cli('--json', 'keys', 'add', 'training-cluster', '--public-key', file('trainer.pub'), '--predicate-types', SLSA)));
    expect(added).toMatchObject({ name: 'training-cluster', keyId: trainerKeyId, algorithm: 'ed25519', predicateTypes: [SLSA], namespaces: null, status: 'active', revocation: null });
    expect(added.receipt).toMatchObject({ logIndex: added.addedLogIndex });

    const human = ok(await cli('keys', 'add', 'scanner', '--public-key', file('scanner.pub'), '--predicate-types', `${VULNS}, ${TEST_RESULT},${RED_TEAM}`, '--namespaces', 'vision'));
    expect(human.stdout).toContain('added key scanner');
    expect(human.stdout).toContain(scannerKeyId);

    const [taken, list, table] = await Promise.all([
      cli('--json', 'keys', 'add', 'scanner', '--public-key', file('rogue.pub'), '--predicate-types', VULNS),
      cli('--json', 'keys', 'list'),
      cli('keys', 'list'),
    ]);
    expect(taken.code).toBe(1);
    expect(json(taken)).toMatchObject({ error: { code: 'KEY_EXISTS' } });
    const items = json(ok(list)).items as Json[];
    expect(items.map((k) => [k.name, k.keyId, k.status])).toEqual([
      ['scanner', scannerKeyId, 'active'],
      ['training-cluster', trainerKeyId, 'active'],
    ]);
    expect(items[0]).toMatchObject({ predicateTypes: [RED_TEAM, TEST_RESULT, VULNS].sort(), namespaces: ['vision'] });
    expect(lineOf(ok(table).stdout, 'scanner')).toMatch(new RegExp(`^scanner +${scannerKeyId.slice(0, 16)} +ecdsa-p256-sha256 .*vision .*active$`));
    expect(lineOf(table.stdout, 'training-cluster')).toContain(trainerKeyId.slice(0, 16));
  }, TIMEOUT);

  it('push needs a provenance (PROVENANCE_REQUIRED), refuses one by an unknown key (UNKNOWN_SIGNER) and accepts a signed SLSA training provenance', async () => {
    const digest = await digestOf(file('base'));
    const hex = digest.slice('sha256:'.length);
    const predicate = provenancePredicate({ commit: COMMIT, data: TRAINING_DATA });
    const [provenance, forged] = await Promise.all([attest(digest, SLSA, predicate, 'trainer', 'base.provenance.json'), attest(digest, SLSA, predicate, 'rogue', 'forged.json')]);
    const annotations = await write('annotations.json', { owner: 'vision-team', claimedAccuracy: 0.99 });

    const [bare, byRogue] = await Promise.all([
      cli('--json', 'push', file('base'), '--model', 'vision/base'),
      cli('--json', 'push', file('base'), '--model', 'vision/base', '--provenance', forged),
    ]);
    expect(bare.code).toBe(1);
    expect(json(bare)).toMatchObject({ error: { code: 'PROVENANCE_REQUIRED' } });
    expect(byRogue.code).toBe(1);
    expect(json(byRogue)).toMatchObject({ error: { code: 'UNKNOWN_SIGNER' } });

    const push = json(ok(await cli('--json', 'push', file('base'), '--model', 'vision/base', '--provenance', provenance, '--annotations', annotations)));
    expect(push).toMatchObject({ model: 'vision/base', number: 1, digest, created: true, provenance: true });
    expect(hex).toMatch(/^[0-9a-f]{64}$/);
    baseDigest = digest;
  }, TIMEOUT);

  it('show prints the seed metadata table, each value naming the key that signed it, and the annotations apart as UNVERIFIED', async () => {
    const digest = pushed(baseDigest);
    const [human, machine] = await Promise.all([cli('show', 'vision/base@v1'), cli('--json', 'show', `vision/base@${digest}`)]);
    const text = ok(human).stdout;
    const signer = `training-cluster (${trainerKeyId.slice(0, 12)})`;
    expect(lineOf(text, 'model_sha256')).toMatch(new RegExp(`${digest} +verified +${signer.replace(/[()]/g, '\\$&')} +\\d+$`));
    expect(lineOf(text, 'training_data_hash')).toMatch(new RegExp(`sha256:${TRAINING_DATA} +verified +training-cluster`));
    expect(lineOf(text, 'source_code_commit')).toMatch(new RegExp(`${COMMIT} +verified +training-cluster`));
    for (const field of ['vulnerability_scan_id', 'sandbox_test_result', 'red_team_report_uri']) {
      expect(lineOf(text, field)).toContain('—  (no verified attestation)');
    }
    expect(lineOf(text, 'builder_id')).toContain('https://ci.example/trainers/gpu-7');
    expect(lineOf(text, 'hyperparameters')).toContain('"learningRate":0.001');
    expect(lineOf(text, 'preprocessing')).toContain(`tokenize=sha256:${'a1'.repeat(32)}`);
    // Annotations come after the verified tables, under their own UNVERIFIED heading.
    const unverified = text.indexOf('UNVERIFIED');
    expect(unverified).toBeGreaterThan(text.indexOf('builder_id'));
    expect(text.indexOf('vision-team')).toBeGreaterThan(unverified);
    expect(text.slice(0, unverified)).not.toContain('vision-team');

    const shown = json(ok(machine));
    expect(shown).toMatchObject({ digest, annotations: { owner: 'vision-team' }, annotationsVerified: false });
    const seed = (shown.metadata as { seed: Json[] }).seed;
    expect(seed.map((r) => r.field)).toEqual(['model_sha256', 'training_data_hash', 'source_code_commit', 'vulnerability_scan_id', 'sandbox_test_result', 'attestations', 'red_team_report_uri']);
    expect(seed[1]).toMatchObject({ value: `sha256:${TRAINING_DATA}`, status: 'verified', source: { key: 'training-cluster', keyId: trainerKeyId, predicateType: SLSA } });
  }, TIMEOUT);

  it('attestations add verifies and stores test-result, vulns and red-team attestations, stops at the first refusal, is idempotent, and list shows each', async () => {
    const digest = pushed(baseDigest);
    const [vulns, testResult, redTeam, wrongSigner, neverSent] = await Promise.all([
      attest(digest, VULNS, { scanner: { uri: 'https://scanner.example', version: '2.1', result: [] }, invocation: { uri: SCAN_URI } }, 'scanner', 'vulns.json'),
      attest(digest, TEST_RESULT, { result: 'PASSED', configuration: [], passedTests: ['jailbreak-suite'], warnedTests: [], failedTests: [] }, 'scanner', 'test-result.json'),
      attest(digest, RED_TEAM, { status: 'APPROVED', reportUri: REPORT_URI, reportDigest: { sha256: 'b2'.repeat(32) }, assessor: 'red-team@example', findings: [] }, 'scanner', 'red-team.json'),
      attest(digest, VULNS, { scanner: { uri: 'https://scanner.example' }, invocation: { uri: 'https://scanner.example/scans/forged' } }, 'trainer', 'wrong-signer.json'),
      attest(digest, VULNS, { scanner: { uri: 'https://scanner.example' }, invocation: { uri: 'https://scanner.example/scans/never' } }, 'scanner', 'never-sent.json'),
    ]);

    const added = ok(await cli('attestations', 'add', 'vision/base@v1', vulns, testResult, redTeam));
    for (const [bundle, type] of [[vulns, VULNS], [testResult, TEST_RESULT], [redTeam, RED_TEAM]] as const) {
      expect(lineOf(added.stdout, `${bundle}:`)).toMatch(new RegExp(`: added — ${type.replace(/[./]/g, '\\$&')} signed by scanner \\(${scannerKeyId.slice(0, 12)}\\), log entry \\d+$`));
    }

    const before = json(ok(await cli('--json', 'attestations', 'list', 'vision/base@v1')));
    const items = before.items as Json[];
    expect(before.version).toBe(digest);
    expect(items.map((a) => [a.predicateType, a.role, a.key, (a.status as Json).valid])).toEqual([
      [SLSA, 'provenance', 'training-cluster', true],
      [VULNS, 'attestation', 'scanner', true],
      [TEST_RESULT, 'attestation', 'scanner', true],
      [RED_TEAM, 'attestation', 'scanner', true],
    ]);

    // The same file again: nothing new is stored or logged. A refusal stops the run with its code.
    const again = json(ok(await cli('--json', 'attestations', 'add', 'vision/base@v1', vulns)));
    expect(again.results).toEqual([expect.objectContaining({ created: false, logIndex: items[1]?.logIndex, predicateType: VULNS })]);
    const refused = await cli('--json', 'attestations', 'add', 'vision/base@v1', testResult, wrongSigner, neverSent);
    expect(refused.code).toBe(1);
    expect(json(refused)).toMatchObject({ error: { code: 'KEY_PREDICATE_NOT_ALLOWED', details: { file: wrongSigner, added: [{ file: testResult, created: false }] } } });
    const humanRefused = await cli('attestations', 'add', 'vision/base@v1', redTeam, wrongSigner);
    expect(humanRefused.code).toBe(1);
    expect(humanRefused.stdout).toContain(`${redTeam}: already present`);
    expect(humanRefused.stderr).toContain('(KEY_PREDICATE_NOT_ALLOWED)');

    const [after, table] = await Promise.all([cli('--json', 'attestations', 'list', 'vision/base@v1'), cli('attestations', 'list', 'vision/base@v1')]);
    expect(json(ok(after)).items).toEqual(items);
    const testResultLine = lineOf(ok(table).stdout, TEST_RESULT);
    expect(testResultLine).toMatch(new RegExp(`attestation +scanner \\(${scannerKeyId.slice(0, 12)}\\) +valid +${String(items[2]?.logIndex)} +${String(items[2]?.loggedAt)}$`));

    const shown = ok(await cli('show', 'vision/base@v1')).stdout;
    expect(lineOf(shown, 'vulnerability_scan_id')).toMatch(new RegExp(`${SCAN_URI} +verified +scanner`));
    expect(lineOf(shown, 'sandbox_test_result')).toMatch(/PASSED +verified +scanner/);
    expect(lineOf(shown, 'red_team_report_uri')).toMatch(new RegExp(`${REPORT_URI} +verified +scanner`));
    expect(lineOf(shown, 'attestations')).toContain('4 valid of 4');
  }, TIMEOUT);

  it('lineage of a child version prints its parent with training data and source commit as a tree, and --json is the graph', async () => {
    const parent = pushed(baseDigest);
    const digest = await digestOf(file('child'));
    const provenance = await attest(digest, SLSA, provenancePredicate({ commit: CHILD_COMMIT, data: CHILD_DATA, parent: parent.slice('sha256:'.length) }), 'trainer', 'child.provenance.json');
    expect(json(ok(await cli('--json', 'push', file('child'), '--model', 'vision/child', '--provenance', provenance)))).toMatchObject({ number: 1, digest, created: true });
    childDigest = digest;

    const [tree, fromParent, graphRun, badDirection] = await Promise.all([
      cli('lineage', 'vision/child@v1'),
      cli('lineage', `vision/base@${parent}`, '--direction', 'descendants', '--depth', '1'),
      cli('--json', 'lineage', 'vision/child@v1'),
      cli('lineage', 'vision/child@v1', '--direction', 'sideways'),
    ]);
    const lines = ok(tree).stdout.trimEnd().split('\n');
    const root = lines.findIndex((l) => l.startsWith('● vision/child@v1'));
    const ancestor = lines.findIndex((l) => l.includes('vision/base@v1'));
    expect(root).toBeGreaterThan(ancestor);
    expect(ancestor).toBeGreaterThan(lines.indexOf('ancestors (trained from):'));
    expect(lines[ancestor]).toBe(`  └─ vision/base@v1 ${parent.slice(0, 23)}… data=sha256:${TRAINING_DATA.slice(0, 16)}… commit=${COMMIT}`);
    expect(lines[root]).toBe(`● vision/child@v1 ${digest.slice(0, 23)}… data=sha256:${CHILD_DATA.slice(0, 16)}… commit=${CHILD_COMMIT}`);
    expect(lines.slice(root + 1)).toEqual(['descendants (trained from it):', '  none']);

    const down = ok(fromParent).stdout.trimEnd().split('\n');
    expect(down[0]).toMatch(/^● vision\/base@v1 /);
    expect(down).toContain(`  └─ vision/child@v1 ${digest.slice(0, 23)}… data=sha256:${CHILD_DATA.slice(0, 16)}… commit=${CHILD_COMMIT}`);
    expect(down.join('\n')).not.toContain('ancestors');

    const graph = json(ok(graphRun));
    const childId = `vision/child@${digest}`;
    const parentId = `vision/base@${parent}`;
    expect(graph).toMatchObject({ root: childId, edges: [{ child: childId, parent: parentId }], truncated: false });
    const nodes = graph.nodes as Json[];
    expect(nodes.map((n) => n.id).sort()).toEqual([parentId, childId].sort());
    expect(nodes.find((n) => n.id === parentId)).toMatchObject({
      number: 1,
      trainingData: { value: `sha256:${TRAINING_DATA}`, status: 'verified' },
      sourceCommit: { value: COMMIT, status: 'verified', source: { key: 'training-cluster' } },
    });
    expect(badDirection.code).toBe(2);
  }, TIMEOUT);

  it('pull re-verifies every attestation and reports each valid', async () => {
    const digest = pushed(baseDigest);
    const [machine, human] = await Promise.all([cli('--json', 'pull', 'vision/base@v1', '-o', file('pulled-json')), cli('pull', `vision/base@${digest}`, '-o', file('pulled-text'))]);
    const result = json(ok(machine));
    expect(result).toMatchObject({ digest, verified: true, attestations: { version: digest, valid: 4, invalid: 0 } });
    const report = (result.attestations as { attestations: Json[] }).attestations;
    expect(report.map((a) => [a.predicateType, a.key, a.keyId, a.valid, a.code])).toEqual([
      [SLSA, 'training-cluster', trainerKeyId, true, null],
      [VULNS, 'scanner', scannerKeyId, true, null],
      [TEST_RESULT, 'scanner', scannerKeyId, true, null],
      [RED_TEAM, 'scanner', scannerKeyId, true, null],
    ]);
    expect(ok(human).stdout).toContain('attestations: 4 valid, 0 invalid');
    expect(lineOf(human.stdout, RED_TEAM)).toMatch(/scanner \([0-9a-f]{12}\) +valid +\d+$/);
    expect(await readFile(path.join(file('pulled-text'), 'weights.bin'), 'utf8')).toBe('base weights');
  }, TIMEOUT);

  it('after keys revoke --compromised-since, show marks the values it signed from then on INVALID and pull reports those attestations invalid', async () => {
    pushed(childDigest);
    const listed = (json(ok(await cli('--json', 'attestations', 'list', 'vision/base@v1'))).items as Json[]).map((a) => ({ type: String(a.predicateType), loggedAt: String(a.loggedAt) }));
    const since = listed.find((a) => a.type === TEST_RESULT)?.loggedAt ?? '';
    // Valid exactly when logged before the compromise (the vulns scan may share its millisecond).
    const expectValid = (type: string): boolean => type === SLSA || Date.parse(listed.find((a) => a.type === type)?.loggedAt ?? '') < Date.parse(since);

    const revoked = json(ok(await cli('--json', 'keys', 'revoke', 'scanner', '--reason', 'signing host compromised', '--compromised-since', since)));
    expect(revoked).toMatchObject({ name: 'scanner', status: 'revoked', revocation: { reason: 'signing host compromised', compromisedSince: since, invalidFrom: since } });
    const keys = json(ok(await cli('--json', 'keys', 'list'))).items as Json[];
    expect(keys.map((k) => [k.name, k.status])).toEqual([['scanner', 'revoked'], ['training-cluster', 'active']]);

    const [shown, pulledJson, pulledText, lateAdd] = await Promise.all([
      cli('show', 'vision/base@v1'),
      cli('--json', 'pull', 'vision/base@v1', '-o', file('pulled-after-revoke')),
      cli('pull', 'vision/base@v1', '-o', file('pulled-after-revoke-text')),
      cli('--json', 'attestations', 'add', 'vision/base@v1', file('never-sent.json')),
    ]);
    const text = ok(shown).stdout;
    for (const field of ['sandbox_test_result', 'red_team_report_uri']) {
      expect(lineOf(text, field)).toMatch(/INVALID \(key scanner was revoked \(signing host compromised\); invalid for attestations logged from .*\) +scanner/);
    }
    expect(lineOf(text, 'training_data_hash')).toMatch(/ verified +training-cluster/);
    expect(lineOf(text, 'vulnerability_scan_id')).toContain(expectValid(VULNS) ? ' verified ' : 'INVALID');

    const report = json(ok(pulledJson)).attestations as { valid: number; invalid: number; attestations: Json[] };
    expect(report.attestations.map((a) => [a.predicateType, a.valid, a.code, a.serverValid])).toEqual(
      [SLSA, VULNS, TEST_RESULT, RED_TEAM].map((type) => [type, expectValid(type), expectValid(type) ? null : 'KEY_REVOKED', expectValid(type)]),
    );
    expect(report.invalid).toBeGreaterThanOrEqual(2);
    expect(lineOf(ok(pulledText).stdout, TEST_RESULT)).toContain('INVALID (KEY_REVOKED: key scanner was revoked');

    expect(lateAdd.code).toBe(1);
    expect(json(lateAdd)).toMatchObject({ error: { code: 'KEY_REVOKED' } });
  }, TIMEOUT);

  it('pull fails with exit 4 and writes nothing when the registry serves a bundle whose signature fails, or a revocation or attestation its own log contradicts', async () => {
    if (storage === undefined) throw new Error('no storage');
    const target = file('never-written');
    // An insider erases the compromise instant: the registry would now call the scanner's attestations valid.
    const [row] = await rawSql(storage, 'select compromised_since from signer_keys where name = ?', ['scanner']);
    await rawSql(storage, 'update signer_keys set compromised_since = null where name = ?', ['scanner']);
    const hidden = await cli('--json', 'pull', 'vision/base@v1', '-o', target);
    expect(hidden.code).toBe(4);
    expect(json(hidden)).toMatchObject({ error: { code: 'VERIFICATION_FAILED' } });
    expect(String((json(hidden).error as Json).message)).toContain('key.revoked event');
    await rawSql(storage, 'update signer_keys set compromised_since = ? where name = ?', [String(row?.compromised_since), 'scanner']);
    ok(await cli('--json', 'pull', 'vision/base@v1', '-o', file('pulled-restored')));

    // An insider edits the stored vulns bundle's signature (and its digest column to match): the
    // registry still serves it as valid, but its signature no longer verifies here.
    const [vulns] = await rawSql(storage, 'select bundle, bundle_digest from attestations where predicate_type = ?', [VULNS]);
    const bundle = JSON.parse(String(vulns?.bundle)) as { dsseEnvelope: { signatures: { sig: string }[] } };
    const signature = bundle.dsseEnvelope.signatures[0];
    if (signature === undefined) throw new Error('the stored bundle has no signature');
    const sig = Buffer.from(signature.sig, 'base64');
    sig[sig.length - 5] = (sig[sig.length - 5] ?? 0) ^ 0x01;
    signature.sig = sig.toString('base64');
    const forged = `${JSON.stringify(bundle, null, 2)}\n`;
    await rawSql(storage, 'update attestations set bundle = ?, bundle_digest = ? where predicate_type = ?', [forged, createHash('sha256').update(forged).digest('hex'), VULNS]);
    const badSignature = await cli('--json', 'pull', 'vision/base@v1', '-o', target);
    expect(badSignature.code).toBe(4);
    expect(String((json(badSignature).error as Json).message)).toMatch(/signature of the .*vulns\/v0\.2 attestation at log entry \d+ does not verify with key scanner/);
    await rawSql(storage, 'update attestations set bundle = ?, bundle_digest = ? where predicate_type = ?', [String(vulns?.bundle), String(vulns?.bundle_digest), VULNS]);

    // An insider backdates the test result to before the compromise: the registry would call it valid
    // again, but the attestation.added event at its log index carries the real time.
    await rawSql(storage, 'update attestations set logged_at = ? where predicate_type = ?', ['2000-01-01T00:00:00.000Z', TEST_RESULT]);
    const backdated = json(ok(await cli('--json', 'attestations', 'list', 'vision/base@v1'))).items as Json[];
    expect(backdated.find((a) => a.predicateType === TEST_RESULT)).toMatchObject({ loggedAt: '2000-01-01T00:00:00.000Z', status: { valid: true } });
    const lied = await cli('pull', 'vision/base@v1', '-o', target);
    expect(lied.code).toBe(4);
    expect(lied.stderr).toContain(TEST_RESULT);
    expect(lied.stderr).toMatch(/differs from its attestation\.added event \(log entry \d+\) \(VERIFICATION_FAILED\)/);
    expect(existsSync(target)).toBe(false);
  }, TIMEOUT);
});
