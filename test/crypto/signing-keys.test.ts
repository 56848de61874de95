/**
 * Signing keys (SPEC §4.2): only Ed25519, P-256 and P-384 load; key id = SHA-256 of the DER
 * SPKI, OMS hint = SHA-256 of the PEM text; signatures verify in the encodings real bundles use
 * and garbage never throws. Keys are generated here; the OMS test key is public test material.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import {
  generateSigningKey,
  keyHints,
  parsePrivateKey,
  parsePublicKey,
  signData,
  verifyData,
  type KeyType,
} from '../../src/crypto/signing-keys.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const omsKeys = path.resolve(repoRoot, '../shared/interop/oms/keys');
const OMS_PUBLIC_KEY_FILE = path.join(omsKeys, 'certificate/signing-key-pub.pem');
const OMS_PRIVATE_KEY_FILE = path.join(omsKeys, 'certificate/signing-key.pem');

const KEY_TYPES: readonly KeyType[] = ['ed25519', 'p256', 'p384'];
const ALGORITHMS = { ed25519: 'ed25519', p256: 'ecdsa-p256-sha256', p384: 'ecdsa-p384-sha384' } as const;

/** The CustodyError code `fn` throws, or 'no error'. */
function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof CustodyError) return error.code;
    return `not a CustodyError: ${String(error)}`;
  }
  return 'no error';
}

function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A second key of the same type (for wrong-key tests). */
function otherKey(type: KeyType) {
  return parsePrivateKey(generateSigningKey(type).privateKeyPem);
}

