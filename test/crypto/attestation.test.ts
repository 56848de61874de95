/**
 * Registry attestations (SPEC §4.2): create → open → verify for every key type, and every way a
 * bundle must be refused — tampered payload, swapped signature, wrong key, a hint naming another
 * key, two signatures, a wrong payloadType, keyless material, a bad statement. The digests that
 * get logged (SPEC §4.4) are recomputed here from the bytes.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { createAttestation, openAttestation, verifyAttestationSignature, type OpenedAttestation } from '../../src/crypto/attestation.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../src/crypto/dsse.js';
import { generateSigningKey, keyHints, parsePrivateKey, type KeyType, type PrivateKeyInfo, type PublicKeyInfo } from '../../src/crypto/signing-keys.js';
import { subjectSha256s } from '../../src/crypto/in-toto-statement.js';
import { certificateChainBundle, publicKeyBundle } from '../../src/crypto/sigstore-bundle.js';

const VERSION_DIGEST = createHash('sha256').update('a model version manifest').digest('hex');
const PREDICATE_TYPE = 'https://custody.dev/attestation/evaluation/v1';

interface BundleJson {
  mediaType: string;
  verificationMaterial: { publicKey: { hint: string }; tlogEntries: unknown[] };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { keyid?: string; sig: string }[] };
}

function newKey(type: KeyType = 'ed25519'): PrivateKeyInfo {
  return parsePrivateKey(generateSigningKey(type).privateKeyPem);
}

function attest(privateKey: PrivateKeyInfo, predicate: Record<string, unknown> = { metrics: { accuracy: 0.93 } }) {
  return createAttestation({
    subjects: [{ name: 'model', digest: { sha256: VERSION_DIGEST } }],
    predicateType: PREDICATE_TYPE,
    predicate,
    privateKey,
  });
}

function edit(bundleJson: string, change: (bundle: BundleJson) => void): Buffer {
  const bundle = JSON.parse(bundleJson) as BundleJson;
  change(bundle);
  return Buffer.from(JSON.stringify(bundle));
}

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

/** The error verifyAttestationSignature throws for `opened` and `key`. */
function verificationError(opened: OpenedAttestation, key: PublicKeyInfo): CustodyError {
  return errorOf(() => {
    verifyAttestationSignature(opened, key);
  });
}

/** PAE written out from the DSSE spec text, independently of src/crypto/dsse.ts. */
function specPae(payloadType: string, payload: Buffer): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

