/**
 * SLSA Verification Summary Attestations (SPEC §2, §4.2; https://slsa.dev/spec/v1.0/verification_summary):
 * the statement Custody builds for an allowed promotion, its signed bundle, the independent
 * check by @sigstore/verify 3.1.1, and every refusal of the deployer-side `verifyVsa`.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type Signer } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { createAttestation } from '../../src/crypto/attestation.js';
import { generateSigningKey, parsePrivateKey, type PublicKeyInfo } from '../../src/crypto/signing-keys.js';
import { CustodyError } from '../../src/domain/errors.js';
import { loadOrCreateVsaKey, type VsaKey } from '../../src/promotion/vsa-key.js';
import {
  buildVsaStatement,
  MAX_VSA_BYTES,
  signVsa,
  verifyVsa,
  VSA_PREDICATE_TYPE,
  VSA_PROMOTION_FIELD,
  type VsaFacts,
} from '../../src/promotion/vsa.js';
import { CUSTODY_VERSION } from '../../src/version.js';

const hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A VSA key generated in memory (the key file itself is vsa-key.test.ts's subject). */
function newVsaKey(): VsaKey {
  const privateKey = parsePrivateKey(generateSigningKey('ed25519').privateKeyPem);
  return { privateKey, publicKey: privateKey.publicKey, keyId: privateKey.publicKey.keyId, publicKeyPem: privateKey.publicKey.pem };
}

const facts: VsaFacts = {
  verifierId: 'https://custody.local/custody',
  timeVerified: '2026-03-01T12:00:00.000Z',
  model: { namespace: 'fraud', name: 'fraud-detector' },
  versionDigest: `sha256:${hex('manifest v3')}`,
  environment: 'production',
  policy: { uri: 'https://custody.local/api/v1/policies/production/4', digest: `sha256:${hex('effective policy')}` },
  inputAttestations: [
    { uri: 'https://custody.local/api/v1/attestations/a1', digest: `sha256:${hex('provenance bundle')}` },
    { uri: 'https://custody.local/api/v1/attestations/a2', digest: `sha256:${hex('scan bundle')}` },
  ],
  decisionId: 'Xq3mC0rM2f4tV9bP1aYw7g',
};

const key = newVsaKey();
const expected = { publicKey: key.publicKey, expectedDigest: facts.versionDigest, expectedEnvironment: 'production' };

/** The CustodyError `fn` throws (fails the test when it throws nothing or something else). */
function errorOf(fn: () => unknown): CustodyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CustodyError) return error;
    throw error;
  }
  throw new Error('expected a CustodyError, nothing was thrown');
}

/** verifyVsa's refusal: always VERIFICATION_FAILED; returns `[check, message]`. */
function refusal(bundleText: unknown, options: Partial<typeof expected> = {}): [unknown, string] {
  const error = errorOf(() => verifyVsa(bundleText as string, { ...expected, ...options }));
  expect(error.code).toBe('VERIFICATION_FAILED');
  return [error.details?.['check'], error.message];
}

/** A bundle signed by `signer` over the VSA statement of `facts`, with its predicate edited. */
function signedWithPredicate(edit: (predicate: Record<string, unknown>) => void, options: { predicateType?: string; signer?: VsaKey } = {}): string {
  const statement = buildVsaStatement(facts);
  const predicate = structuredClone(statement.predicate) as Record<string, unknown>;
  edit(predicate);
  return createAttestation({
    subjects: statement.subject,
    predicateType: options.predicateType ?? VSA_PREDICATE_TYPE,
    predicate,
    privateKey: (options.signer ?? key).privateKey,
  }).bundleJson;
}

interface BundleJson {
  verificationMaterial: { publicKey: { hint: string } };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] };
}