describe('key generation and parsing', () => {
  it.each(KEY_TYPES)('round-trips a generated %s key; the key id is the SHA-256 of the DER SPKI', (type) => {
    const generated = generateSigningKey(type);
    expect(generated.algorithm).toBe(ALGORITHMS[type]);
    expect(generated.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    const der = createPublicKey(generated.publicKeyPem).export({ type: 'spki', format: 'der' });
    expect(generated.keyId).toBe(sha256Hex(der));

    const fromPem = parsePublicKey(generated.publicKeyPem);
    const fromDer = parsePublicKey(der);
    const privateKey = parsePrivateKey(generated.privateKeyPem);
    for (const info of [fromPem, fromDer, privateKey.publicKey]) {
      expect(info.algorithm).toBe(ALGORITHMS[type]);
      expect(info.keyId).toBe(generated.keyId);
      expect(info.pem).toBe(generated.publicKeyPem);
      expect(info.omsHint).toBe(sha256Hex(generated.publicKeyPem));
    }
    expect(privateKey.algorithm).toBe(ALGORITHMS[type]);
    expect(privateKey.key.type).toBe('private');
  });

  it('accepts PEM given as bytes and PEM surrounded by other text', () => {
    const { publicKeyPem, keyId } = generateSigningKey('p256');
    expect(parsePublicKey(Buffer.from(publicKeyPem)).keyId).toBe(keyId);
    expect(parsePublicKey(`Some comment\r\n${publicKeyPem.replace(/\n/g, '\r\n')}trailing text`).keyId).toBe(keyId);
  });

  it('gives the upstream OMS test key (a certtool dump) its model_signing hint and DER key id', () => {
    const text = readFileSync(OMS_PUBLIC_KEY_FILE, 'utf8');
    const key = parsePublicKey(text);
    expect(key.algorithm).toBe('ecdsa-p384-sha384');
    expect(key.omsHint).toBe('e8450dec4eb99dae995da9af1bc2cc9f76ed669ee2e744f57abba763df3e3f8e');
    const block = /-----BEGIN PUBLIC KEY-----[\s\S]+?-----END PUBLIC KEY-----\n/.exec(text)?.[0] ?? '';
    expect(key.keyId).toBe(sha256Hex(createPublicKey(block).export({ type: 'spki', format: 'der' })));
  });

  it('loads the upstream SEC1 ("EC PRIVATE KEY") test key and derives the matching public key', () => {
    const privateKey = parsePrivateKey(readFileSync(OMS_PRIVATE_KEY_FILE, 'utf8'));
    expect(privateKey.algorithm).toBe('ecdsa-p384-sha384');
    expect(privateKey.publicKey.keyId).toBe(parsePublicKey(readFileSync(OMS_PUBLIC_KEY_FILE, 'utf8')).keyId);
  });

  it.each([
    ['RSA', () => generateKeyPairSync('rsa', { modulusLength: 2048 })],
    ['P-521', () => generateKeyPairSync('ec', { namedCurve: 'P-521' })],
    ['secp256k1', () => generateKeyPairSync('ec', { namedCurve: 'secp256k1' })],
    ['X25519', () => generateKeyPairSync('x25519')],
    ['Ed448', () => generateKeyPairSync('ed448')],
    ['DSA', () => generateKeyPairSync('dsa', { modulusLength: 2048, divisorLength: 256 })],
  ])('rejects %s keys as UNSUPPORTED_ALGORITHM (PEM, DER and private PKCS#8)', (_name, make) => {
    const pair = make();
    expect(codeOf(() => parsePublicKey(pair.publicKey.export({ type: 'spki', format: 'pem' }).toString()))).toBe('UNSUPPORTED_ALGORITHM');
    expect(codeOf(() => parsePublicKey(pair.publicKey.export({ type: 'spki', format: 'der' })))).toBe('UNSUPPORTED_ALGORITHM');
    expect(codeOf(() => parsePrivateKey(pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()))).toBe('UNSUPPORTED_ALGORITHM');
  });

  it('rejects a PKCS#1 "RSA PUBLIC KEY" and an "RSA PRIVATE KEY" as UNSUPPORTED_ALGORITHM', () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expect(codeOf(() => parsePublicKey(pair.publicKey.export({ type: 'pkcs1', format: 'pem' }).toString()))).toBe('UNSUPPORTED_ALGORITHM');
    expect(codeOf(() => parsePrivateKey(pair.privateKey.export({ type: 'pkcs1', format: 'pem' }).toString()))).toBe('UNSUPPORTED_ALGORITHM');
  });

  it.each([
    ['plain text', 'garbage'],
    ['an empty string', ''],
    ['a PEM block with invalid base64', '-----BEGIN PUBLIC KEY-----\nnot*base64!\n-----END PUBLIC KEY-----\n'],
    ['a PEM block that is not a key', `-----BEGIN PUBLIC KEY-----\n${Buffer.from('hello world!').toString('base64')}\n-----END PUBLIC KEY-----\n`],
    ['DER-looking random bytes', Buffer.concat([Buffer.from([0x30, 0x59]), randomBytes(91)])],
    ['non-UTF-8 bytes', Buffer.from([0xff, 0xfe, 0x00, 0x01])],
    ['two public keys', generateSigningKey('ed25519').publicKeyPem + generateSigningKey('ed25519').publicKeyPem],
    ['a certificate', readFileSync(path.join(omsKeys, 'certificate/signing-key-cert.pem'), 'utf8')],
    ['oversized input', 'A'.repeat(70_000)],
  ])('rejects %s as INVALID_PUBLIC_KEY', (_what, input) => {
    expect(codeOf(() => parsePublicKey(input))).toBe('INVALID_PUBLIC_KEY');
  });

  it('refuses a private key where a public key is expected, without echoing it', () => {
    const { privateKeyPem } = generateSigningKey('ed25519');
    let message = '';
    try {
      parsePublicKey(privateKeyPem);
    } catch (error) {
      expect((error as CustodyError).code).toBe('INVALID_PUBLIC_KEY');
      message = (error as Error).message;
    }
    expect(message).toMatch(/private key/);
    expect(message).not.toContain(privateKeyPem.split('\n')[1]);
    expect(codeOf(() => parsePublicKey(readFileSync(OMS_PRIVATE_KEY_FILE, 'utf8')))).toBe('INVALID_PUBLIC_KEY');
  });

  it('refuses encrypted private keys with USAGE and unparseable ones with INVALID_PUBLIC_KEY', () => {
    const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const encrypted = pair.privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();
    expect(codeOf(() => parsePrivateKey(encrypted))).toBe('USAGE');
    const legacyEncrypted = pair.privateKey.export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' }).toString();
    expect(legacyEncrypted).toContain('Proc-Type: 4,ENCRYPTED');
    expect(codeOf(() => parsePrivateKey(legacyEncrypted))).toBe('USAGE');
    expect(codeOf(() => parsePrivateKey('nothing here'))).toBe('INVALID_PUBLIC_KEY');
    expect(codeOf(() => parsePrivateKey(generateSigningKey('p256').publicKeyPem))).toBe('INVALID_PUBLIC_KEY');
    expect(codeOf(() => parsePrivateKey(`-----BEGIN PRIVATE KEY-----\n${randomBytes(48).toString('base64')}\n-----END PRIVATE KEY-----\n`))).toBe(
      'INVALID_PUBLIC_KEY',
    );
  });
});

