/**
 * The OMS verifier refuses what it must, at the stage reference/oms.md §6.3 names: tampered
 * models (changed byte, removed file, added file), swapped or foreign signatures, a wrong key or
 * hint, a wrong CA, an expired leaf, the wrong Sigstore identity or issuer, broken bundles, and
 * statements that fail a check on their own (re-signed with the published upstream test key so
 * the signature stage passes and the statement stage is what rejects them).
 */
import { createHash } from 'node:crypto';
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyModel, type OmsVerificationMethod } from '../../src/oms/verify-model.js';
import { copyVector, editBundle, omsPath, omsText, rejectionOf, statementOf, tempDir, writeSignedBundle } from './oms-test-data.js';

const work = tempDir('verify');
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

const key = (file = 'keys/certificate/signing-key-pub.pem'): OmsVerificationMethod => ({ kind: 'key', publicKeyPem: omsText(file) });
const certificate = (anchor = 'keys/certificate/ca-cert.pem'): OmsVerificationMethod => ({ kind: 'certificate', anchorsPem: [omsText(anchor)] });
const sigstore = (identity = 'stefanb@us.ibm.com', issuer = 'https://sigstore.verify.ibm.com/oauth2'): OmsVerificationMethod => ({
  kind: 'sigstore',
  identity,
  issuer,
  trustedRootJson: omsText('trust/sigstore-public-good-trusted_root.json'),
});

/** A fresh writable copy of a vector; its signature is `<copy>/model.sig`. */
function vectorCopy(name: string): { model: string; signature: string } {
  const model = copyVector(`model-transparency/${name}`, mkdtempSync(path.join(work, 'copy-')));
  return { model, signature: path.join(model, 'model.sig') };
}

describe('tampered models', () => {
  it('a changed byte fails the manifest stage naming the file', async () => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    writeFileSync(path.join(model, 'signme-1'), 'signme-X\n');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key() }));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details).toEqual({ stage: 'manifest', changed: ['signme-1'], missing: [], extra: [] });
    expect(error.message).toMatch(/^manifest: .*1 changed: signme-1/);
  });

  it('a removed file fails the manifest stage naming the file', async () => {
    const { model, signature } = vectorCopy('v1.1.0-certificate');
    rmSync(path.join(model, 'signme-2'));
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: certificate() }));
    expect(error.details).toEqual({ stage: 'manifest', changed: [], missing: ['signme-2'], extra: [] });
    expect(error.message).toContain('1 missing: signme-2');
  });

  it('an added file fails unless unsigned files are allowed, which still checks the signed ones', async () => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    writeFileSync(path.join(model, 'backdoor.py'), 'import os\n');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key() }));
    expect(error.details).toEqual({ stage: 'manifest', changed: [], missing: [], extra: ['backdoor.py'] });
    expect(error.message).toContain('1 not signed: backdoor.py');

    const accepted = await verifyModel({ modelPath: model, signaturePath: signature, method: key(), ignoreUnsignedFiles: true });
    expect(accepted.files.map((f) => f.path)).toEqual(['backdoor.py', 'signme-1', 'signme-2']);

    appendFileSync(path.join(model, 'signme-2'), '!');
    const changed = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key(), ignoreUnsignedFiles: true }));
    expect(changed.details).toEqual({ stage: 'manifest', changed: ['signme-2'], missing: [], extra: [] });
  });

  it('a legacy v0.2 signature still guards its files', async () => {
    const { model, signature } = vectorCopy('v0.2.0-certificate');
    writeFileSync(path.join(model, 'signme-1'), 'tampered');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: certificate() }));
    expect(error.details).toMatchObject({ stage: 'manifest', changed: ['signme-1'] });
  });

  it('a single-file model is verified as the file itself, and its change is reported as "."', async () => {
    const { model, signature } = vectorCopy('v1.0.0-elliptic-key');
    const file = path.join(model, 'signme-1');
    const ok = await verifyModel({ modelPath: file, signaturePath: signature, method: key() });
    expect(ok.files).toEqual([{ path: 'signme-1', sha256: 'bc9a717db6064a32cbe9eae6fc40651dd6d36ef1757183f590eff2b1765d7ebc' }]);
    appendFileSync(file, 'x');
    const error = await rejectionOf(verifyModel({ modelPath: file, signaturePath: signature, method: key() }));
    expect(error.details).toEqual({ stage: 'manifest', changed: ['.'], missing: [], extra: [] });
  });

  it('a symlink in the model fails the manifest stage', async () => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    symlinkSync('/etc/hostname', path.join(model, 'link'));
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key() }));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details?.stage).toBe('manifest');
    expect(error.message).toContain('link');
  });
});

