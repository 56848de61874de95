/**
 * Signing keys for attestations and model signatures (SPEC §4.2): parsing public and private
 * keys from hostile PEM/DER, generating key pairs, signing and verifying raw bytes, and the key
 * ids under which a key may be named in a bundle.
 *
 * Only Ed25519, ECDSA P-256/SHA-256 and ECDSA P-384/SHA-384 exist here; every other algorithm is
 * refused with UNSUPPORTED_ALGORITHM so no caller can slip one through.
 * Key id = lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (SPEC §4.2); the OMS hint is the
 * hex SHA-256 of the SPKI PEM text (reference/oms.md §1.1, reference/attestations.md §4).
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { CustodyError } from '../domain/errors.js';

export type KeyType = 'ed25519' | 'p256' | 'p384';
export type SignatureAlgorithm = 'ed25519' | 'ecdsa-p256-sha256' | 'ecdsa-p384-sha384';

export interface PublicKeyInfo {
  readonly algorithm: SignatureAlgorithm;
  readonly key: KeyObject;
  /** SPKI PEM exactly as node exports it (64 columns, trailing newline). */
  readonly pem: string;
  /** Lowercase hex SHA-256 of the DER SPKI: Custody's key id (SPEC §4.2). */
  readonly keyId: string;
  /** Lowercase hex SHA-256 of `pem`: the model_signing `publicKey.hint` convention. */
  readonly omsHint: string;
}

export interface PrivateKeyInfo {
  readonly algorithm: SignatureAlgorithm;
  readonly key: KeyObject;
  readonly publicKey: PublicKeyInfo;
}

/** Key files are small; anything bigger is not a key and is not worth parsing. */
const MAX_KEY_INPUT_BYTES = 64 * 1024;

interface CurveInfo {
  readonly algorithm: SignatureAlgorithm;
  readonly hash: 'sha256' | 'sha384' | null;
  /** Bytes of one scalar (r or s) in the raw r‖s encoding; 0 for EdDSA. */
  readonly fieldBytes: number;
}

const CURVES: Readonly<Record<SignatureAlgorithm, CurveInfo>> = {
  ed25519: { algorithm: 'ed25519', hash: null, fieldBytes: 0 },
  'ecdsa-p256-sha256': { algorithm: 'ecdsa-p256-sha256', hash: 'sha256', fieldBytes: 32 },
  'ecdsa-p384-sha384': { algorithm: 'ecdsa-p384-sha384', hash: 'sha384', fieldBytes: 48 },
};

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
const PEM_BODY_CHARS = /^[A-Za-z0-9+/]*={0,2}$/;

interface PemBlock {
  readonly label: string;
  readonly body: string;
}

function invalidPublicKey(message: string, cause?: unknown): CustodyError {
  return new CustodyError('INVALID_PUBLIC_KEY', message, cause === undefined ? {} : { cause });
}

function unsupported(what: string): CustodyError {
  return new CustodyError('UNSUPPORTED_ALGORITHM', `${what} is not supported: keys must be Ed25519, ECDSA P-256 or ECDSA P-384`, {
    details: { algorithm: what },
  });
}

/** Every PEM block in `text` (text around the blocks, such as a certtool dump, is ignored). */
function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => ({ label: m[1] ?? '', body: m[2] ?? '' }));
}

/** The DER inside a PEM block; RFC 7468 allows whitespace between base64 lines, nothing else. */
function pemDer(block: PemBlock, onError: (message: string) => CustodyError): Buffer {
  const body = block.body.replace(/\s+/g, '');
  if (body.length === 0 || body.length % 4 !== 0 || !PEM_BODY_CHARS.test(body)) {
    throw onError(`the ${block.label} PEM block is not valid base64`);
  }
  return Buffer.from(body, 'base64');
}

/** The signature algorithm of a key, or UNSUPPORTED_ALGORITHM for anything outside SPEC §4.2. */
function algorithmOf(key: KeyObject): SignatureAlgorithm {
  const type = key.asymmetricKeyType ?? 'unknown';
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve ?? 'unknown curve';
    if (curve === 'prime256v1') return 'ecdsa-p256-sha256';
    if (curve === 'secp384r1') return 'ecdsa-p384-sha384';
    throw unsupported(`ECDSA on ${curve}`);
  }
  throw unsupported(type.toUpperCase());
}

