/**
 * Acceptance: every signed OMS vector of `interop/oms/vectors.json` (13 bundles made by the real
 * `model_signing` releases v0.2.0–v1.1.0: key, certificate chain and Sigstore keyless, P-384 and
 * the v0.2 PAE included) verifies with Custody's verifier, through the library and through
 * `custody verify`; the spec's valid test vectors verify and its invalid ones are rejected.
 * Data: ../../../shared/interop/oms (README.md there); format: reference/oms.md.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CustodyError } from '../../src/domain/errors.js';
import { verifyModel, type OmsVerificationMethod } from '../../src/oms/verify-model.js';
import { runCli } from '../support/registry.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const omsDir = path.resolve(repoRoot, '../shared/interop/oms');
const at = (relative: string): string => path.join(omsDir, relative);
const text = (relative: string): string => readFileSync(at(relative), 'utf8');

const vectorSchema = z.object({
  id: z.string(),
  method: z.enum(['key', 'certificate', 'sigstore']),
  bundle: z.string(),
  model: z.string(),
  excludeFromModel: z.array(z.string()),
  ignorePaths: z.array(z.string()),
  expect: z.literal('pass'),
  publicKey: z.string().optional(),
  trustAnchors: z.array(z.string()).optional(),
  identity: z.string().optional(),
  issuer: z.string().optional(),
  trustedRoot: z.string().optional(),
});
type Vector = z.infer<typeof vectorSchema>;
const vectors = z.object({ vectors: z.array(vectorSchema) }).parse(JSON.parse(text('vectors.json'))).vectors;

const ROOT_TWO_FILES_8B = 'sha256:61d4849d9d90076d6215f4d525f13d6574af8e3f67aef3e6f36fc40a14fdd226';
const ROOT_TWO_FILES_9B = 'sha256:92745110b1ab4368471cbe31664e10174e954b113a3df333db860317b2c6dec4';
const ROOT_SINGLE_FILE = 'sha256:afa48c8674afe334b8a7dea34f7b46ab256e9255edf8da2132792341b667a45b';

const keyMethod = (): OmsVerificationMethod => ({ kind: 'key', publicKeyPem: text('keys/certificate/signing-key-pub.pem') });
const certificateMethod = (): OmsVerificationMethod => ({ kind: 'certificate', anchorsPem: [text('keys/certificate/ca-cert.pem')] });
const sigstoreMethod = (): OmsVerificationMethod => ({
  kind: 'sigstore',
  identity: 'stefanb@us.ibm.com',
  issuer: 'https://sigstore.verify.ibm.com/oauth2',
  trustedRootJson: text('trust/sigstore-public-good-trusted_root.json'),
});

function methodOf(vector: Vector): OmsVerificationMethod {
  switch (vector.method) {
    case 'key':
      return { kind: 'key', publicKeyPem: text(vector.publicKey ?? '') };
    case 'certificate':
      return { kind: 'certificate', anchorsPem: (vector.trustAnchors ?? []).map(text) };
    case 'sigstore':
      return { kind: 'sigstore', identity: vector.identity ?? '', issuer: vector.issuer ?? '', trustedRootJson: text(vector.trustedRoot ?? '') };
  }
}

/** The CLI flags that select a vector's method. */
function cliMethodArgs(vector: Vector): string[] {
  switch (vector.method) {
    case 'key':
      return ['--key', at(vector.publicKey ?? '')];
    case 'certificate':
      return ['--cert-chain', ...(vector.trustAnchors ?? []).map(at)];
    case 'sigstore':
      return ['--identity', vector.identity ?? '', '--issuer', vector.issuer ?? '', '--trusted-root', at(vector.trustedRoot ?? '')];
  }
}

async function rejection(promise: Promise<unknown>): Promise<CustodyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CustodyError)) throw new Error(`expected a CustodyError, got ${String(error)}`);
  return error;
}

describe('model-transparency signed vectors (library)', () => {
  it('lists all 13 signed vectors', () => {
    expect(vectors).toHaveLength(13);
    expect(new Set(vectors.map((v) => v.method))).toEqual(new Set(['key', 'certificate', 'sigstore']));
  });

  it.each(vectors.map((v) => [v.id, v.method, v] as const))('%s verifies with the %s method', async (_id, _method, vector) => {
    // Files the vector says are not part of the model are the signature itself (inside the model).
    expect(vector.excludeFromModel.every((f) => path.join(vector.model, f) === vector.bundle)).toBe(true);
    const result = await verifyModel({ modelPath: at(vector.model), signaturePath: at(vector.bundle), method: methodOf(vector), ignorePaths: vector.ignorePaths });
    expect(result.method).toBe(vector.method);
    const legacy = vector.id.includes('v0.2.0');
    expect(result.legacySignature).toBe(legacy);
    expect(result.predicateType).toBe(legacy ? 'https://model_signing/Digests/v0.1' : 'https://model_signing/signature/v1.0');
    const singleFile = vector.model.endsWith('/signme-1');
    const expectedRoot = legacy ? null : singleFile ? ROOT_SINGLE_FILE : vector.id.includes('sigstore') || vector.id.includes('certificate') ? ROOT_TWO_FILES_8B : ROOT_TWO_FILES_9B;
    expect(result.rootDigest).toBe(expectedRoot);
    expect(result.files.map((f) => f.path)).toEqual(singleFile ? ['signme-1'] : ['signme-1', 'signme-2']);
    if (vector.method === 'sigstore') expect(result.signer).toBe('stefanb@us.ibm.com (issuer https://sigstore.verify.ibm.com/oauth2)');
    if (vector.method === 'key') expect(result.keyId).toBe('c1e49d63327f85c7e2971aefd30b5a0d1c6b9b5e1a892e7f5fba995adace816d');
    if (vector.method === 'certificate') expect(result.signer).toContain('CN=root-ca');
  });

  it('v1.0.1 vectors fail without the ignore path their predicate does not record', async () => {
    const vector = vectors.find((v) => v.id === 'model-transparency/v1.0.1-elliptic-key');
    if (vector === undefined) throw new Error('vector missing');
    const error = await rejection(verifyModel({ modelPath: at(vector.model), signaturePath: at(vector.bundle), method: methodOf(vector) }));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details).toMatchObject({ stage: 'manifest', extra: ['ignore-me'], missing: [], changed: [] });
  });
});

