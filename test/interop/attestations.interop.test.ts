/**
 * Acceptance: Custody's attestation primitives agree with the world.
 * - Every example statement in interop/attestations/statements parses (the ones index.json
 *   marks as carrying truncated placeholder digests only without strict DigestSets).
 * - The generated Ed25519 bundle in dsse-vectors.json opens and verifies.
 * - For the sigstore-conformance bundles, the DSSE signature check gives `dsse_signature_valid`
 *   of bundles/index.json (leaf certificate key; signature only, no chain or tlog).
 * - An independent verifier, @sigstore/verify, accepts the bundles `createAttestation` makes
 *   (Ed25519, P-256 — it hashes ECDSA with SHA-256 only, so not P-384) and refuses tampered ones.
 * Data: ../../../shared/interop/attestations (README.md there); format: reference/attestations.md.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type Signer } from '@sigstore/verify';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CustodyError } from '../../src/domain/errors.js';
import { createAttestation, openAttestation, verifyAttestationSignature } from '../../src/crypto/attestation.js';
import { verifyEnvelopeSignature } from '../../src/crypto/dsse.js';
import { parseStatement } from '../../src/crypto/in-toto-statement.js';
import {
  generateSigningKey,
  keyHints,
  parsePrivateKey,
  parsePublicKey,
  publicKeyInfoFromKeyObject,
  verifyData,
  type PrivateKeyInfo,
  type PublicKeyInfo,
} from '../../src/crypto/signing-keys.js';
import { parseBundle } from '../../src/crypto/sigstore-bundle.js';

// CI clones the repository next to shared/, so locate it from this file, never by absolute path.
const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const attestationsDir = path.resolve(repoRoot, '../shared/interop/attestations');
const omsDir = path.resolve(repoRoot, '../shared/interop/oms');

function readJson(file: string): unknown {
  return JSON.parse(readFileSync(file, 'utf8'));
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

describe('example statements (statements/index.json)', () => {
  const index = z
    .object({ statements: z.array(z.object({ file: z.string(), predicateType: z.string(), note: z.string().optional() })) })
    .parse(readJson(path.join(attestationsDir, 'statements/index.json'))).statements;
  /**
   * index.json's notes say which upstream examples carry truncated placeholder digests
   * ('78ab6a8...'); other notes mention placeholders that were removed, not digests.
   */
  const hasPlaceholders = (note: string | undefined): boolean => /digest/i.test(note ?? '') && /placeholder/i.test(note ?? '');

  it('lists every statement file, three of them with placeholder digests', () => {
    const files = readdirSync(path.join(attestationsDir, 'statements')).filter((f) => f !== 'index.json');
    expect(index.map((s) => path.basename(s.file)).sort()).toEqual(files.sort());
    expect(index.filter((s) => hasPlaceholders(s.note)).map((s) => path.basename(s.file)).sort()).toEqual([
      'scai-v0.3.in-toto-spec-example.json',
      'svr-v0.2.in-toto-spec-example.json',
      'vsa-v1.slsa-spec-example.json',
    ]);
  });

  it.each(index.filter((s) => !hasPlaceholders(s.note)))('$file parses strictly as a $predicateType statement', ({ file, predicateType }) => {
    const statement = parseStatement(readFileSync(path.join(attestationsDir, file)));
    expect(statement.predicateType).toBe(predicateType);
    expect(statement.subject.length).toBeGreaterThan(0);
  });

  it.each(index.filter((s) => hasPlaceholders(s.note)))('$file parses only without strict digests (placeholders)', ({ file, predicateType }) => {
    const bytes = readFileSync(path.join(attestationsDir, file));
    expect(parseStatement(bytes, { strictDigests: false }).predicateType).toBe(predicateType);
    const error = errorOf(() => parseStatement(bytes));
    expect(error.code).toBe('INVALID_STATEMENT');
    expect(error.message).toMatch(/digest/);
  });

  it('the model-signing statement is exactly the signed payload of the v1.1.0-elliptic-key bundle', () => {
    const statementBytes = readFileSync(path.join(attestationsDir, 'statements/model-signing-v1.0.model-transparency.json'));
    const bundle = parseBundle(readFileSync(path.join(omsDir, 'model-transparency/v1.1.0-elliptic-key/model.sig')));
    expect(bundle.envelope.payload.equals(statementBytes)).toBe(true);
  });
});