describe('buildVsaStatement', () => {
  it('states the VSA v1 fields for the model, its digest and the environment', () => {
    const statement = buildVsaStatement(facts);
    expect(statement).toEqual({
      subject: [{ name: 'fraud/fraud-detector', digest: { sha256: hex('manifest v3') } }],
      predicateType: 'https://slsa.dev/verification_summary/v1',
      predicate: {
        verifier: { id: 'https://custody.local/custody', version: { custody: CUSTODY_VERSION } },
        timeVerified: '2026-03-01T12:00:00.000Z',
        resourceUri: `custody:fraud/fraud-detector@sha256:${hex('manifest v3')}`,
        policy: { uri: 'https://custody.local/api/v1/policies/production/4', digest: { sha256: hex('effective policy') } },
        inputAttestations: [
          { uri: 'https://custody.local/api/v1/attestations/a1', digest: { sha256: hex('provenance bundle') } },
          { uri: 'https://custody.local/api/v1/attestations/a2', digest: { sha256: hex('scan bundle') } },
        ],
        verificationResult: 'PASSED',
        verifiedLevels: ['CUSTODY_POLICY_PASSED'],
        slsaVersion: '1.0',
        'https://custody.dev/verification_summary/promotion/v1': { environment: 'production', decisionId: 'Xq3mC0rM2f4tV9bP1aYw7g' },
      },
    });
  });

  it.each([
    ['versionDigest', { versionDigest: hex('x') }],
    ['policy.digest', { policy: { uri: 'https://custody.local/p', digest: 'sha256:ABC' } }],
    ['inputAttestations[0].digest', { inputAttestations: [{ uri: 'https://custody.local/a', digest: 'md5:00' }] }],
    ['inputAttestations[0].uri', { inputAttestations: [{ uri: 'not a uri', digest: `sha256:${hex('a')}` }] }],
    ['verifierId', { verifierId: 'custody' }],
    ['timeVerified', { timeVerified: 'yesterday' }],
    ['model.namespace', { model: { namespace: 'Fraud', name: 'm' } }],
    ['model.name', { model: { namespace: 'fraud', name: '../m' } }],
    ['environment', { environment: '' }],
    ['decisionId', { decisionId: 'a b' }],
  ] as const)('refuses a malformed %s fact', (field, change) => {
    const error = errorOf(() => buildVsaStatement({ ...facts, ...change }));
    expect(error.code).toBe('INVALID_STATEMENT');
    expect(error.details).toEqual({ field });
  });
});

describe('signVsa and verifyVsa', () => {
  it('round trip: a Sigstore bundle v0.3 with one DSSE signature named by the key id, verified with the pinned key', () => {
    const bundleText = signVsa(facts, key);
    const bundle = JSON.parse(bundleText) as BundleJson & { mediaType: string };
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial.publicKey.hint).toBe(key.keyId);
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(bundle.dsseEnvelope.signatures).toHaveLength(1);

    const verified = verifyVsa(bundleText, expected);
    expect(verified.statement).toEqual(buildVsaStatement(facts));
    expect(verified.facts).toEqual({
      versionDigest: facts.versionDigest,
      environment: 'production',
      policyDigest: facts.policy.digest,
      timeVerified: facts.timeVerified,
      resourceUri: `custody:fraud/fraud-detector@sha256:${hex('manifest v3')}`,
    });
  });

  it('verifies against the pinned key given as PEM text, and with a key loaded from its file', async () => {
    expect(verifyVsa(signVsa(facts, key), { ...expected, publicKey: key.publicKeyPem }).facts.environment).toBe('production');
    const dir = await mkdtemp(path.join(tmpdir(), 'custody-vsa-'));
    try {
      const fileKey = await loadOrCreateVsaKey(path.join(dir, 'keys', 'vsa.key'));
      const reloaded = await loadOrCreateVsaKey(path.join(dir, 'keys', 'vsa.key'));
      expect(verifyVsa(signVsa(facts, fileKey), { ...expected, publicKey: reloaded.publicKeyPem }).facts.versionDigest).toBe(facts.versionDigest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a VSA without input attestations verifies too', () => {
    expect(verifyVsa(signVsa({ ...facts, inputAttestations: [] }, key), expected).statement.predicate['inputAttestations']).toEqual([]);
  });
});

describe('an independent verifier (@sigstore/verify 3.1.1) accepts the VSA', () => {
  /** A verifier that trusts exactly `publicKey`, found by Custody's key-id hint; no tlog, SCT or timestamp needed. */
  function sigstoreVerify(bundleJson: string, publicKey: PublicKeyInfo): Signer {
    const trust = toTrustMaterial(TrustedRoot.fromJSON({}), (hint: string) => {
      if (hint !== publicKey.keyId) throw new Error(`unknown key hint ${hint}`);
      return { publicKey: publicKey.key, validFor: () => true };
    });
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    return verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(bundleJson))));
  }

  it('the signed VSA verifies with the VSA public key', () => {
    const signer = sigstoreVerify(signVsa(facts, key), key.publicKey);
    expect(signer.key.equals(key.publicKey.key)).toBe(true);
  });

  it('and fails there when the payload is edited or another key is trusted under the same id', () => {
    const bundleText = signVsa(facts, key);
    const bundle = JSON.parse(bundleText) as BundleJson;
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replace('"production"', '"staging"');
    bundle.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
    expect(() => sigstoreVerify(JSON.stringify(bundle), key.publicKey)).toThrow(/signature verification failed/);
    const other = newVsaKey().publicKey;
    expect(() => sigstoreVerify(bundleText, { ...other, keyId: key.keyId })).toThrow(/signature verification failed/);
  });
});