describe('model-transparency signed vectors (custody verify)', () => {
  beforeAll(async () => {
    // runCli runs the built CLI; make sure it is there (npm run build is the documented step).
    const result = await runCli(['--version']);
    if (result.code !== 0) throw new Error('build the CLI first: npm run build');
  });

  const picked = ['model-transparency/v0.2.0-certificate', 'model-transparency/v1.0.0-elliptic-key', 'model-transparency/v1.1.0-certificate', 'model-transparency/v1.1.0-elliptic-key', 'model-transparency/v1.1.0-sigstore'];
  it.each(picked)('%s passes with exit 0', async (id) => {
    const vector = vectors.find((v) => v.id === id);
    if (vector === undefined) throw new Error(`vector ${id} missing`);
    const ignore = vector.ignorePaths.length === 0 ? [] : ['--ignore-path', ...vector.ignorePaths];
    const result = await runCli(['verify', at(vector.model), '--signature', at(vector.bundle), ...cliMethodArgs(vector), ...ignore]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`(method ${vector.method})`);
  });

  it('a P-384 vector verified with the wrong method exits 4 naming the material stage', async () => {
    const result = await runCli(['verify', at('model-transparency/v1.1.0-certificate'), '--signature', at('model-transparency/v1.1.0-certificate/model.sig'), '--key', at('keys/certificate/signing-key-pub.pem')]);
    expect(result.code).toBe(4);
    expect(result.stderr).toContain('material: the bundle carries an X.509 certificate chain');
  });
});

describe('OMS spec test vectors v1.0', () => {
  const simple = at('models/simple');
  const spec = (name: string): string => at(`spec-test-vectors/v1.0/${name}`);

  it('valid/key verifies against models/simple with the key', async () => {
    const result = await verifyModel({ modelPath: simple, signaturePath: spec('valid/key.bundle.json'), method: keyMethod(), ignorePaths: ['ignore-me'] });
    expect(result.rootDigest).toBe(ROOT_TWO_FILES_9B);
  });

  it('valid/certificate verifies against models/simple with the root CA', async () => {
    const result = await verifyModel({ modelPath: simple, signaturePath: spec('valid/certificate.bundle.json'), method: certificateMethod(), ignorePaths: ['ignore-me'] });
    expect(result.signer).toContain('CN=root-ca');
  });

  it('valid/sigstore verifies against the v1.1.0-sigstore model offline', async () => {
    const result = await verifyModel({ modelPath: at('model-transparency/v1.1.0-sigstore'), signaturePath: spec('valid/sigstore.bundle.json'), method: sigstoreMethod() });
    expect(result.rootDigest).toBe(ROOT_TWO_FILES_8B);
  });

  const invalid = ['invalid', 'invalid-payload'].flatMap((dir) => readdirSync(spec(dir)).map((f) => `${dir}/${f}`));
  const expectedStage: Record<string, Record<string, string>> = {
    'invalid/empty.bundle.json': { key: 'parse', certificate: 'parse', sigstore: 'parse' },
    'invalid/missing-envelope.bundle.json': { key: 'bundle', certificate: 'bundle', sigstore: 'bundle' },
    'invalid/missing-verification-material.bundle.json': { key: 'bundle', certificate: 'bundle', sigstore: 'bundle' },
    'invalid/missing-tlog-entries.bundle.json': { key: 'material', certificate: 'material', sigstore: 'material' },
    // The predicate type was edited after signing, so the signature no longer verifies.
    'invalid-payload/wrong-predicate.bundle.json': { key: 'signature', certificate: 'material', sigstore: 'material' },
  };

  it('covers every invalid vector', () => {
    expect(invalid.sort()).toEqual(Object.keys(expectedStage).sort());
  });

  const cases = invalid.flatMap((name) =>
    (['key', 'certificate', 'sigstore'] as const).map((method) => [name, method] as const),
  );
  it.each(cases)('%s is rejected with the %s method', async (name, method) => {
    const chosen = method === 'key' ? keyMethod() : method === 'certificate' ? certificateMethod() : sigstoreMethod();
    const error = await rejection(verifyModel({ modelPath: simple, signaturePath: spec(name), method: chosen, ignorePaths: ['ignore-me'] }));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details?.stage).toBe(expectedStage[name]?.[method]);
  });
});