/** The PublicKeyInfo of a public KeyObject (e.g. the key of a certificate from X509Certificate). */
export function publicKeyInfoFromKeyObject(key: KeyObject): PublicKeyInfo {
  if (key.type !== 'public') throw invalidPublicKey('expected a public key');
  const algorithm = algorithmOf(key);
  const der = key.export({ type: 'spki', format: 'der' });
  const pem = key.export({ type: 'spki', format: 'pem' }).toString();
  return Object.freeze({
    algorithm,
    key,
    pem,
    keyId: createHash('sha256').update(der).digest('hex'),
    omsHint: createHash('sha256').update(pem).digest('hex'),
  });
}

function publicKeyFromDer(der: Buffer): PublicKeyInfo {
  let key: KeyObject;
  try {
    key = createPublicKey({ key: der, format: 'der', type: 'spki' });
  } catch (error) {
    throw invalidPublicKey('not a valid SubjectPublicKeyInfo public key', error);
  }
  return publicKeyInfoFromKeyObject(key);
}

function decodeKeyText(input: Uint8Array, what: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(input);
  } catch (error) {
    throw invalidPublicKey(`${what} is neither DER nor UTF-8 PEM text`, error);
  }
}

/**
 * Parses a public key: PEM text (text before/after the PEM block allowed, e.g. certtool dumps)
 * or DER SPKI bytes. Only Ed25519, P-256 and P-384 are accepted: anything else (RSA, P-521,
 * secp256k1, X25519, Ed448, DSA) throws UNSUPPORTED_ALGORITHM; unparseable input, several
 * public keys, a certificate, or any private key throw INVALID_PUBLIC_KEY.
 */
export function parsePublicKey(input: string | Uint8Array): PublicKeyInfo {
  if (typeof input !== 'string' && !(input instanceof Uint8Array)) throw invalidPublicKey('a public key must be PEM text or DER bytes');
  if (input.length > MAX_KEY_INPUT_BYTES) throw invalidPublicKey(`a public key must be at most ${MAX_KEY_INPUT_BYTES} bytes`);
  // DER SPKI is an ASN.1 SEQUENCE (0x30); anything else is treated as PEM text.
  if (typeof input !== 'string' && input[0] === 0x30) return publicKeyFromDer(Buffer.from(input));
  const text = typeof input === 'string' ? input : decodeKeyText(input, 'the public key');
  const blocks = pemBlocks(text);
  if (blocks.some((b) => b.label.includes('PRIVATE KEY'))) {
    throw invalidPublicKey('this is a private key; give the public key (SPKI "PUBLIC KEY" PEM) instead');
  }
  const publicBlocks = blocks.filter((b) => b.label === 'PUBLIC KEY');
  if (publicBlocks.length > 1) throw invalidPublicKey('more than one public key in the input');
  const block = publicBlocks[0];
  if (block === undefined) {
    if (blocks.some((b) => b.label === 'RSA PUBLIC KEY')) throw unsupported('RSA');
    if (blocks.some((b) => b.label === 'CERTIFICATE')) throw invalidPublicKey('this is a certificate; give its public key (SPKI "PUBLIC KEY" PEM)');
    throw invalidPublicKey('no "-----BEGIN PUBLIC KEY-----" PEM block found');
  }
  return publicKeyFromDer(pemDer(block, invalidPublicKey));
}

/**
 * Parses a private key from PKCS#8 ("PRIVATE KEY") or SEC1 ("EC PRIVATE KEY") PEM. Encrypted
 * keys throw USAGE (decrypt them first); other algorithms UNSUPPORTED_ALGORITHM; anything
 * unparseable INVALID_PUBLIC_KEY (the one key-format code). Messages never echo key material.
 */
