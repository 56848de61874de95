/**
 * Provenance required at entry (issue 4 §3, SPEC §4.3, §10 "forged provenance"): every attack
 * from the acceptance list is performed over real HTTP against a registry with the default
 * config (provenance required) on SQLite and PostgreSQL. Each is refused with its own code,
 * nothing is registered, and a `version.rejected` event with that code is in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  addKey,
  api,
  auditEvents,
  makeKey,
  provenancePredicate,
  register,
  signBundle,
  SLSA,
  TEST_RESULT,
  uploadRandomModel,
  VULNS,
  type TestKey,
} from '../support/trust-fixtures.js';

describe.each(BACKENDS)('provenance at entry (%s)', (backend) => {
  let reg: TestRegistry;
  const trainer = makeKey('training-cluster', 'p256');
  const scanner = makeKey('security-scanner');
  const vision = makeKey('vision-trainer', 'p384');
  const revoked = makeKey('old-trainer');
  const expired = makeKey('expired-trainer');
  const stranger = makeKey('stranger');
  const sandbox = makeKey('sandbox');

  beforeAll(async () => {
    reg = await startTestRegistry(backend, { provenance: { requireAtEntry: true } });
    await addKey(reg, trainer, [SLSA], { namespaces: ['fraud'] });
    await addKey(reg, scanner, [VULNS], { namespaces: ['fraud'] });
    await addKey(reg, vision, [SLSA], { namespaces: ['vision'] });
    await addKey(reg, revoked, [SLSA]);
    expect((await api(reg, 'POST', `/api/v1/keys/${revoked.name}/revoke`, { reason: 'leaked' })).status).toBe(200);
    await addKey(reg, expired, [SLSA], { notBefore: '2020-01-01T00:00:00Z', notAfter: '2021-01-01T00:00:00Z' });
    await addKey(reg, sandbox, [TEST_RESULT]);
  });
  afterAll(async () => {
    await reg.stop();
  });

  /** Pushes a fresh model with `bundles(digest)`; asserts the refusal, that nothing is registered, and the logged rejection. */
  async function expectRejected(code: string, bundles: (digest: string) => { provenance?: string; attestations?: string[] }, model = 'fraud/detector'): Promise<void> {
    const uploaded = await uploadRandomModel(reg);
    const reply = await register(reg, model, uploaded, bundles(uploaded.digest));
    expect(reply.json['code']).toBe(code);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect((await api(reg, 'GET', `/api/v1/models/${model}/versions/${uploaded.digest}`)).status).toBe(404);
    const rejections = await auditEvents(reg, 'version.rejected');
    expect(rejections.some((e) => e['code'] === code && e['model'] === model)).toBe(true);
  }

  const good = (key: TestKey = trainer) => (digest: string) => ({ provenance: signBundle(key, digest, SLSA, provenancePredicate()) });

  it('registers a version whose provenance is signed by an allowed key, and logs the attestation', async () => {
    const uploaded = await uploadRandomModel(reg);
    const reply = await register(reg, 'fraud/detector', uploaded, good()(uploaded.digest));
    expect(reply.status).toBe(201);
    const list = await api(reg, 'GET', `/api/v1/models/fraud/detector/versions/${uploaded.digest}/attestations`);
    const items = list.json['items'] as Record<string, unknown>[];
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ role: 'provenance', key: trainer.name, keyId: trainer.keyId, predicateType: SLSA, status: { valid: true } });
    const added = await auditEvents(reg, 'attestation.added');
    expect(added.some((e) => e['version'] === uploaded.digest && e['keyId'] === trainer.keyId && e['role'] === 'provenance')).toBe(true);
  });

  it('refuses a push without provenance (PROVENANCE_REQUIRED)', async () => {
    await expectRejected('PROVENANCE_REQUIRED', () => ({}));
  });

  it('refuses provenance signed by an unregistered key (UNKNOWN_SIGNER)', async () => {
    await expectRejected('UNKNOWN_SIGNER', good(stranger));
  });

  it('refuses provenance signed by a key not allowed for provenance — a scanner key (KEY_PREDICATE_NOT_ALLOWED)', async () => {
    await expectRejected('KEY_PREDICATE_NOT_ALLOWED', good(scanner));
  });

  it('refuses provenance signed by a key of another namespace (KEY_NAMESPACE_NOT_ALLOWED)', async () => {
    await expectRejected('KEY_NAMESPACE_NOT_ALLOWED', good(vision));
  });

  it('refuses provenance signed by a revoked key (KEY_REVOKED)', async () => {
    await expectRejected('KEY_REVOKED', good(revoked));
  });

  it('refuses provenance signed by an expired key (KEY_EXPIRED)', async () => {
    await expectRejected('KEY_EXPIRED', good(expired));
  });

  it('refuses provenance whose subject is another model (SUBJECT_MISMATCH)', async () => {
    await expectRejected('SUBJECT_MISMATCH', () => ({ provenance: signBundle(trainer, `sha256:${'e'.repeat(64)}`, SLSA, provenancePredicate()) }));
  });

  it('refuses a provenance bundle replayed from another version (ATTESTATION_REPLAYED)', async () => {
    const first = await uploadRandomModel(reg);
    const bundle = signBundle(trainer, first.digest, SLSA, provenancePredicate());
    expect((await register(reg, 'fraud/detector', first, { provenance: bundle })).status).toBe(201);
    await expectRejected('ATTESTATION_REPLAYED', () => ({ provenance: bundle }));
  });

  it('refuses a bundle with two signatures (MULTIPLE_SIGNATURES)', async () => {
    await expectRejected('MULTIPLE_SIGNATURES', (digest) => {
      const bundle = JSON.parse(signBundle(trainer, digest, SLSA, provenancePredicate())) as { dsseEnvelope: { signatures: unknown[] } };
      const [sig] = bundle.dsseEnvelope.signatures;
      bundle.dsseEnvelope.signatures = [sig, sig];
      return { provenance: JSON.stringify(bundle) };
    });
  });

  it('refuses a tampered payload (SIGNATURE_INVALID)', async () => {
    await expectRejected('SIGNATURE_INVALID', (digest) => {
      const bundle = JSON.parse(signBundle(trainer, digest, SLSA, provenancePredicate())) as { dsseEnvelope: { payload: string } };
      const statement = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replace('a'.repeat(40), 'b'.repeat(40));
      bundle.dsseEnvelope.payload = Buffer.from(statement).toString('base64');
      return { provenance: JSON.stringify(bundle) };
    });
  });

  it('refuses provenance lacking a required field (PROVENANCE_INCOMPLETE), naming it', async () => {
    const uploaded = await uploadRandomModel(reg);
    const reply = await register(reg, 'fraud/detector', uploaded, { provenance: signBundle(trainer, uploaded.digest, SLSA, provenancePredicate({ trainingData: null })) });
    expect(reply.json['code']).toBe('PROVENANCE_INCOMPLETE');
    expect(reply.json['missing']).toEqual(['trainingData']);
    await expectRejected('PROVENANCE_INCOMPLETE', (digest) => ({ provenance: signBundle(trainer, digest, SLSA, provenancePredicate({ commit: null, builderId: null })) }));
  });

  it('refuses provenance naming a parent that is not registered (PARENT_NOT_FOUND)', async () => {
    await expectRejected('PARENT_NOT_FOUND', (digest) => ({
      provenance: signBundle(trainer, digest, SLSA, provenancePredicate({ parents: [{ namespace: 'fraud', name: 'base', digest: `sha256:${'f'.repeat(64)}` }] })),
    }));
  });

  it('refuses a non-provenance statement given as provenance (PREDICATE_TYPE_MISMATCH)', async () => {
    const sandboxKey = makeKey('sandbox-for-fraud');
    await addKey(reg, sandboxKey, [TEST_RESULT, SLSA]);
    await expectRejected('PREDICATE_TYPE_MISMATCH', (digest) => ({ provenance: signBundle(sandboxKey, digest, TEST_RESULT, { result: 'PASSED', configuration: [] }) }));
  });

  it('verifies extra --attest bundles the same way: one bad bundle refuses the whole push', async () => {
    await expectRejected('KEY_PREDICATE_NOT_ALLOWED', (digest) => ({
      ...good()(digest),
      attestations: [signBundle(sandbox, digest, VULNS, { scanner: { uri: 'x', result: [] } })],
    }));
  });

  it('stores extra attestations of an accepted push with their own attestation.added events', async () => {
    const uploaded = await uploadRandomModel(reg);
    const reply = await register(reg, 'fraud/detector', uploaded, {
      ...good()(uploaded.digest),
      attestations: [signBundle(sandbox, uploaded.digest, TEST_RESULT, { result: 'PASSED', configuration: [] })],
    });
    expect(reply.status).toBe(201);
    const list = await api(reg, 'GET', `/api/v1/models/fraud/detector/versions/${uploaded.digest}/attestations`);
    expect((list.json['items'] as Record<string, unknown>[]).map((i) => [i['role'], i['predicateType']])).toEqual([
      ['provenance', SLSA],
      ['attestation', TEST_RESULT],
    ]);
  });

  it('records the parents named by verified provenance as lineage', async () => {
    const parent = await uploadRandomModel(reg);
    expect((await register(reg, 'fraud/base', parent, good()(parent.digest))).status).toBe(201);
    const child = await uploadRandomModel(reg);
    const provenance = signBundle(trainer, child.digest, SLSA, provenancePredicate({ parents: [{ namespace: 'fraud', name: 'base', digest: parent.digest }], trainingData: '1'.repeat(64) }));
    expect((await register(reg, 'fraud/detector', child, { provenance })).status).toBe(201);

    const up = await api(reg, 'GET', `/api/v1/models/fraud/detector/versions/${child.digest}/lineage?direction=ancestors`);
    expect(up.json['edges']).toEqual([{ child: `fraud/detector@${child.digest}`, parent: `fraud/base@${parent.digest}` }]);
    // The depth limit reached a version without parents: nothing was cut short.
    const shallow = await api(reg, 'GET', `/api/v1/models/fraud/detector/versions/${child.digest}/lineage?direction=ancestors&depth=1`);
    expect(shallow.json['truncated']).toBe(false);
    const down = await api(reg, 'GET', `/api/v1/models/fraud/base/versions/${parent.digest}/lineage?direction=descendants`);
    const nodes = down.json['nodes'] as { id: string; trainingData: { value: unknown; status: string } }[];
    expect(nodes.find((n) => n.id === `fraud/detector@${child.digest}`)?.trainingData).toMatchObject({ value: `sha256:${'1'.repeat(64)}`, status: 'verified' });
  });
});