describe('signatures and keys', () => {
  it('a signature swapped in from another vector fails the signature stage', async () => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    const other = JSON.parse(omsText('model-transparency/v1.0.1-elliptic-key/model.sig')) as { dsseEnvelope: { signatures: { sig: string }[] } };
    editBundle(signature, (b) => {
      b.dsseEnvelope.signatures = [{ sig: other.dsseEnvelope.signatures[0]?.sig ?? '', keyid: '' }];
    });
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key() }));
    expect(error.details).toEqual({ stage: 'signature' });
  });

  it('a valid signature of another model fails the manifest stage', async () => {
    // spec valid/key signs signme-1 as 9 bytes; the v1.1.0-certificate model has 8.
    const { model } = vectorCopy('v1.1.0-certificate');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: omsPath('spec-test-vectors/v1.0/valid/key.bundle.json'), method: key(), ignorePaths: ['ignore-me', 'model.sig'] }));
    expect(error.details).toEqual({ stage: 'manifest', changed: ['signme-1'], missing: [], extra: [] });
  });

  it('a wrong public key fails the material stage on the hint', async () => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key('keys/wrong/wrong-key-pub.pem') }));
    expect(error.details).toEqual({ stage: 'material' });
    expect(error.message).toContain('e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
  });

  it('a wrong public key fails the material stage on embedded raw key bytes (v1.0.x bundles)', async () => {
    const { model, signature } = vectorCopy('v1.0.1-elliptic-key');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key('keys/wrong/wrong-key-pub.pem'), ignorePaths: ['ignore-me'] }));
    expect(error.details).toEqual({ stage: 'material' });
    expect(error.message).toContain('carries public key');
  });

  it('a wrong public key fails the signature stage when the bundle names no key', async () => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    editBundle(signature, (b) => {
      b.verificationMaterial.publicKey = {};
    });
    expect((await verifyModel({ modelPath: model, signaturePath: signature, method: key() })).method).toBe('key');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key('keys/wrong/wrong-key-pub.pem') }));
    expect(error.details).toEqual({ stage: 'signature' });
  });

  it('a hint that names another key fails the material stage', async () => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    editBundle(signature, (b) => {
      b.verificationMaterial.publicKey = { hint: 'ab'.repeat(32) };
    });
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key() }));
    expect(error.details).toEqual({ stage: 'material' });
    expect(error.message).toContain('abab');
  });

  it('a chain to a CA that is not the given anchor fails the material stage', async () => {
    const { model, signature } = vectorCopy('v1.1.0-certificate');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: certificate('keys/wrong/wrong-ca-cert.pem') }));
    expect(error.details).toEqual({ stage: 'material' });
    expect(error.message).toContain('does not lead to a trusted root');
  });

  it('an expired leaf (verification after 2035-04-30) fails the material stage saying so', async () => {
    const { model, signature } = vectorCopy('v1.1.0-certificate');
    const at = (iso: string): Promise<unknown> => verifyModel({ modelPath: model, signaturePath: signature, method: certificate(), now: new Date(iso) });
    await expect(at('2035-04-30T23:36:00Z')).resolves.toBeDefined();
    const expired = await rejectionOf(at('2035-05-01T00:00:00Z'));
    expect(expired.details).toEqual({ stage: 'material' });
    expect(expired.message).toContain('leaf certificate "CN=intermediate-ca" expired on 2035-04-30T23:36:28.000Z');
    const early = await rejectionOf(at('2025-01-01T00:00:00Z'));
    expect(early.message).toContain('is not valid before 2025-05-02T23:36:28.000Z');
  });

  it('a chain whose intermediate was dropped fails the material stage', async () => {
    const { model, signature } = vectorCopy('v1.1.0-certificate');
    editBundle(signature, (b) => {
      const chain = b.verificationMaterial.x509CertificateChain as { certificates: unknown[] };
      chain.certificates = chain.certificates.slice(0, 1);
    });
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: certificate() }));
    expect(error.details).toEqual({ stage: 'material' });
  });

  it('the intermediate as the only anchor is accepted (it is trusted as given)', async () => {
    const { model, signature } = vectorCopy('v1.1.0-certificate');
    const result = await verifyModel({ modelPath: model, signaturePath: signature, method: certificate('keys/certificate/int-ca-cert.pem') });
    expect(result.signer).toContain('trust anchor "CN=intermediate-ca"');
  });

  it.each([
    ['identity', sigstore('someone@example.com')],
    ['issuer', sigstore('stefanb@us.ibm.com', 'https://accounts.google.com')],
  ])('a keyless bundle with another %s fails the material stage', async (_what, method) => {
    const { model, signature } = vectorCopy('v1.1.0-sigstore');
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method }));
    expect(error.details).toEqual({ stage: 'material' });
    expect(error.message).toContain('signer does not match');
  });

  it('a keyless bundle whose signature was swapped fails (its tlog entry no longer matches)', async () => {
    const { model, signature } = vectorCopy('v1.0.1-sigstore');
    const other = JSON.parse(omsText('model-transparency/v1.0.0-sigstore/model.sig')) as { dsseEnvelope: { signatures: { sig: string }[] } };
    editBundle(signature, (b) => {
      b.dsseEnvelope.signatures = [{ sig: other.dsseEnvelope.signatures[0]?.sig ?? '' }];
    });
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: sigstore(), ignorePaths: ['ignore-me'] }));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details).toEqual({ stage: 'material' });
  });

  it('a keyless bundle checked against a trusted root without the Sigstore CAs fails the material stage', async () => {
    const { model, signature } = vectorCopy('v1.1.0-sigstore');
    const root = JSON.parse(omsText('trust/sigstore-public-good-trusted_root.json')) as Record<string, unknown>;
    const method: OmsVerificationMethod = { ...sigstore(), trustedRootJson: JSON.stringify({ ...root, certificateAuthorities: [] }) } as OmsVerificationMethod;
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method }));
    expect(error.details).toEqual({ stage: 'material' });
  });
});