export function parsePrivateKey(pem: string): PrivateKeyInfo {
  if (typeof pem !== 'string') throw invalidPublicKey('a private key must be PEM text');
  if (pem.length > MAX_KEY_INPUT_BYTES) throw invalidPublicKey(`a private key must be at most ${MAX_KEY_INPUT_BYTES} bytes`);
  const blocks = pemBlocks(pem).filter((b) => b.label.includes('PRIVATE KEY'));
  if (blocks.length > 1) throw invalidPublicKey('more than one private key in the input');
  const block = blocks[0];
  if (block === undefined) throw invalidPublicKey('no private key PEM block ("PRIVATE KEY" or "EC PRIVATE KEY") found');
  if (block.label === 'ENCRYPTED PRIVATE KEY' || /Proc-Type:\s*4,\s*ENCRYPTED/i.test(block.body)) {
    throw new CustodyError('USAGE', 'the private key is encrypted; decrypt it first (e.g. openssl pkcs8 -topk8 -nocrypt)');
  }
  let type: 'pkcs8' | 'sec1';
  if (block.label === 'PRIVATE KEY') type = 'pkcs8';
  else if (block.label === 'EC PRIVATE KEY') type = 'sec1';
  else if (block.label === 'OPENSSH PRIVATE KEY') throw invalidPublicKey('OpenSSH private keys are not supported; convert to PKCS#8 (ssh-keygen -p -m PKCS8)');
  else throw unsupported(block.label.replace(/ ?PRIVATE KEY$/, '') || 'this key type');
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pemDer(block, invalidPublicKey), format: 'der', type });
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    throw invalidPublicKey(`not a valid ${type === 'pkcs8' ? 'PKCS#8' : 'SEC1'} private key`, error);
  }
  const algorithm = algorithmOf(key);
  return Object.freeze({ algorithm, key, publicKey: publicKeyInfoFromKeyObject(createPublicKey(key)) });
}

/** A fresh key pair: PKCS#8 PEM private key, SPKI PEM public key, key id. */
export function generateSigningKey(type: KeyType): {
  privateKeyPem: string;
  publicKeyPem: string;
  keyId: string;
  algorithm: SignatureAlgorithm;
} {
  const pair =
    type === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : type === 'p256' || type === 'p384'
        ? generateKeyPairSync('ec', { namedCurve: type === 'p256' ? 'P-256' : 'P-384' })
        : undefined;
  if (pair === undefined) throw new CustodyError('USAGE', 'key type must be ed25519, p256 or p384');
  const publicKey = publicKeyInfoFromKeyObject(pair.publicKey);
  return {
    privateKeyPem: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicKeyPem: publicKey.pem,
    keyId: publicKey.keyId,
    algorithm: publicKey.algorithm,
  };
}

/** Signs `data`: Ed25519 gives 64 bytes; ECDSA gives ASN.1 DER with the curve's hash (P-256→SHA-256, P-384→SHA-384). */
export function signData(key: PrivateKeyInfo, data: Uint8Array): Buffer {
  const { hash } = CURVES[key.algorithm];
  if (hash === null) return sign(null, data, key.key);
  return sign(hash, data, { key: key.key, dsaEncoding: 'der' });
}

/**
 * True when `signature` is a valid signature of `data` by `key`; never throws on garbage. ECDSA
 * accepts DER and raw r‖s (IEEE P1363, exactly 2× the field size). `hash` overrides the curve
 * hash — needed only for the legacy OMS v0.2 path, which signed P-384 with SHA-256.
 */
export function verifyData(key: PublicKeyInfo, data: Uint8Array, signature: Uint8Array, options: { hash?: 'sha256' | 'sha384' } = {}): boolean {
  try {
    const curve = CURVES[key.algorithm];
    if (curve.hash === null) return signature.length === 64 && verify(null, data, key.key, signature);
    const hash = options.hash ?? curve.hash;
    if (signature.length === 0) return false;
    if (signature[0] === 0x30 && verifyQuietly(hash, data, key.key, signature, 'der')) return true;
    return signature.length === 2 * curve.fieldBytes && verifyQuietly(hash, data, key.key, signature, 'ieee-p1363');
  } catch {
    return false;
  }
}

function verifyQuietly(hash: string, data: Uint8Array, key: KeyObject, signature: Uint8Array, dsaEncoding: 'der' | 'ieee-p1363'): boolean {
  try {
    return verify(hash, data, { key, dsaEncoding }, signature);
  } catch {
    return false;
  }
}

/**
 * Every hint under which this key may be named in a bundle: the key id (hex SHA-256 of the DER
 * SPKI), the OMS hint (hex SHA-256 of the PEM text) and base64 of the DER SPKI SHA-256 (the
 * sigstore-conformance convention, reference/attestations.md §4).
 */
export function keyHints(key: PublicKeyInfo): string[] {
  return [key.keyId, key.omsHint, Buffer.from(key.keyId, 'hex').toString('base64')];
}
