/**
 * Sigstore bundle parsing (reference/attestations.md §4, reference/oms.md §1.1): every hostile
 * shape is INVALID_BUNDLE, and every real DSSE bundle we have — the 13 model-transparency
 * `model.sig` files and the sigstore-conformance bundles — parses with the right material.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope, verifyEnvelopeSignature } from '../../src/crypto/dsse.js';
import { generateSigningKey, parsePrivateKey, parsePublicKey } from '../../src/crypto/signing-keys.js';
import { BUNDLE_MEDIA_TYPE, certificateChainBundle, parseBundle, publicKeyBundle } from '../../src/crypto/sigstore-bundle.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const shared = path.resolve(repoRoot, '../shared/interop');
const omsDir = path.join(shared, 'oms/model-transparency');
const conformanceDir = path.join(shared, 'attestations/bundles/sigstore-conformance');

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

const key = parsePrivateKey(generateSigningKey('ed25519').privateKeyPem);
const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{}'), key);
const good = publicKeyBundle(envelope, key.publicKey.keyId);
const goodMaterial = good['verificationMaterial'] as Record<string, unknown>;
const certificateB64 = Buffer.from('not really DER but non-empty').toString('base64');

function deeplyNested(depth: number): string {
  return `{"mediaType":"${BUNDLE_MEDIA_TYPE}","x":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

describe('parseBundle on hostile input', () => {
  it.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0x7d]), /UTF-8/],
    ['text that is not JSON', 'not json', /not valid JSON/],
    ['truncated JSON', JSON.stringify(good).slice(0, -1), /not valid JSON/],
    ['a JSON array', JSON.stringify([good]), /object/],
    ['a JSON string', '"bundle"', /object/],
    ['JSON null', 'null', /object/],
    ['more than maxBytes', JSON.stringify({ ...good, padding: 'x'.repeat(1024 * 1024) }), /larger than/],
    ['nesting deeper than 64 (the object plus 64 arrays)', deeplyNested(64), /deeper than 64/],
    ['a duplicate key', `{"mediaType":"${BUNDLE_MEDIA_TYPE}","mediaType":"${BUNDLE_MEDIA_TYPE}"}`, /duplicate key/],
    ['no mediaType', JSON.stringify({ ...good, mediaType: undefined }), /mediaType/],
    ['a wrong mediaType', JSON.stringify({ ...good, mediaType: 'application/json' }), /mediaType/],
    ['a v0.4 mediaType', JSON.stringify({ ...good, mediaType: 'application/vnd.dev.sigstore.bundle.v0.4+json' }), /mediaType/],
    ['no verificationMaterial', JSON.stringify({ ...good, verificationMaterial: undefined }), /verificationMaterial is missing/],
    ['an empty verificationMaterial', JSON.stringify({ ...good, verificationMaterial: { tlogEntries: [] } }), /no publicKey/],
    ['a non-object verificationMaterial', JSON.stringify({ ...good, verificationMaterial: 'key' }), /verificationMaterial must be an object/],
    [
      'both publicKey and certificate',
      JSON.stringify({ ...good, verificationMaterial: { ...goodMaterial, certificate: { rawBytes: certificateB64 } } }),
      /ambiguous/,
    ],
    [
      'both a certificate and a chain',
      JSON.stringify({
        ...good,
        verificationMaterial: { certificate: { rawBytes: certificateB64 }, x509CertificateChain: { certificates: [{ rawBytes: certificateB64 }] } },
      }),
      /ambiguous/,
    ],
    ['a numeric hint', JSON.stringify({ ...good, verificationMaterial: { publicKey: { hint: 5 } } }), /hint/],
    ['bad publicKey rawBytes', JSON.stringify({ ...good, verificationMaterial: { publicKey: { rawBytes: '***' } } }), /rawBytes/],
    ['an empty certificate chain', JSON.stringify({ ...good, verificationMaterial: { x509CertificateChain: { certificates: [] } } }), /certificates/],
    ['an empty certificate', JSON.stringify({ ...good, verificationMaterial: { certificate: { rawBytes: '' } } }), /rawBytes/],
    ['tlogEntries not an array', JSON.stringify({ ...good, verificationMaterial: { ...goodMaterial, tlogEntries: {} } }), /tlogEntries/],
    [
      'a messageSignature',
      JSON.stringify({ ...good, dsseEnvelope: undefined, messageSignature: { messageDigest: { algorithm: 'SHA2_256', digest: 'AA==' }, signature: 'AA==' } }),
      /messageSignature/,
    ],
    ['both messageSignature and dsseEnvelope', JSON.stringify({ ...good, messageSignature: { signature: 'AA==' } }), /both/],
    ['no dsseEnvelope', JSON.stringify({ ...good, dsseEnvelope: undefined }), /dsseEnvelope is missing/],
    ['a dsseEnvelope with zero signatures', JSON.stringify({ ...good, dsseEnvelope: { ...envelope, signatures: [] } }), /signatures/],
    ['a dsseEnvelope with a bad payload', JSON.stringify({ ...good, dsseEnvelope: { ...envelope, payload: 'e30=!' } }), /payload/],
  ])('rejects %s as INVALID_BUNDLE', (_what, input, message) => {
    const error = errorOf(() => parseBundle(input));
    expect(error.code).toBe('INVALID_BUNDLE');
    expect(error.message).toMatch(message);
  });

  it('accepts 64 levels of nesting (the object plus 63 arrays) and honours a smaller maxBytes', () => {
    const nested = { ...good, x: JSON.parse(`${'['.repeat(63)}${']'.repeat(63)}`) as unknown };
    expect(parseBundle(JSON.stringify(nested)).json['x']).toBeDefined();
    const text = JSON.stringify(good);
    expect(parseBundle(text, { maxBytes: text.length }).mediaType).toBe(BUNDLE_MEDIA_TYPE);
    expect(errorOf(() => parseBundle(text, { maxBytes: text.length - 1 })).code).toBe('INVALID_BUNDLE');
  });
});

describe('parseBundle on bundles Custody writes', () => {
  it('reads a public-key bundle back: hint, no raw key, no tlog entries, the envelope, the JSON', () => {
    const parsed = parseBundle(JSON.stringify(good));
    expect(parsed.mediaType).toBe(BUNDLE_MEDIA_TYPE);
    expect(parsed.material).toEqual({ kind: 'publicKey', hint: key.publicKey.keyId, rawBytes: null });
    expect(parsed.tlogEntries).toEqual([]);
    expect(parsed.envelope.payload.toString()).toBe('{}');
    expect(verifyEnvelopeSignature(parsed.envelope, key.publicKey)).toBe(true);
    expect(parsed.json).toEqual(good);
  });

  it('reads a certificate-chain bundle back, leaf first', () => {
    const chain = [Buffer.from('leaf'), Buffer.from('intermediate')];
    const parsed = parseBundle(Buffer.from(JSON.stringify(certificateChainBundle(envelope, chain))));
    expect(parsed.material).toEqual({ kind: 'x509CertificateChain', certificates: chain });
  });

  it('accepts the v0.1 and v0.2 media types and a null hint', () => {
    for (const version of ['0.1', '0.2', '0.3']) {
      const mediaType = `application/vnd.dev.sigstore.bundle+json;version=${version}`;
      expect(parseBundle(JSON.stringify({ ...good, mediaType })).mediaType).toBe(mediaType);
    }
    const parsed = parseBundle(JSON.stringify({ ...good, verificationMaterial: { publicKey: { hint: null } } }));
    expect(parsed.material).toEqual({ kind: 'publicKey', hint: '', rawBytes: null });
  });
});

describe('parseBundle on real bundles', () => {
  const omsCases = readdirSync(omsDir).sort();

  it('has all 13 model-transparency bundles', () => {
    expect(omsCases).toHaveLength(13);
  });

  it.each(omsCases)('parses model-transparency %s/model.sig', (name) => {
    const bundle = parseBundle(readFileSync(path.join(omsDir, name, 'model.sig')));
    const expectedKind = name.endsWith('-elliptic-key') ? 'publicKey' : name.endsWith('-certificate') ? 'x509CertificateChain' : 'certificate';
    expect(bundle.material.kind).toBe(expectedKind);
    expect(bundle.envelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(bundle.envelope.signatures).toHaveLength(1);
    expect(bundle.tlogEntries).toHaveLength(name.endsWith('-sigstore') ? 1 : 0);
  });

  it('finds the model_signing key under each OMS convention (hint in v1.1, PEM rawBytes before)', () => {
    const omsKey = parsePublicKey(readFileSync(path.join(shared, 'oms/keys/certificate/signing-key-pub.pem')));
    const current = parseBundle(readFileSync(path.join(omsDir, 'v1.1.0-elliptic-key/model.sig')));
    expect(current.material).toEqual({ kind: 'publicKey', hint: omsKey.omsHint, rawBytes: null });
    expect(verifyEnvelopeSignature(current.envelope, omsKey)).toBe(true);
    const old = parseBundle(readFileSync(path.join(omsDir, 'v1.0.0-elliptic-key/model.sig')));
    if (old.material.kind !== 'publicKey' || old.material.rawBytes === null) throw new Error('expected publicKey.rawBytes');
    expect(old.material.hint).toBe('');
    expect(parsePublicKey(old.material.rawBytes).keyId).toBe(omsKey.keyId);
    expect(verifyEnvelopeSignature(old.envelope, omsKey)).toBe(true);
  });

  const conformanceCases = readdirSync(conformanceDir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== 'managed-key-happy-path')
    .map((entry) => entry.name)
    .sort();

  it.each(conformanceCases)('parses sigstore-conformance %s, passing its tlog entries through untouched', (name) => {
    const bytes = readFileSync(path.join(conformanceDir, name, 'bundle.sigstore.json'));
    const bundle = parseBundle(bytes);
    const raw = JSON.parse(bytes.toString('utf8')) as { verificationMaterial: { tlogEntries: unknown[] } };
    expect(bundle.material.kind).toBe('certificate');
    expect(bundle.tlogEntries).toEqual(raw.verificationMaterial.tlogEntries);
    expect(bundle.tlogEntries.length).toBeGreaterThan(0);
    expect(bundle.json).toEqual(raw);
    if (bundle.material.kind === 'certificate') {
      expect(createHash('sha256').update(bundle.material.certificate).digest('hex')).toMatch(/^[0-9a-f]{64}$/);
      expect(bundle.material.certificate[0]).toBe(0x30); // a DER SEQUENCE
    }
  });

  it('refuses the managed-key conformance bundle: it is a messageSignature, not DSSE', () => {
    const error = errorOf(() => parseBundle(readFileSync(path.join(conformanceDir, 'managed-key-happy-path/bundle.sigstore.json'))));
    expect(error.code).toBe('INVALID_BUNDLE');
    expect(error.message).toMatch(/messageSignature/);
  });
});