describe('create, open and verify', () => {
  it.each(['ed25519', 'p256', 'p384'] as const)('a %s attestation opens and verifies with its key', (type) => {
    const key = newKey(type);
    const { bundleJson, statement } = attest(key);
    expect(bundleJson.endsWith('}\n')).toBe(true);
    expect(bundleJson).toContain('\n  "verificationMaterial": {\n');
    const bundle = JSON.parse(bundleJson) as BundleJson;
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    expect(bundle.verificationMaterial).toEqual({ publicKey: { hint: key.publicKey.keyId }, tlogEntries: [] });
    expect(bundle.dsseEnvelope.signatures).toEqual([{ keyid: '', sig: expect.any(String) as unknown }]);

    const bytes = Buffer.from(bundleJson);
    const opened = openAttestation(bytes);
    expect(opened.statement).toEqual(statement);
    expect(opened.statement.subject).toEqual([{ name: 'model', digest: { sha256: VERSION_DIGEST } }]);
    expect(opened.statement.predicateType).toBe(PREDICATE_TYPE);
    expect(opened.statement.predicate).toEqual({ metrics: { accuracy: 0.93 } });
    expect(opened.hints).toEqual([key.publicKey.keyId]);
    expect(opened.payload.equals(Buffer.from(bundle.dsseEnvelope.payload, 'base64'))).toBe(true);
    expect(() => {
      verifyAttestationSignature(opened, key.publicKey);
    }).not.toThrow();
  });

  it('signs compact JSON with _type first, exactly the payload bytes it returns', () => {
    const { bundleJson } = attest(newKey());
    const opened = openAttestation(Buffer.from(bundleJson));
    expect(opened.payload.toString('utf8')).toBe(
      `{"_type":"https://in-toto.io/Statement/v1","subject":[{"name":"model","digest":{"sha256":"${VERSION_DIGEST}"}}],` +
        `"predicateType":"${PREDICATE_TYPE}","predicate":{"metrics":{"accuracy":0.93}}}`,
    );
  });

  it('reports the SHA-256 of the bundle bytes as received and of the PAE', () => {
    const { bundleJson } = attest(newKey());
    // Re-indenting changes the bundle digest but not the PAE digest.
    const compact = Buffer.from(JSON.stringify(JSON.parse(bundleJson)));
    const a = openAttestation(Buffer.from(bundleJson));
    const b = openAttestation(compact);
    expect(a.bundleDigest).toBe(sha256(Buffer.from(bundleJson)));
    expect(b.bundleDigest).toBe(sha256(compact));
    expect(a.bundleDigest).not.toBe(b.bundleDigest);
    expect(a.paeDigest).toBe(sha256(specPae(IN_TOTO_PAYLOAD_TYPE, a.payload)));
    expect(b.paeDigest).toBe(a.paeDigest);
  });

  it('accepts the key under each of its hint forms, and a matching envelope keyid', () => {
    const key = newKey('p256');
    const { bundleJson } = attest(key);
    for (const hint of keyHints(key.publicKey)) {
      const opened = openAttestation(
        edit(bundleJson, (b) => {
          b.verificationMaterial.publicKey.hint = hint;
          (b.dsseEnvelope.signatures[0] ?? { sig: '' }).keyid = hint;
        }),
      );
      expect(opened.hints).toEqual([hint]);
      verifyAttestationSignature(opened, key.publicKey);
    }
    const unhinted = openAttestation(edit(bundleJson, (b) => (b.verificationMaterial.publicKey.hint = '')));
    expect(unhinted.hints).toEqual([]);
    verifyAttestationSignature(unhinted, key.publicKey);
  });
});

describe('verification failures', () => {
  it('refuses a tampered payload', () => {
    const key = newKey();
    const { bundleJson } = attest(key);
    const forged = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: 'f'.repeat(64) } }], predicateType: PREDICATE_TYPE, predicate: {} }),
    );
    const opened = openAttestation(edit(bundleJson, (b) => (b.dsseEnvelope.payload = forged.toString('base64'))));
    expect(opened.statement.subject[0]?.digest['sha256']).toBe('f'.repeat(64));
    expect(verificationError(opened, key.publicKey).code).toBe('SIGNATURE_INVALID');
  });

  it('refuses a signature swapped in from another attestation by the same key', () => {
    const key = newKey('p384');
    const first = attest(key, { metrics: { accuracy: 0.5 } });
    const second = JSON.parse(attest(key, { metrics: { accuracy: 0.99 } }).bundleJson) as BundleJson;
    const swapped = edit(first.bundleJson, (b) => (b.dsseEnvelope.signatures = second.dsseEnvelope.signatures));
    expect(verificationError(openAttestation(swapped), key.publicKey).code).toBe('SIGNATURE_INVALID');
  });

  it('refuses a wrong key (hint removed, so only the signature decides)', () => {
    const { bundleJson } = attest(newKey('p256'));
    const opened = openAttestation(edit(bundleJson, (b) => (b.verificationMaterial.publicKey.hint = '')));
    const error = verificationError(opened, newKey('p256').publicKey);
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toMatch(/does not verify/);
  });

  it('refuses a bundle whose hint names another key, saying so', () => {
    const signer = newKey();
    const other = newKey();
    const { bundleJson } = attest(signer);
    const misnamed = openAttestation(edit(bundleJson, (b) => (b.verificationMaterial.publicKey.hint = other.publicKey.keyId)));
    const error = verificationError(misnamed, signer.publicKey);
    expect(error.code).toBe('SIGNATURE_INVALID');
    expect(error.message).toMatch(/names another signer key/);
    // Named correctly, the signature is still the signer's: the other key does not verify it.
    expect(verificationError(misnamed, other.publicKey).message).toMatch(/does not verify/);
    // The unauthenticated envelope keyid may not name another key either.
    const keyidElsewhere = openAttestation(edit(bundleJson, (b) => ((b.dsseEnvelope.signatures[0] ?? { sig: '' }).keyid = other.publicKey.keyId)));
    expect(keyidElsewhere.hints).toEqual([signer.publicKey.keyId, other.publicKey.keyId]);
    expect(verificationError(keyidElsewhere, signer.publicKey).code).toBe('SIGNATURE_INVALID');
  });
});