describe('signing and verifying', () => {
  const data = Buffer.from('the bytes that get signed');

  it.each(KEY_TYPES)('a %s signature verifies; tampered data and a wrong key do not', (type) => {
    const key = parsePrivateKey(generateSigningKey(type).privateKeyPem);
    const signature = signData(key, data);
    expect(verifyData(key.publicKey, data, signature)).toBe(true);
    expect(verifyData(key.publicKey, Buffer.from('the bytes that get signeD'), signature)).toBe(false);
    expect(verifyData(otherKey(type).publicKey, data, signature)).toBe(false);
    const flipped = Buffer.from(signature);
    flipped[flipped.length - 1] = (flipped.at(-1) ?? 0) ^ 1;
    expect(verifyData(key.publicKey, data, flipped)).toBe(false);
  });

  it('signs Ed25519 as 64 raw bytes and ECDSA as DER with the curve hash', () => {
    const ed = parsePrivateKey(generateSigningKey('ed25519').privateKeyPem);
    expect(signData(ed, data)).toHaveLength(64);
    const p256 = parsePrivateKey(generateSigningKey('p256').privateKeyPem);
    expect(verify('sha256', data, { key: p256.publicKey.key, dsaEncoding: 'der' }, signData(p256, data))).toBe(true);
    const p384 = parsePrivateKey(generateSigningKey('p384').privateKeyPem);
    const sig384 = signData(p384, data);
    expect(verify('sha384', data, { key: p384.publicKey.key, dsaEncoding: 'der' }, sig384)).toBe(true);
    expect(verify('sha256', data, { key: p384.publicKey.key, dsaEncoding: 'der' }, sig384)).toBe(false);
  });

  it.each(['p256', 'p384'] as const)('accepts both DER and raw r‖s %s signatures', (type) => {
    const key = parsePrivateKey(generateSigningKey(type).privateKeyPem);
    const hash = type === 'p256' ? 'sha256' : 'sha384';
    const raw = sign(hash, data, { key: key.key, dsaEncoding: 'ieee-p1363' });
    expect(raw).toHaveLength(type === 'p256' ? 64 : 96);
    expect(verifyData(key.publicKey, data, raw)).toBe(true);
    expect(verifyData(key.publicKey, data, sign(hash, data, { key: key.key, dsaEncoding: 'der' }))).toBe(true);
    // r‖s of the wrong length is not tried as P1363.
    expect(verifyData(key.publicKey, data, Buffer.concat([raw, Buffer.from([0])]))).toBe(false);
  });

  it('verifies a P-384 signature made with SHA-256 only when asked to (legacy OMS v0.2)', () => {
    const key = parsePrivateKey(generateSigningKey('p384').privateKeyPem);
    const legacy = sign('sha256', data, { key: key.key, dsaEncoding: 'der' });
    expect(verifyData(key.publicKey, data, legacy)).toBe(false);
    expect(verifyData(key.publicKey, data, legacy, { hash: 'sha256' })).toBe(true);
  });

  it.each(KEY_TYPES)('returns false, never throws, for garbage %s signatures', (type) => {
    const key = parsePrivateKey(generateSigningKey(type).privateKeyPem).publicKey;
    const garbage = [
      Buffer.alloc(0),
      Buffer.from([0x30]),
      Buffer.from([0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00]),
      Buffer.concat([Buffer.from([0x30, 0x81, 0xff]), randomBytes(40)]),
      randomBytes(64),
      randomBytes(96),
      randomBytes(100_000),
      Buffer.alloc(64),
    ];
    for (const signature of garbage) expect(verifyData(key, data, signature)).toBe(false);
  });

  it('names a key under its key id, its OMS hint and base64 of the DER SHA-256', () => {
    const key = parsePublicKey(generateSigningKey('ed25519').publicKeyPem);
    const der = key.key.export({ type: 'spki', format: 'der' });
    expect(keyHints(key)).toEqual([sha256Hex(der), sha256Hex(key.pem), createHash('sha256').update(der).digest('base64')]);
  });
});
