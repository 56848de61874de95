/**
 * DSSE v1.0.2 (reference/attestations.md §1): every vector in
 * interop/attestations/dsse-vectors.json (PAE bytes, the `want` of each envelope, the
 * reproducible Ed25519 signature), strict base64 and envelope shape errors.
 */
import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CustodyError } from '../../src/domain/errors.js';
import {
  decodeBase64Field,
  IN_TOTO_PAYLOAD_TYPE,
  pae,
  parseEnvelope,
  signEnvelope,
  verifyEnvelopeSignature,
} from '../../src/crypto/dsse.js';
import { generateSigningKey, parsePrivateKey, parsePublicKey } from '../../src/crypto/signing-keys.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const vectorsFile = path.resolve(repoRoot, '../shared/interop/attestations/dsse-vectors.json');

const envelopeSchema = z.object({
  payload: z.string(),
  payloadType: z.string(),
  signatures: z.array(z.object({ sig: z.string(), keyid: z.string().optional() })),
});
const vectorSchema = z.object({
  id: z.string(),
  payloadType: z.string().optional(),
  payload_utf8: z.string().optional(),
  pae_hex: z.string().optional(),
  key: z.object({ spki_pem: z.string().optional(), spki_der_b64: z.string().optional(), seed_hex: z.string().optional() }).optional(),
  envelope: envelopeSchema.optional(),
  cases: z.array(z.object({ payloadType: z.string(), payload_hex: z.string(), pae_hex: z.string() })).optional(),
  want: z.string().optional(),
});
const vectors = z.object({ vectors: z.array(vectorSchema) }).parse(JSON.parse(readFileSync(vectorsFile, 'utf8'))).vectors;

function vector(id: string): z.infer<typeof vectorSchema> {
  const found = vectors.find((v) => v.id === id);
  if (found === undefined) throw new Error(`no vector ${id}`);
  return found;
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

/** Ed25519 private key from a 32-byte seed (RFC 8410 PKCS#8 wrapping). */
function ed25519FromSeed(seedHex: string) {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  return parsePrivateKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }).export({ type: 'pkcs8', format: 'pem' }).toString());
}

describe('PAE', () => {
  it('matches the DSSE spec vector byte for byte', () => {
    const v = vector('dsse-spec-hello-world');
    expect(pae(v.payloadType ?? '', Buffer.from(v.payload_utf8 ?? '')).toString('hex')).toBe(v.pae_hex);
    expect(pae('http://example.com/HelloWorld', Buffer.from('hello world')).toString()).toBe('DSSEv1 29 http://example.com/HelloWorld 11 hello world');
  });

  it('matches the generated in-toto vector byte for byte', () => {
    const v = vector('generated-ed25519-intoto');
    expect(pae(v.payloadType ?? '', Buffer.from(v.payload_utf8 ?? '', 'utf8')).toString('hex')).toBe(v.pae_hex);
  });

  it.each(vector('pae-edge-cases').cases ?? [])('matches the edge case type=$payloadType body=$payload_hex (LEN counts UTF-8 bytes)', (c) => {
    expect(pae(c.payloadType, Buffer.from(c.payload_hex, 'hex')).toString('hex')).toBe(c.pae_hex);
  });
});

