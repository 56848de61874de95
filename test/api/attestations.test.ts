/**
 * Attestations after entry and revocation (issue 4 §2, §4, §5; SPEC §4.2, §6.1, §10 "stolen
 * signing key") over real HTTP on SQLite and PostgreSQL: verified on ingest with the entry
 * rules, idempotent on resubmission, each refusal logged as `attestation.rejected`; revoking a
 * key with `compromisedSince` invalidates exactly the attestations logged at or after it; key
 * changes are logged; the verified metadata table names the signing key and shows invalidated
 * values as invalid.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, REPO_ROOT, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, auditEvents, makeKey, provenancePredicate, RED_TEAM, register, signBundle, SLSA, TEST_RESULT, uploadRandomModel, VULNS } from '../support/trust-fixtures.js';

const CERT_PEM = path.join(REPO_ROOT, '..', 'shared', 'interop', 'oms', 'keys', 'certificate', 'signing-key-cert.pem');

describe.each(BACKENDS)('attestations (%s)', (backend) => {
  let reg: TestRegistry;
  let digest: string;
  let otherDigest: string;
  const trainer = makeKey('training-cluster', 'p384');
  const scanner = makeKey('security-scanner', 'p256');
  const redTeam = makeKey('red-team');
  const sandbox = makeKey('sandbox');
  const base = '/api/v1/models/fraud/detector/versions';

  beforeAll(async () => {
    reg = await startTestRegistry(backend, { provenance: { requireAtEntry: true } });
    await addKey(reg, trainer, [SLSA]);
    await addKey(reg, scanner, [VULNS]);
    await addKey(reg, redTeam, [RED_TEAM]);
    await addKey(reg, sandbox, [TEST_RESULT]);
    for (const target of ['main', 'other']) {
      const uploaded = await uploadRandomModel(reg);
      expect((await register(reg, 'fraud/detector', uploaded, { provenance: signBundle(trainer, uploaded.digest, SLSA, provenancePredicate()) })).status).toBe(201);
      if (target === 'main') digest = uploaded.digest;
      else otherDigest = uploaded.digest;
    }
  });
  afterAll(async () => {
    await reg.stop();
  });

  const add = (bundle: string, at = digest) => api(reg, 'POST', `${base}/${at}/attestations`, { bundle });

  it('adds a verified attestation, logs it by digest, and is idempotent on resubmission', async () => {
    const bundle = signBundle(scanner, digest, VULNS, { scanner: { uri: 'https://scanner.example', result: [] }, invocation: { uri: 'scan-42' } });
    const first = await add(bundle);
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ created: true, key: scanner.name, predicateType: VULNS, status: { valid: true } });
    const again = await add(bundle);
    expect(again.status).toBe(200);
    expect(again.json).toMatchObject({ created: false, id: first.json['id'], logIndex: first.json['logIndex'] });
    const events = (await auditEvents(reg, 'attestation.added')).filter((e) => e['version'] === digest && e['key'] === scanner.name);
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events[0])).not.toContain('dsseEnvelope');
    expect(events[0]?.['bundleDigest']).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it.each([
    ['SUBJECT_MISMATCH', () => signBundle(sandbox, `sha256:${'0'.repeat(64)}`, TEST_RESULT, { result: 'PASSED', configuration: [] })],
    ['KEY_PREDICATE_NOT_ALLOWED', () => signBundle(sandbox, digest, VULNS, { scanner: { uri: 'x', result: [] } })],
    ['UNKNOWN_SIGNER', () => signBundle(makeKey('nobody'), digest, TEST_RESULT, { result: 'PASSED', configuration: [] })],
    ['INVALID_BUNDLE', () => '{"mediaType": "nope"}'],
    [
      'UNSUPPORTED_ALGORITHM',
      () => {
        // Certificate material (an X.509 signer) instead of a registered key: not an algorithm the registry accepts.
        const bundle = JSON.parse(signBundle(sandbox, digest, TEST_RESULT, { result: 'PASSED', configuration: [] })) as { verificationMaterial: unknown };
        const der = new X509Certificate(readFileSync(CERT_PEM)).raw.toString('base64');
        bundle.verificationMaterial = { x509CertificateChain: { certificates: [{ rawBytes: der }] }, tlogEntries: [] };
        return JSON.stringify(bundle);
      },
    ],
    [
      'SIGNATURE_INVALID',
      () => {
        const bundle = JSON.parse(signBundle(sandbox, digest, TEST_RESULT, { result: 'FAILED', configuration: [] })) as { dsseEnvelope: { payload: string } };
        bundle.dsseEnvelope.payload = Buffer.from(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replace('FAILED', 'PASSED')).toString('base64');
        return JSON.stringify(bundle);
      },
    ],
  ])('refuses %s and logs attestation.rejected', async (code, make) => {
    const before = (await api(reg, 'GET', `${base}/${digest}/attestations`)).json['items'] as unknown[];
    const reply = await add(make());
    expect(reply.json['code']).toBe(code);
    const after = (await api(reg, 'GET', `${base}/${digest}/attestations`)).json['items'] as unknown[];
    expect(after).toHaveLength(before.length);
    expect((await auditEvents(reg, 'attestation.rejected')).some((e) => e['code'] === code && e['version'] === digest)).toBe(true);
  });

  it('refuses a bundle accepted for one version when replayed onto another (ATTESTATION_REPLAYED)', async () => {
    const bundle = signBundle(sandbox, digest, TEST_RESULT, { result: 'PASSED', configuration: [] });
    expect((await add(bundle)).status).toBe(201);
    expect((await add(bundle, otherDigest)).json['code']).toBe('ATTESTATION_REPLAYED');
  });

  it('shows the seed metadata table from verified attestations, naming the signing key, annotations apart', async () => {
    expect((await add(signBundle(redTeam, digest, RED_TEAM, { status: 'APPROVED', reportUri: 'https://redteam.example/r/1' }))).status).toBe(201);
    const reply = await api(reg, 'GET', `${base}/${digest}/metadata`);
    const seed = reply.json['seed'] as { field: string; value: unknown; status: string; source: { key: string } | null }[];
    expect(seed.map((r) => r.field)).toEqual(['model_sha256', 'training_data_hash', 'source_code_commit', 'vulnerability_scan_id', 'sandbox_test_result', 'attestations', 'red_team_report_uri']);
    const row = (field: string) => seed.find((r) => r.field === field);
    expect(row('training_data_hash')).toMatchObject({ value: `sha256:${'d'.repeat(64)}`, status: 'verified', source: { key: trainer.name } });
    expect(row('source_code_commit')).toMatchObject({ value: 'a'.repeat(40), status: 'verified', source: { key: trainer.name } });
    expect(row('vulnerability_scan_id')).toMatchObject({ value: 'scan-42', source: { key: scanner.name } });
    expect(row('sandbox_test_result')).toMatchObject({ value: 'PASSED', source: { key: sandbox.name } });
    expect(row('red_team_report_uri')).toMatchObject({ value: 'https://redteam.example/r/1', source: { key: redTeam.name } });
  });

  it('revoking with compromisedSince invalidates exactly the attestations logged at or after it', async () => {
    const tester = makeKey('qa-sandbox');
    await addKey(reg, tester, [TEST_RESULT]);
    const before = await add(signBundle(tester, digest, TEST_RESULT, { result: 'PASSED', configuration: [], url: 'before' }));
    expect(before.status).toBe(201);
    await sleep(20);
    const compromisedSince = new Date().toISOString();
    await sleep(20);
    const after = await add(signBundle(tester, digest, TEST_RESULT, { result: 'WARNED', configuration: [], url: 'after' }));
    expect(after.status).toBe(201);
    expect(String(before.json['loggedAt']) < compromisedSince && compromisedSince < String(after.json['loggedAt'])).toBe(true);

    const revoked = await api(reg, 'POST', `/api/v1/keys/${tester.name}/revoke`, { reason: 'key leaked from CI', compromisedSince });
    expect(revoked.status).toBe(200);
    expect(revoked.json).toMatchObject({ status: 'revoked', revocation: { compromisedSince, invalidFrom: compromisedSince } });
    expect((await auditEvents(reg, 'key.revoked')).some((e) => e['key'] === tester.name && e['compromisedSince'] === compromisedSince)).toBe(true);

    const items = (await api(reg, 'GET', `${base}/${digest}/attestations`)).json['items'] as { id: string; status: { valid: boolean; code?: string } }[];
    expect(items.find((i) => i.id === before.json['id'])?.status).toEqual({ valid: true });
    expect(items.find((i) => i.id === after.json['id'])?.status).toMatchObject({ valid: false, code: 'KEY_REVOKED' });
    // New attestations by the revoked key are refused outright.
    expect((await add(signBundle(tester, digest, TEST_RESULT, { result: 'PASSED', configuration: [], url: 'later' }))).json['code']).toBe('KEY_REVOKED');
  });

  it('shows a value whose only attestation was invalidated by a revocation as invalid', async () => {
    const uploaded = await uploadRandomModel(reg);
    const leaky = makeKey('leaky-trainer');
    await addKey(reg, leaky, [SLSA]);
    expect((await register(reg, 'fraud/leaky', uploaded, { provenance: signBundle(leaky, uploaded.digest, SLSA, provenancePredicate()) })).status).toBe(201);
    expect((await api(reg, 'POST', `/api/v1/keys/${leaky.name}/revoke`, { reason: 'stolen', compromisedSince: '2020-01-01T00:00:00Z' })).status).toBe(200);
    const seed = (await api(reg, 'GET', `/api/v1/models/fraud/leaky/versions/${uploaded.digest}/metadata`)).json['seed'] as { field: string; status: string; reason: string | null }[];
    expect(seed.find((r) => r.field === 'training_data_hash')).toMatchObject({ status: 'invalid' });
    expect(seed.find((r) => r.field === 'training_data_hash')?.reason).toContain('revoked');
  });

  it('logs key changes and refuses unsupported or duplicate keys', async () => {
    const key = makeKey('logged-key');
    const added = await addKey(reg, key, [TEST_RESULT], { namespaces: ['fraud'] });
    const events = await auditEvents(reg, 'key.added');
    const event = events.find((e) => e['key'] === key.name);
    expect(event).toMatchObject({ keyId: key.keyId, publicKey: key.publicKeyPem, namespaces: ['fraud'] });
    expect(added.json['addedLogIndex']).toBeTypeOf('number');
    const duplicate = await api(reg, 'POST', '/api/v1/keys', { name: 'another-name', publicKey: key.publicKeyPem, predicateTypes: [TEST_RESULT] });
    expect(duplicate.json['code']).toBe('KEY_EXISTS');
    const { generateKeyPairSync } = await import('node:crypto');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
    const refused = await api(reg, 'POST', '/api/v1/keys', { name: 'rsa-key', publicKey: rsa, predicateTypes: [TEST_RESULT] });
    expect(refused.json['code']).toBe('UNSUPPORTED_ALGORITHM');
    expect((await api(reg, 'GET', '/api/v1/keys/rsa-key')).status).toBe(404);
  });
});