describe('openAttestation refusals', () => {
  it('refuses two signatures with MULTIPLE_SIGNATURES, even when both are valid', () => {
    const key = newKey();
    const { bundleJson } = attest(key);
    const doubled = edit(bundleJson, (b) => {
      const only = b.dsseEnvelope.signatures[0] ?? { sig: '' };
      b.dsseEnvelope.signatures = [only, { ...only }];
    });
    expect(errorOf(() => openAttestation(doubled)).code).toBe('MULTIPLE_SIGNATURES');
  });

  it('refuses zero signatures as INVALID_BUNDLE', () => {
    const { bundleJson } = attest(newKey());
    expect(errorOf(() => openAttestation(edit(bundleJson, (b) => (b.dsseEnvelope.signatures = [])))).code).toBe('INVALID_BUNDLE');
  });

  it('refuses a payloadType other than application/vnd.in-toto+json, even correctly signed', () => {
    const key = newKey();
    const payload = Buffer.from(openAttestation(Buffer.from(attest(key).bundleJson)).payload);
    const bundle = publicKeyBundle(signEnvelope('application/json', payload, key), key.publicKey.keyId);
    const error = errorOf(() => openAttestation(Buffer.from(JSON.stringify(bundle))));
    expect(error.code).toBe('INVALID_BUNDLE');
    expect(error.message).toMatch(/payloadType/);
  });

  it('refuses certificate (keyless) material as UNSUPPORTED_ALGORITHM: registry attestations use registered keys', () => {
    const key = newKey();
    const payload = openAttestation(Buffer.from(attest(key).bundleJson)).payload;
    const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, key);
    const chained = certificateChainBundle(envelope, [Buffer.from('leaf')]);
    const error = errorOf(() => openAttestation(Buffer.from(JSON.stringify(chained))));
    expect(error.code).toBe('UNSUPPORTED_ALGORITHM');
    expect(error.message).toMatch(/registered keys/);
    const keyless = { ...chained, verificationMaterial: { certificate: { rawBytes: Buffer.from('leaf').toString('base64') }, tlogEntries: [] } };
    expect(errorOf(() => openAttestation(Buffer.from(JSON.stringify(keyless)))).code).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('refuses a payload that is not a valid statement as INVALID_STATEMENT', () => {
    const key = newKey();
    const bad = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ digest: { sha256: '78ab6a8...' } }], predicateType: PREDICATE_TYPE }));
    const bundle = publicKeyBundle(signEnvelope(IN_TOTO_PAYLOAD_TYPE, bad, key), key.publicKey.keyId);
    expect(errorOf(() => openAttestation(Buffer.from(JSON.stringify(bundle)))).code).toBe('INVALID_STATEMENT');
  });

  it('passes maxBytes on to the bundle parser', () => {
    const bytes = Buffer.from(attest(newKey()).bundleJson);
    expect(errorOf(() => openAttestation(bytes, { maxBytes: 100 })).code).toBe('INVALID_BUNDLE');
  });
});

