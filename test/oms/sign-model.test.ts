/**
 * `signModel` writes what `model_signing` writes (reference/oms.md §6.4): a v0.3 bundle with
 * `publicKey.hint` = hex SHA-256 of the SPKI PEM (or the X.509 chain), `tlogEntries: []`,
 * `keyid: ""`, a `files`/sha256 statement with the excluded paths recorded and resources in
 * code-point order; and what it writes verifies through the same path as the upstream vectors.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateSigningKey, type KeyType } from '../../src/crypto/signing-keys.js';
import { parseBundle } from '../../src/crypto/sigstore-bundle.js';
import { parseOmsStatement } from '../../src/oms/oms-statement.js';
import { createModelSignature, signModel } from '../../src/oms/sign-model.js';
import { verifyModel } from '../../src/oms/verify-model.js';
import { omsPath, omsText, rejectionOf, tempDir } from './oms-test-data.js';

const work = tempDir('sign');
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** A model whose names sort differently by path components (Python) and by code point (spec). */
function makeModel(): string {
  const model = path.join(mkdtempSync(path.join(work, 'm-')), 'my-model');
  mkdirSync(path.join(model, 'a'), { recursive: true });
  mkdirSync(path.join(model, '.git'), { recursive: true });
  writeFileSync(path.join(model, 'a', 'b'), 'nested');
  writeFileSync(path.join(model, 'a-b'), 'dash');
  writeFileSync(path.join(model, 'a.txt'), 'dot');
  writeFileSync(path.join(model, 'B'), 'upper');
  writeFileSync(path.join(model, 'é.bin'), 'accent');
  writeFileSync(path.join(model, 'notes.md'), 'skip me');
  writeFileSync(path.join(model, '.git', 'HEAD'), 'ref');
  return model;
}

interface WrittenBundle {
  mediaType: string;
  verificationMaterial: unknown;
  dsseEnvelope: { payload: string; payloadType: string; signatures: { keyid: string; sig: string }[] };
}

interface WrittenStatement {
  _type: string;
  predicateType: string;
  subject: { name: string; digest: { sha256: string } }[];
  predicate: { resources: { name: string; algorithm: string; digest: string }[]; serialization: unknown };
}