describe('the interop vectors', () => {
  const specKey = parsePublicKey(vector('dsse-spec-hello-world').key?.spki_pem ?? '');

  it.each([
    ['dsse-spec-hello-world', true],
    ['dsse-spec-hello-world-urlsafe-base64', true],
    ['dsse-spec-hello-world-wrong-type', false],
    ['dsse-spec-hello-world-wrong-payload', false],
  ])('%s verifies: %s (P-256, raw r‖s)', (id, valid) => {
    const v = vector(id);
    expect(v.want?.startsWith(valid ? 'valid' : 'invalid')).toBe(true);
    expect(verifyEnvelopeSignature(parseEnvelope(v.envelope), specKey)).toBe(valid);
  });

  it('verifies the generated Ed25519 envelope and reproduces its signature from the published seed', () => {
    const v = vector('generated-ed25519-intoto');
    expect(v.want).toBe('valid');
    const publicKey = parsePublicKey(Buffer.from(v.key?.spki_der_b64 ?? '', 'base64'));
    const env = parseEnvelope(v.envelope);
    expect(env.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(env.payload.toString('utf8')).toBe(v.payload_utf8);
    expect(env.signatures[0]?.keyid).toBe('wRMYs1HXO6IhgOApVqHNZ0L55LhxdCtHDzMaCM/Q6XU=');
    expect(verifyEnvelopeSignature(env, publicKey)).toBe(true);

    const privateKey = ed25519FromSeed(v.key?.seed_hex ?? '');
    expect(privateKey.publicKey.keyId).toBe(publicKey.keyId);
    const resigned = signEnvelope(IN_TOTO_PAYLOAD_TYPE, env.payload, privateKey, env.signatures[0]?.keyid);
    expect(resigned).toEqual(v.envelope);
  });
});

describe('decodeBase64Field', () => {
  it.each([
    ['aGVsbG8=', 'hello'],
    ['aGVsbG8', 'hello'],
    ['', ''],
    ['-_8=', Buffer.from([0xfb, 0xff]).toString('latin1')],
    ['+/8', Buffer.from([0xfb, 0xff]).toString('latin1')],
  ])('decodes %j (standard or URL-safe, padding optional)', (input, expected) => {
    expect(decodeBase64Field(input, 'f').toString('latin1')).toBe(expected);
  });

  it.each([
    ['a space', 'aGVs bG8='],
    ['a newline', 'aGVsbG8=\n'],
    ['an invalid character', 'aGVsbG8*'],
    ['mixed alphabets', '+-8='],
    ['padding in the middle', 'aG=sbG8='],
    ['too much padding', 'aGVsbG8==='],
    ['a length that cannot be base64', 'aGVsb'],
    ['non-zero stray bits', 'aGVsbG9='],
    ['a number', 42],
    ['null', null],
    ['an object', { sig: 'aGVsbG8=' }],
  ])('rejects %s as INVALID_BUNDLE naming the field', (_what, input) => {
    const error = errorOf(() => decodeBase64Field(input, 'dsseEnvelope.payload'));
    expect(error.code).toBe('INVALID_BUNDLE');
    expect(error.message).toContain('dsseEnvelope.payload');
  });
});

describe('parseEnvelope', () => {
  const good = { payload: 'aGVsbG8=', payloadType: 'text/plain', signatures: [{ sig: 'c2ln', keyid: 'k' }] };

  it('reads a well-formed envelope, ignoring unknown fields, with keyid "" when absent or null', () => {
    const env = parseEnvelope({ ...good, extra: { anything: true }, signatures: [{ sig: 'c2ln', keyid: null }, { sig: 'c2ln' }, { sig: 'c2ln', keyid: 'k' }] });
    expect(env.payload.toString()).toBe('hello');
    expect(env.payloadType).toBe('text/plain');
    expect(env.signatures.map((s) => s.keyid)).toEqual(['', '', 'k']);
    expect(env.signatures[0]?.sig.toString()).toBe('sig');
  });

  it.each([
    ['not an object', 'envelope', 'dsseEnvelope'],
    ['an array', [good], 'dsseEnvelope'],
    ['null', null, 'dsseEnvelope'],
    ['no payload', { ...good, payload: undefined }, 'dsseEnvelope.payload'],
    ['a non-base64 payload', { ...good, payload: 'not base64!' }, 'dsseEnvelope.payload'],
    ['no payloadType', { ...good, payloadType: undefined }, 'dsseEnvelope.payloadType'],
    ['a numeric payloadType', { ...good, payloadType: 7 }, 'dsseEnvelope.payloadType'],
    ['no signatures', { ...good, signatures: undefined }, 'dsseEnvelope.signatures'],
    ['signatures not an array', { ...good, signatures: { sig: 'c2ln' } }, 'dsseEnvelope.signatures'],
    ['zero signatures', { ...good, signatures: [] }, 'dsseEnvelope.signatures'],
    ['a signature that is not an object', { ...good, signatures: ['c2ln'] }, 'dsseEnvelope.signatures[0]'],
    ['a signature without sig', { ...good, signatures: [{ keyid: 'k' }] }, 'dsseEnvelope.signatures[0].sig'],
    ['a second signature with a bad sig', { ...good, signatures: [{ sig: 'c2ln' }, { sig: '%%%' }] }, 'dsseEnvelope.signatures[1].sig'],
    ['a numeric keyid', { ...good, signatures: [{ sig: 'c2ln', keyid: 1 }] }, 'dsseEnvelope.signatures[0].keyid'],
  ])('rejects an envelope with %s as INVALID_BUNDLE naming the field', (_what, input, field) => {
    const error = errorOf(() => parseEnvelope(input));
    expect(error.code).toBe('INVALID_BUNDLE');
    expect(error.details?.['field']).toBe(field);
  });
});

describe('signEnvelope and verifyEnvelopeSignature', () => {
  it.each(['ed25519', 'p256', 'p384'] as const)('round-trips a %s signature and refuses a tampered envelope or another key', (type) => {
    const key = parsePrivateKey(generateSigningKey(type).privateKeyPem);
    const json = signEnvelope(IN_TOTO_PAYLOAD_TYPE, Buffer.from('{"a":1}'), key, 'my-key');
    expect(json.signatures).toHaveLength(1);
    expect(json.signatures[0]?.keyid).toBe('my-key');
    expect(Buffer.from(json.payload, 'base64').toString()).toBe('{"a":1}');
    const env = parseEnvelope(json);
    expect(verifyEnvelopeSignature(env, key.publicKey)).toBe(true);
    expect(verifyEnvelopeSignature(env, key.publicKey, 1)).toBe(false);
    expect(verifyEnvelopeSignature({ ...env, payload: Buffer.from('{"a":2}') }, key.publicKey)).toBe(false);
    expect(verifyEnvelopeSignature({ ...env, payloadType: 'application/json' }, key.publicKey)).toBe(false);
    const other = parsePrivateKey(generateSigningKey(type).privateKeyPem);
    expect(verifyEnvelopeSignature(env, other.publicKey)).toBe(false);
  });

  it('writes keyid "" by default and the signature in standard base64', () => {
    const key = parsePrivateKey(generateSigningKey('ed25519').privateKeyPem);
    const json = signEnvelope('t', Buffer.from([0xfb, 0xff, 0xfe]), key);
    expect(json.signatures[0]?.keyid).toBe('');
    expect(json.payload).toBe('+//+');
    expect(json.signatures[0]?.sig).toMatch(/^[A-Za-z0-9+/]+={0,2}$/);
  });
});