describe('statement checks on ingest (in-toto Statement v1)', () => {
  const key = newKey();
  const subject = [{ digest: { sha256: VERSION_DIGEST } }];
  const base = { _type: 'https://in-toto.io/Statement/v1', subject, predicateType: PREDICATE_TYPE, predicate: {} };

  /** A correctly signed bundle around arbitrary payload bytes. */
  function signedBundle(payload: Buffer | string): Buffer {
    const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    return Buffer.from(JSON.stringify(publicKeyBundle(signEnvelope(IN_TOTO_PAYLOAD_TYPE, bytes, key), key.publicKey.keyId)));
  }

  it.each([
    ['a v0.1 _type', { ...base, _type: 'https://in-toto.io/Statement/v0.1' }, '_type'],
    ['no subject', { ...base, subject: undefined }, 'subject'],
    ['an empty subject list', { ...base, subject: [] }, 'subject'],
    ['a subject that is not an object', { ...base, subject: ['sha256:abc'] }, 'subject[0]'],
    ['a subject without digest', { ...base, subject: [{ name: 'model' }] }, 'subject[0].digest'],
    ['an empty digest set', { ...base, subject: [{ digest: {} }] }, 'subject[0].digest'],
    ['a numeric digest value', { ...base, subject: [{ digest: { gitCommit: 5 } }] }, 'subject[0].digest.gitCommit'],
    ['a non-string subject name', { ...base, subject: [{ name: 1, digest: { sha256: VERSION_DIGEST } }] }, 'subject[0].name'],
    ['a short sha512', { ...base, subject: [...subject, { digest: { sha512: 'ab' } }] }, 'subject[1].digest.sha512'],
    ['no predicateType', { ...base, predicateType: undefined }, 'predicateType'],
    ['a relative predicateType', { ...base, predicateType: '/attestation/evaluation/v1' }, 'predicateType'],
    ['a predicateType with spaces', { ...base, predicateType: 'https://custody.dev/a b' }, 'predicateType'],
    ['a predicate that is an array', { ...base, predicate: [] }, 'predicate'],
    ['a payload that is an array', [base], 'statement'],
  ])('refuses %s as INVALID_STATEMENT naming the field', (_what, statement, field) => {
    const error = errorOf(() => openAttestation(signedBundle(JSON.stringify(statement))));
    expect(error.code).toBe('INVALID_STATEMENT');
    expect(error.details?.['field']).toBe(field);
  });

  it.each([
    ['invalid UTF-8', Buffer.concat([Buffer.from('{"_type":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]), /UTF-8/],
    ['a byte-order mark', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify(base))]), /not valid JSON/],
    ['not JSON', Buffer.from('{"_type":'), /not valid JSON/],
    ['a duplicate subject key', Buffer.from(JSON.stringify(base).replace('"subject":', '"subject":[],"subject":')), /duplicate key "subject"/],
    ['nesting deeper than 64', Buffer.from(JSON.stringify({ ...base, predicate: { x: JSON.parse(`${'['.repeat(63)}${']'.repeat(63)}`) as unknown } })), /deeper than 64/],
  ])('refuses a payload with %s as INVALID_STATEMENT', (_what, payload, message) => {
    const error = errorOf(() => openAttestation(signedBundle(payload)));
    expect(error.code).toBe('INVALID_STATEMENT');
    expect(error.message).toMatch(message);
  });

  it('reads a missing predicate as {}, keeps unknown subject fields, and lists the subject sha256s', () => {
    const other = 'b'.repeat(64);
    const opened = openAttestation(
      signedBundle(JSON.stringify({ ...base, predicate: undefined, subject: [{ digest: { sha256: VERSION_DIGEST }, uri: 'custody:ns/model' }, { digest: { gitCommit: 'abc', sha256: other } }] })),
    );
    expect(opened.statement.predicate).toEqual({});
    expect(opened.statement.subject[0]?.['uri']).toBe('custody:ns/model');
    expect(subjectSha256s(opened.statement)).toEqual([VERSION_DIGEST, other]);
  });
});

describe('createAttestation refusals', () => {
  it.each([
    ['a predicate that is not an object', { predicate: ['x'] }],
    ['a predicateType that is not a URI', { predicateType: 'evaluation' }],
    ['no subjects', { subjects: [] }],
    ['an upper-case sha256', { subjects: [{ digest: { sha256: VERSION_DIGEST.toUpperCase() } }] }],
  ])('refuses %s as INVALID_STATEMENT', (_what, change) => {
    const options = { subjects: [{ digest: { sha256: VERSION_DIGEST } }], predicateType: PREDICATE_TYPE, predicate: {} as unknown, privateKey: newKey(), ...change };
    expect(errorOf(() => createAttestation(options)).code).toBe('INVALID_STATEMENT');
  });
});