describe('the generated Ed25519 bundle (dsse-vectors.json)', () => {
  const vectors = z
    .object({
      vectors: z.array(
        z.object({ id: z.string(), key: z.object({ spki_der_b64: z.string().optional() }).optional(), as_bundle_v0_3: z.unknown().optional() }),
      ),
    })
    .parse(readJson(path.join(attestationsDir, 'dsse-vectors.json'))).vectors;
  const generated = vectors.find((v) => v.id === 'generated-ed25519-intoto');
  const key = parsePublicKey(Buffer.from(generated?.key?.spki_der_b64 ?? '', 'base64'));
  const bytes = Buffer.from(JSON.stringify(generated?.as_bundle_v0_3));

  it('opens as a registry attestation and verifies with the published key', () => {
    const opened = openAttestation(bytes);
    expect(opened.hints).toEqual(['wRMYs1HXO6IhgOApVqHNZ0L55LhxdCtHDzMaCM/Q6XU=']);
    expect(keyHints(key)).toContain(opened.hints[0]);
    expect(opened.statement.predicateType).toBe('https://in-toto.io/attestation/test-result/v0.1');
    verifyAttestationSignature(opened, key);
  });

  it('does not verify with another Ed25519 key', () => {
    const other = parsePrivateKey(generateSigningKey('ed25519').privateKeyPem).publicKey;
    const opened = openAttestation(bytes);
    const error = errorOf(() => {
      verifyAttestationSignature(opened, other);
    });
    expect(error.code).toBe('SIGNATURE_INVALID');
  });
});

