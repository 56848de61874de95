/**
 * The pure parts of OMS: matching signed resources to a model's files (which the registry also
 * uses to match a signature to a stored version, SPEC §4.1), the legacy predicate, and the v0.2
 * PAE with Python's bytes repr (reference/oms.md §1.4–§1.6).
 */
import { X509Certificate, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { legacyPae, pythonBytesRepr } from '../../src/oms/legacy-pae.js';
import { buildOmsStatement, compareOmsResources, parseOmsStatement } from '../../src/oms/oms-statement.js';
import { serializeStatement } from '../../src/crypto/in-toto-statement.js';
import { omsPath, statementOf } from './oms-test-data.js';

const A = 'a'.repeat(64);
const B = 'b'.repeat(64);
const C = 'c'.repeat(64);

describe('compareOmsResources', () => {
  const signed = [
    { name: 'config.json', digest: A },
    { name: 'weights/model.bin', digest: B },
  ];

  it('finds nothing when the files are exactly the signed resources, in any order', () => {
    const files = [
      { path: 'weights/model.bin', sha256: B },
      { path: 'config.json', sha256: A },
    ];
    expect(compareOmsResources(signed, files, { singleFile: false })).toEqual({ missing: [], extra: [], changed: [] });
  });

  it('names missing, extra and changed files', () => {
    const files = [
      { path: 'weights/model.bin', sha256: C },
      { path: 'weights/model.pkl', sha256: A },
    ];
    expect(compareOmsResources(signed, files, { singleFile: false })).toEqual({ missing: ['config.json'], extra: ['weights/model.pkl'], changed: ['weights/model.bin'] });
    expect(compareOmsResources(signed, files, { singleFile: false, ignoreUnsignedFiles: true })).toEqual({ missing: ['config.json'], extra: [], changed: ['weights/model.bin'] });
  });

  it('does not match by bytes alone: a renamed file is one missing and one extra', () => {
    const files = [
      { path: 'config.json', sha256: A },
      { path: 'weights/model.pkl', sha256: B },
    ];
    expect(compareOmsResources(signed, files, { singleFile: false })).toEqual({ missing: ['weights/model.bin'], extra: ['weights/model.pkl'], changed: [] });
  });

  it('matches a single file by "." (reference signer) or by its own name (spec), but not by another name', () => {
    const file = [{ path: 'model.gguf', sha256: A }];
    expect(compareOmsResources([{ name: '.', digest: A }], file, { singleFile: true })).toEqual({ missing: [], extra: [], changed: [] });
    expect(compareOmsResources([{ name: 'model.gguf', digest: A }], file, { singleFile: true })).toEqual({ missing: [], extra: [], changed: [] });
    expect(compareOmsResources([{ name: 'other.gguf', digest: A }], file, { singleFile: true })).toEqual({ missing: ['other.gguf'], extra: ['model.gguf'], changed: [] });
    expect(compareOmsResources([{ name: '.', digest: B }], file, { singleFile: true })).toEqual({ missing: [], extra: [], changed: ['.'] });
    // "." means nothing for a directory model.
    expect(compareOmsResources([{ name: '.', digest: A }], file, { singleFile: false })).toEqual({ missing: ['.'], extra: ['model.gguf'], changed: [] });
  });

  it('leaves its inputs untouched', () => {
    const resources = Object.freeze([Object.freeze({ name: 'x', digest: A })]);
    const files = Object.freeze([Object.freeze({ path: 'y', sha256: A })]);
    expect(compareOmsResources(resources, files, { singleFile: false })).toEqual({ missing: ['x'], extra: ['y'], changed: [] });
  });
});

describe('OMS statements', () => {
  it('builds a statement whose subject is the root over the resources as listed, and parses it back', () => {
    const statement = buildOmsStatement({ modelName: 'm', resources: [{ name: 'b', digest: B }, { name: 'a', digest: A }], ignorePaths: ['.git'] });
    const parsed = parseOmsStatement(serializeStatement(statement));
    expect(parsed.resources.map((r) => r.name)).toEqual(['b', 'a']);
    expect(parsed.subjectName).toBe('m');
    expect(parsed.ignorePaths).toEqual(['.git']);
    expect(parsed.legacy).toBe(false);
  });

  it('reads the legacy v0.1 predicate as one resource per subject, with no root', () => {
    const payload = Buffer.from(JSON.stringify(statementOf(omsPath('model-transparency/v0.2.0-certificate/model.sig'))));
    const parsed = parseOmsStatement(payload);
    expect(parsed).toMatchObject({ legacy: true, rootDigest: null, predicateType: 'https://model_signing/Digests/v0.1' });
    expect(parsed.resources.map((r) => r.name)).toEqual(['signme-1', 'signme-2']);
  });

  it('tolerates the Go signer\'s statement quirks (no keyid, odd ignore paths, compact JSON)', () => {
    const statement = statementOf(omsPath('model-transparency/v1.1.0-elliptic-key/model.sig'));
    const predicate = statement.predicate as { serialization: Record<string, unknown> };
    const go = { ...statement, predicate: { ...predicate, serialization: { ...predicate.serialization, ignore_paths: ['../../elsewhere', '.gitmodules'] }, extra: 1 } };
    expect(parseOmsStatement(Buffer.from(JSON.stringify(go))).ignorePaths).toEqual(['../../elsewhere', '.gitmodules']);
  });
});

describe('v0.2 legacy PAE', () => {
  it('reproduces Python bytes repr', () => {
    expect(pythonBytesRepr(Buffer.from('{\n  "a": 1\n}'))).toBe(String.raw`b'{\n  "a": 1\n}'`);
    expect(pythonBytesRepr(Buffer.from("it's"))).toBe(`b"it's"`);
    expect(pythonBytesRepr(Buffer.from(`it's "q"`))).toBe(String.raw`b'it\'s "q"'`);
    expect(pythonBytesRepr(Buffer.from([0, 9, 10, 13, 31, 127, 128, 255, 92, 65]))).toBe(String.raw`b'\x00\t\n\r\x1f\x7f\x80\xff\\A'`);
    expect(pythonBytesRepr(Buffer.alloc(0))).toBe(`b''`);
  });

  it('spells the tag DSSEV1 and puts the repr after the byte length', () => {
    expect(legacyPae('application/vnd.in-toto+json', Buffer.from('{"x":\n1}')).toString('utf8')).toBe(String.raw`DSSEV1 28 application/vnd.in-toto+json 8 b'{"x":\n1}'`);
  });

  it('is what the v0.2.0 vector signed (the signature verifies over it with SHA-256)', () => {
    const bundle = JSON.parse(readFileSync(omsPath('model-transparency/v0.2.0-certificate/model.sig'), 'utf8')) as {
      verificationMaterial: { x509CertificateChain: { certificates: { rawBytes: string }[] } };
      dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string }[] };
    };
    const leaf = new X509Certificate(Buffer.from(bundle.verificationMaterial.x509CertificateChain.certificates[0]?.rawBytes ?? '', 'base64'));
    const message = legacyPae(bundle.dsseEnvelope.payloadType, Buffer.from(bundle.dsseEnvelope.payload, 'base64'));
    const sig = Buffer.from(bundle.dsseEnvelope.signatures[0]?.sig ?? '', 'base64');
    expect(verify('sha256', message, leaf.publicKey, sig)).toBe(true);
    expect(verify('sha384', message, leaf.publicKey, sig)).toBe(false);
  });
});