describe('broken bundles', () => {
  const cases: [string, (file: string) => void, string][] = [
    ['an empty file', (f) => { writeFileSync(f, ''); }, 'parse'],
    ['a truncated file', (f) => { writeFileSync(f, readFileSync(f, 'utf8').slice(0, 300)); }, 'parse'],
    ['bytes that are not UTF-8', (f) => { writeFileSync(f, Buffer.from([0xff, 0xfe, 0x7b])); }, 'parse'],
    ['another mediaType', (f) => editBundle(f, (b) => { b.mediaType = 'application/json'; }), 'bundle'],
    ['no dsseEnvelope', (f) => editBundle(f, (b) => { delete (b as Partial<typeof b>).dsseEnvelope; }), 'bundle'],
    ['an empty signatures list', (f) => editBundle(f, (b) => { b.dsseEnvelope.signatures = []; }), 'bundle'],
    ['two signatures', (f) => editBundle(f, (b) => { b.dsseEnvelope.signatures.push(...b.dsseEnvelope.signatures); }), 'bundle'],
    ['another payloadType', (f) => editBundle(f, (b) => { b.dsseEnvelope.payloadType = 'application/json'; }), 'bundle'],
    ['an edited payload', (f) => editBundle(f, (b) => { b.dsseEnvelope.payload = Buffer.from(Buffer.from(b.dsseEnvelope.payload, 'base64').toString('utf8').replace('signme-2', 'signme-3')).toString('base64'); }), 'signature'],
  ];
  it.each(cases)('%s fails the %s stage', async (_what, breakIt, stage) => {
    const { model, signature } = vectorCopy('v1.1.0-elliptic-key');
    breakIt(signature);
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key() }));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details?.stage).toBe(stage);
    expect(error.message.startsWith(`${stage}: `)).toBe(true);
  });
});