describe('sigstore-conformance bundles (bundles/index.json)', () => {
  const conformanceDir = path.join(attestationsDir, 'bundles/sigstore-conformance');
  const entries = z
    .object({
      bundles: z.array(
        z.object({
          dir: z.string(),
          expected_overall: z.string(),
          verified_checks: z.object({
            dsse_signature_valid: z.boolean().optional(),
            message_signature_valid: z.boolean().optional(),
            message_digest_matches_artifact: z.boolean().optional(),
            hint_is_sha256_of_pem: z.boolean().optional(),
          }),
        }),
      ),
    })
    .parse(readJson(path.join(attestationsDir, 'bundles/index.json'))).bundles;
  const dsseCases = entries.filter((e) => e.dir.startsWith('bundles/') && e.verified_checks.dsse_signature_valid !== undefined);

  it('covers the eight DSSE conformance cases, valid and invalid signatures alike', () => {
    expect(dsseCases).toHaveLength(8);
    expect(dsseCases.filter((e) => e.verified_checks.dsse_signature_valid === false)).toHaveLength(2);
  });

  it.each(dsseCases)('$dir: the DSSE signature check gives dsse_signature_valid', ({ dir, verified_checks }) => {
    const bundle = parseBundle(readFileSync(path.join(attestationsDir, dir, 'bundle.sigstore.json')));
    if (bundle.material.kind !== 'certificate') throw new Error(`expected a keyless certificate in ${dir}`);
    const leafKey = publicKeyInfoFromKeyObject(new X509Certificate(bundle.material.certificate).publicKey);
    expect(verifyEnvelopeSignature(bundle.envelope, leafKey)).toBe(verified_checks.dsse_signature_valid);
  });

  it.each(dsseCases)('$dir: is refused as a registry attestation (keyless material)', ({ dir }) => {
    expect(errorOf(() => openAttestation(readFileSync(path.join(attestationsDir, dir, 'bundle.sigstore.json')))).code).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('managed-key-happy-path: the message signature over a.txt verifies with key.pub, named by its base64 hint', () => {
    const entry = entries.find((e) => e.dir.endsWith('/managed-key-happy-path'));
    expect(entry?.verified_checks.message_signature_valid).toBe(true);
    const key = parsePublicKey(readFileSync(path.join(conformanceDir, 'managed-key-happy-path/key.pub')));
    const raw = z
      .object({
        verificationMaterial: z.object({ publicKey: z.object({ hint: z.string() }) }),
        messageSignature: z.object({ messageDigest: z.object({ digest: z.string() }), signature: z.string() }),
      })
      .parse(readJson(path.join(conformanceDir, 'managed-key-happy-path/bundle.sigstore.json')));
    const artifact = readFileSync(path.join(conformanceDir, 'a.txt'));
    expect(keyHints(key)).toContain(raw.verificationMaterial.publicKey.hint);
    expect(createHash('sha256').update(artifact).digest('base64')).toBe(raw.messageSignature.messageDigest.digest);
    const signature = Buffer.from(raw.messageSignature.signature, 'base64');
    expect(verifyData(key, artifact, signature)).toBe(true);
    expect(verifyData(key, Buffer.concat([artifact, Buffer.from('x')]), signature)).toBe(false);
  });

  it('v1.1.0-elliptic-key (OMS): P-384/SHA-384 DSSE signature valid, hint = SHA-256 of the PEM text', () => {
    const entry = entries.find((e) => e.dir.endsWith('/v1.1.0-elliptic-key'));
    expect(entry?.verified_checks).toMatchObject({ dsse_signature_valid: true, hint_is_sha256_of_pem: true });
    const key = parsePublicKey(readFileSync(path.join(omsDir, 'keys/certificate/signing-key-pub.pem')));
    const bundle = parseBundle(readFileSync(path.join(attestationsDir, entry?.dir ?? '', 'model.sig')));
    expect(bundle.material).toMatchObject({ kind: 'publicKey', hint: key.omsHint });
    expect(verifyEnvelopeSignature(bundle.envelope, key)).toBe(true);
    const wrong = parsePublicKey(readFileSync(path.join(omsDir, 'keys/wrong/wrong-key-pub.pem')));
    expect(verifyEnvelopeSignature(bundle.envelope, wrong)).toBe(false);
  });
});

describe('an independent verifier (@sigstore/verify 3.1.1) accepts what createAttestation makes', () => {
  /** A verifier that trusts exactly `key`, found by Custody's key-id hint; no tlog, SCT or timestamp needed. */
  function sigstoreVerify(bundleJson: string, key: PublicKeyInfo): Signer {
    const trust = toTrustMaterial(TrustedRoot.fromJSON({}), (hint: string) => {
      if (hint !== key.keyId) throw new Error(`unknown key hint ${hint}`);
      return { publicKey: key.key, validFor: () => true };
    });
    const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
    return verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(bundleJson))));
  }

  function attest(privateKey: PrivateKeyInfo): string {
    return createAttestation({
      subjects: [{ name: 'model', digest: { sha256: createHash('sha256').update('manifest').digest('hex') } }],
      predicateType: 'https://in-toto.io/attestation/test-result/v0.1',
      predicate: { result: 'PASSED', configuration: [] },
      privateKey,
    }).bundleJson;
  }

  it.each(['ed25519', 'p256'] as const)('a %s bundle verifies', (type) => {
    const key = parsePrivateKey(generateSigningKey(type).privateKeyPem);
    const signer = sigstoreVerify(attest(key), key.publicKey);
    expect(signer.key.equals(key.publicKey.key)).toBe(true);
  });

  it.each(['ed25519', 'p256'] as const)('a tampered %s bundle fails there, and so does a wrong key', (type) => {
    const key = parsePrivateKey(generateSigningKey(type).privateKeyPem);
    const bundleJson = attest(key);
    const bundle = JSON.parse(bundleJson) as { dsseEnvelope: { payload: string } };
    const payload = Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8').replace('PASSED', 'FAILED');
    bundle.dsseEnvelope.payload = Buffer.from(payload).toString('base64');
    expect(() => sigstoreVerify(JSON.stringify(bundle), key.publicKey)).toThrow(/signature verification failed/);

    const other = parsePrivateKey(generateSigningKey(type).privateKeyPem).publicKey;
    expect(() => sigstoreVerify(bundleJson, { ...other, keyId: key.publicKey.keyId })).toThrow(/signature verification failed/);
  });
});