describe('signModel', () => {
  it.each(['p256', 'p384', 'ed25519'] as KeyType[])('a %s signature verifies through the vector verification path', async (type) => {
    const model = makeModel();
    const pair = generateSigningKey(type);
    const signaturePath = path.join(model, 'model.sig');
    writeFileSync(signaturePath, await signModel({ modelPath: model, privateKeyPem: pair.privateKeyPem, signaturePath, ignorePaths: ['notes.md'] }));
    const result = await verifyModel({ modelPath: model, signaturePath, method: { kind: 'key', publicKeyPem: pair.publicKeyPem } });
    expect(result.keyId).toBe(pair.keyId);
    expect(result.files.map((f) => f.path)).toEqual(['B', 'a-b', 'a.txt', 'a/b', 'é.bin']);
  });

  it('writes the bundle shape model_signing writes, with the upstream SEC1 test key', async () => {
    const model = makeModel();
    const signaturePath = path.join(model, 'model.sig');
    const text = await signModel({ modelPath: model, privateKeyPem: omsText('keys/certificate/signing-key.pem'), signaturePath, ignorePaths: ['notes.md'] });
    expect(text).toBe(JSON.stringify(JSON.parse(text), null, 2));
    const bundle = JSON.parse(text) as WrittenBundle;
    expect(Object.keys(bundle)).toEqual(['mediaType', 'verificationMaterial', 'dsseEnvelope']);
    expect(bundle.mediaType).toBe('application/vnd.dev.sigstore.bundle.v0.3+json');
    // The hint model_signing computes for this key (reference/oms.md §3).
    expect(bundle.verificationMaterial).toEqual({ publicKey: { hint: 'e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e' }, tlogEntries: [] });
    expect(bundle.dsseEnvelope.payloadType).toBe('application/vnd.in-toto+json');
    expect(bundle.dsseEnvelope.signatures).toHaveLength(1);
    expect(bundle.dsseEnvelope.signatures[0]?.keyid).toBe('');

    const statement = JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as WrittenStatement;
    expect(statement._type).toBe('https://in-toto.io/Statement/v1');
    expect(statement.predicateType).toBe('https://model_signing/signature/v1.0');
    expect(statement.subject).toHaveLength(1);
    expect(statement.subject[0]?.name).toBe('my-model');
    // Code-point order of the full name: 'B' < 'a-b' < 'a.txt' < 'a/b' < 'é.bin'.
    expect(statement.predicate.resources.map((r) => r.name)).toEqual(['B', 'a-b', 'a.txt', 'a/b', 'é.bin']);
    expect(statement.predicate.resources.every((r) => r.algorithm === 'sha256')).toBe(true);
    expect(statement.predicate.serialization).toEqual({
      method: 'files',
      hash_type: 'sha256',
      allow_symlinks: false,
      ignore_paths: ['.git', '.gitattributes', '.github', '.gitignore', 'model.sig', 'notes.md'],
    });
    const parsed = parseOmsStatement(Buffer.from(bundle.dsseEnvelope.payload, 'base64'));
    expect(statement.subject[0]?.digest.sha256).toBe(parsed.rootDigest);

    writeFileSync(signaturePath, text);
    const verified = await verifyModel({ modelPath: model, signaturePath, method: { kind: 'key', publicKeyPem: omsText('keys/certificate/signing-key-pub.pem') } });
    expect(verified.rootDigest).toBe(`sha256:${parsed.rootDigest ?? ''}`);
  });

  it('a signature outside the model is not recorded, and the model verifies without ignoring it', async () => {
    const model = makeModel();
    const signaturePath = path.join(path.dirname(model), 'my-model.sig');
    const signed = await createModelSignature({ modelPath: model, privateKeyPem: generateSigningKey('p256').privateKeyPem, signaturePath });
    expect(signed.ignorePaths).toEqual(['.git', '.gitattributes', '.github', '.gitignore']);
    expect(signed.files).toBe(6);
  });

  it('signs a single-file model with resource "." (what the Python verifier expects) and the file name as subject', async () => {
    const dir = mkdtempSync(path.join(work, 'single-'));
    const file = path.join(dir, 'model.safetensors');
    writeFileSync(file, 'tensor bytes');
    const pair = generateSigningKey('p384');
    const signaturePath = path.join(dir, 'model.sig');
    writeFileSync(signaturePath, await signModel({ modelPath: file, privateKeyPem: pair.privateKeyPem, signaturePath }));
    const statement = parseOmsStatement(parseBundle(readFileSync(signaturePath)).envelope.payload);
    expect(statement.resources.map((r) => r.name)).toEqual(['.']);
    expect(statement.subjectName).toBe('model.safetensors');
    const result = await verifyModel({ modelPath: file, signaturePath, method: { kind: 'key', publicKeyPem: pair.publicKeyPem } });
    expect(result.files.map((f) => f.path)).toEqual(['model.safetensors']);
  });

  it('signs with the certificate method: the chain is carried leaf first and verifies to the root CA', async () => {
    const model = makeModel();
    const signaturePath = path.join(work, 'cert-method.sig');
    const chainPem = omsText('keys/certificate/signing-key-cert.pem') + omsText('keys/certificate/int-ca-cert.pem');
    const text = await signModel({ modelPath: model, privateKeyPem: omsText('keys/certificate/signing-key.pem'), signaturePath, certificateChainPem: chainPem });
    const bundle = parseBundle(text);
    expect(bundle.material.kind).toBe('x509CertificateChain');
    expect(bundle.tlogEntries).toEqual([]);
    writeFileSync(signaturePath, text);
    const result = await verifyModel({ modelPath: model, signaturePath, method: { kind: 'certificate', anchorsPem: [omsText('keys/certificate/ca-cert.pem')] } });
    expect(result.signer).toBe('certificate "CN=intermediate-ca" under trust anchor "CN=root-ca"');
  });

  it('refuses a certificate chain whose leaf does not hold the signing key', async () => {
    const error = await rejectionOf(
      signModel({ modelPath: makeModel(), privateKeyPem: generateSigningKey('p384').privateKeyPem, certificateChainPem: omsText('keys/certificate/signing-key-cert.pem') }),
    );
    expect(error.code).toBe('USAGE');
  });

  it('refuses an empty model and an unsupported key', async () => {
    const empty = mkdtempSync(path.join(work, 'empty-'));
    expect((await rejectionOf(signModel({ modelPath: empty, privateKeyPem: generateSigningKey('p256').privateKeyPem }))).code).toBe('EMPTY_MODEL');
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect((await rejectionOf(signModel({ modelPath: makeModel(), privateKeyPem: rsa }))).code).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('the two-file model of the spec vectors signs to the root digest model_signing gave it', async () => {
    const signed = await createModelSignature({ modelPath: omsPath('models/simple'), privateKeyPem: generateSigningKey('p256').privateKeyPem, ignorePaths: ['ignore-me'] });
    expect(signed.rootDigest).toBe('sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4');
  });
});