describe('statement checks (payloads re-signed with the upstream test key)', () => {
  const base = statementOf(omsPath('model-transparency/v1.1.0-elliptic-key/model.sig'));
  const predicate = base.predicate as { resources: { name: string; digest: string; algorithm: string }[]; serialization: Record<string, unknown> };
  const subject = (base.subject as { name: string; digest: { sha256: string } }[])[0];

  async function verifyPayload(payload: unknown, payloadType?: string): Promise<unknown> {
    const { model } = vectorCopy('v1.1.0-elliptic-key');
    const signature = writeSignedBundle(path.join(work, `resigned-${Math.random().toString(16).slice(2)}.sig`), payload, undefined, payloadType);
    return verifyModel({ modelPath: model, signaturePath: signature, method: key() });
  }

  it('the unedited statement, re-signed, verifies (so each rejection below is the edit)', async () => {
    await expect(verifyPayload(base)).resolves.toMatchObject({ rootDigest: `sha256:${subject?.digest.sha256 ?? ''}` });
  });

  const edits: [string, unknown, RegExp][] = [
    ['another predicateType', { ...base, predicateType: 'https://example.com/wrong-predicate/v1.0' }, /predicateType/],
    ['another _type', { ...base, _type: 'https://in-toto.io/Statement/v0.1' }, /_type/],
    ['two subjects', { ...base, subject: [subject, subject] }, /exactly one subject/],
    ['no subject', { ...base, subject: [] }, /subject/],
    ['no resources', { ...base, predicate: { ...predicate, resources: [] } }, /no resources/],
    ['no predicate', { ...base, predicate: undefined }, /serialization/],
    ['a root digest that is not the resources\'', { ...base, subject: [{ name: 'x', digest: { sha256: '0'.repeat(64) } }] }, /not the root digest/],
    ['resources in another order (the root is over the listed order)', { ...base, predicate: { ...predicate, resources: [...predicate.resources].reverse() } }, /not the root digest/],
    ['a blake2b hash_type', { ...base, predicate: { ...predicate, serialization: { ...predicate.serialization, hash_type: 'blake2b' } } }, /hash_type/],
    ['the shards method', { ...base, predicate: { ...predicate, serialization: { ...predicate.serialization, method: 'shards' } } }, /method/],
    ['a resource outside the model', { ...base, predicate: { ...predicate, resources: [{ ...predicate.resources[0], name: '../escape' }, predicate.resources[1]] } }, /safe relative path/],
    ['a resource listed twice', { ...base, predicate: { ...predicate, resources: [predicate.resources[0], predicate.resources[0]] } }, /listed twice/],
    ['a duplicate JSON key', JSON.stringify(base).replace('"predicateType":', '"predicateType":"https://example.com/x","predicateType":'), /duplicate key/],
    ['a payload that is not JSON', 'not json', /not valid JSON/],
  ];
  it.each(edits)('%s fails the statement stage', async (_what, payload, message) => {
    const error = await rejectionOf(verifyPayload(payload));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details?.stage).toBe('statement');
    expect(error.message).toMatch(message);
  });

  it('a single-file resource named after the file (the spec\'s way) is accepted like "."', async () => {
    const { model, signature } = vectorCopy('v1.0.0-elliptic-key');
    const statement = statementOf(signature);
    const single = statement.predicate as { resources: { name: string }[] };
    writeSignedBundle(signature, { ...statement, predicate: { ...single, resources: single.resources.map((r) => ({ ...r, name: 'signme-1' })) } });
    const result = await verifyModel({ modelPath: path.join(model, 'signme-1'), signaturePath: signature, method: key() });
    expect(result.files.map((f) => f.path)).toEqual(['signme-1']);
  });
});

describe('ignore paths', () => {
  it('git paths are left out by default and counted with ignoreGitPaths: false', async () => {
    const model = path.join(mkdtempSync(path.join(work, 'git-')), 'model');
    mkdirSync(path.join(model, '.git'), { recursive: true });
    writeFileSync(path.join(model, 'weights.bin'), 'weights');
    writeFileSync(path.join(model, '.gitignore'), '*.tmp\n');
    writeFileSync(path.join(model, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
    const resources = [
      { name: '.git/HEAD', algorithm: 'sha256', digest: sha('ref: refs/heads/main\n') },
      { name: '.gitignore', algorithm: 'sha256', digest: sha('*.tmp\n') },
      { name: 'weights.bin', algorithm: 'sha256', digest: sha('weights') },
    ];
    const root = createHash('sha256').update(Buffer.concat(resources.map((r) => Buffer.from(r.digest, 'hex')))).digest('hex');
    const signature = writeSignedBundle(path.join(work, 'git.sig'), {
      _type: 'https://in-toto.io/Statement/v1',
      subject: [{ name: 'model', digest: { sha256: root } }],
      predicateType: 'https://model_signing/signature/v1.0',
      predicate: { resources, serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [] } },
    });
    const all = await verifyModel({ modelPath: model, signaturePath: signature, method: key(), ignoreGitPaths: false });
    expect(all.files.map((f) => f.path)).toEqual(['.git/HEAD', '.gitignore', 'weights.bin']);
    const error = await rejectionOf(verifyModel({ modelPath: model, signaturePath: signature, method: key() }));
    expect(error.details).toEqual({ stage: 'manifest', changed: [], missing: ['.git/HEAD', '.gitignore'], extra: [] });
  });
});