describe('verifyVsa refuses', () => {
  const bundleText = signVsa(facts, key);

  it('a VSA for another digest', () => {
    const [check, message] = refusal(bundleText, { expectedDigest: `sha256:${hex('manifest v4')}` });
    expect(check).toBe('digest');
    expect(message).toBe(`the VSA is for another version: its subject is ${facts.versionDigest}, expected sha256:${hex('manifest v4')}`);
  });

  it('a VSA for another environment', () => {
    const [check, message] = refusal(signVsa({ ...facts, environment: 'staging' }, key));
    expect(check).toBe('environment');
    expect(message).toBe('the VSA is for environment "staging", not "production"');
  });

  it('a tampered payload', () => {
    const bundle = JSON.parse(bundleText) as BundleJson;
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replace('"production"', '"prod"');
    bundle.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
    const [check, message] = refusal(JSON.stringify(bundle), { expectedEnvironment: 'prod' });
    expect(check).toBe('signature');
    expect(message).toMatch(/^the VSA signature is not valid for the pinned VSA key [0-9a-f]{64}: the DSSE signature does not verify/);
  });

  it('a signature by another key, whether it names its own key or the pinned one', () => {
    const other = newVsaKey();
    const [check, message] = refusal(signVsa(facts, other));
    expect(check).toBe('signature');
    expect(message).toMatch(/names another signer key/);

    const forged = JSON.parse(signVsa(facts, other)) as BundleJson;
    forged.verificationMaterial.publicKey.hint = key.keyId;
    const [forgedCheck, forgedMessage] = refusal(JSON.stringify(forged));
    expect(forgedCheck).toBe('signature');
    expect(forgedMessage).toMatch(/the DSSE signature does not verify with key/);
  });

  it('a statement of another predicate type, even signed by the VSA key', () => {
    const [check, message] = refusal(signedWithPredicate(() => undefined, { predicateType: 'https://in-toto.io/attestation/test-result/v0.1' }));
    expect(check).toBe('predicate-type');
    expect(message).toMatch(/^not a VSA: predicateType is "https:\/\/in-toto.io\/attestation\/test-result\/v0.1"/);
  });

  it('verificationResult FAILED, and levels that say FAILED', () => {
    const [check, message] = refusal(
      signedWithPredicate((p) => {
        p['verificationResult'] = 'FAILED';
      }),
    );
    expect(check).toBe('result');
    expect(message).toBe(`the VSA's verificationResult is "FAILED", not "PASSED"`);
    const [levelCheck] = refusal(
      signedWithPredicate((p) => {
        p['verifiedLevels'] = ['CUSTODY_POLICY_PASSED', 'FAILED'];
      }),
    );
    expect(levelCheck).toBe('levels');
  });

  it('two signatures, even when both are valid', () => {
    const bundle = JSON.parse(bundleText) as BundleJson;
    const first = bundle.dsseEnvelope.signatures[0];
    if (first === undefined) throw new Error('no signature');
    bundle.dsseEnvelope.signatures = [first, { ...first }];
    const [check, message] = refusal(JSON.stringify(bundle));
    expect(check).toBe('signatures');
    expect(message).toMatch(/exactly one .*this one has 2/);
  });

  it('garbage and input that is not text', () => {
    for (const garbage of ['', 'not json', '[]', '{"mediaType":1}', '{"a":1,"a":2}', '['.repeat(100_000), '\u0000\ud800']) {
      const [check, message] = refusal(garbage);
      expect(check).toBe('bundle');
      expect(message).toMatch(/^the VSA bundle is malformed: /);
    }
    for (const value of [undefined, null, 42, Buffer.from(bundleText), { mediaType: 'x' }]) {
      expect(refusal(value)).toEqual(['bundle', 'the VSA bundle must be JSON text']);
    }
  });

  it('oversized input, before parsing it', () => {
    expect(refusal(`${bundleText}${' '.repeat(MAX_VSA_BYTES)}`)).toEqual(['size', `the VSA bundle is larger than ${MAX_VSA_BYTES} bytes`]);
    // Multi-byte characters count as bytes, not as UTF-16 code units.
    expect(refusal('é'.repeat(MAX_VSA_BYTES / 2 + 1))[0]).toBe('size');
  });

  it('a resourceUri that does not name the subject', () => {
    const [check, message] = refusal(
      signedWithPredicate((p) => {
        p['resourceUri'] = `custody:fraud/fraud-detector@sha256:${hex('manifest v4')}`;
      }),
    );
    expect(check).toBe('resource-uri');
    expect(message).toMatch(/resourceUri names sha256:[0-9a-f]{64}, but its subject is sha256:/);
    const [otherModel, otherMessage] = refusal(
      signedWithPredicate((p) => {
        p['resourceUri'] = `custody:vision/other@sha256:${hex('manifest v3')}`;
      }),
    );
    expect(otherModel).toBe('resource-uri');
    expect(otherMessage).toMatch(/names vision\/other, but its subject is named "fraud\/fraud-detector"/);
    expect(refusal(signedWithPredicate((p) => (p['resourceUri'] = 'https://example.com/m')))[0]).toBe('resource-uri');
  });

  it('a VSA that names no environment, or a malformed policy, verifier, time or input attestation', () => {
    expect(refusal(signedWithPredicate((p) => (p[VSA_PROMOTION_FIELD] = undefined)))).toEqual([
      'environment',
      `the VSA names no environment (${VSA_PROMOTION_FIELD}.environment)`,
    ]);
    expect(refusal(signedWithPredicate((p) => (p['policy'] = { uri: 'https://custody.local/p' })))[0]).toBe('policy');
    expect(refusal(signedWithPredicate((p) => (p['verifier'] = { id: 'custody' })))[0]).toBe('verifier');
    expect(refusal(signedWithPredicate((p) => (p['timeVerified'] = 'last tuesday')))[0]).toBe('time');
    expect(refusal(signedWithPredicate((p) => (p['inputAttestations'] = [{ uri: 'https://custody.local/a' }])))[0]).toBe('input-attestations');
  });

  it('bad expectations and an unusable pinned key, as verification failures', () => {
    expect(refusal(bundleText, { expectedDigest: hex('manifest v3') })[0]).toBe('expected');
    expect(refusal(bundleText, { expectedEnvironment: '' })[0]).toBe('expected');
    expect(refusal(bundleText, { publicKey: 'not a key' as unknown as PublicKeyInfo })[0]).toBe('key');
    expect(refusal(bundleText, { publicKey: parsePrivateKey(generateSigningKey('ed25519').privateKeyPem).publicKey })[0]).toBe('signature');
  });
});
