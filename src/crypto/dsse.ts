/**
 * DSSE v1.0.2 envelopes (https://github.com/secure-systems-lab/dsse/blob/v1.0.2/protocol.md,
 * envelope.md; reference/attestations.md §1): the pre-authentication encoding that is signed,
 * a defensive parser for untrusted envelope JSON, signing and verifying one signature.
 *
 * The payload is kept as the exact decoded bytes: callers verify and parse those bytes and never
 * re-serialise (the spec's "pass on exactly the bytes you verified").
 */
import { CustodyError } from '../domain/errors.js';
import { signData, verifyData, type PrivateKeyInfo, type PublicKeyInfo } from './signing-keys.js';

/** The payloadType of an in-toto Statement (in-toto attestation spec v1, envelope.md). */
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';

/** One signature of a parsed envelope; `keyid` is an unauthenticated hint, '' when absent or null. */
export interface DsseSignature {
  readonly sig: Buffer;
  readonly keyid: string;
}

/** A parsed envelope: the payload is the decoded bytes, exactly as they were signed. */
export interface DsseEnvelope {
  readonly payloadType: string;
  readonly payload: Buffer;
  readonly signatures: readonly DsseSignature[];
}

/** The JSON form of an envelope (payload and sig in standard base64). */
export interface DsseEnvelopeJson {
  payload: string;
  payloadType: string;
  signatures: { keyid?: string; sig: string }[];
}

const PAE_PREFIX = 'DSSEv1';

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN being the ASCII
 * decimal byte length (UTF-8 bytes for the type, not characters).
 */
export function pae(payloadType: string, payload: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`${PAE_PREFIX} ${type.length} `, 'ascii'),
    type,
    Buffer.from(` ${payload.length} `, 'ascii'),
    payload,
  ]);
}

const STANDARD_B64 = /^[A-Za-z0-9+/]*$/;
const URL_SAFE_B64 = /^[A-Za-z0-9_-]*$/;
const B64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function invalidField(field: string, problem: string): CustodyError {
  return new CustodyError('INVALID_BUNDLE', `${field} ${problem}`, { details: { field } });
}

/**
 * Decodes a base64 field: standard or URL-safe alphabet (not mixed), padding optional. Invalid
 * characters, whitespace, impossible lengths, misplaced padding or non-zero stray bits throw
 * INVALID_BUNDLE naming `field` — unlike Buffer.from(…, 'base64'), which silently skips garbage.
 */
export function decodeBase64Field(value: unknown, field: string): Buffer {
  if (typeof value !== 'string') throw invalidField(field, 'must be a base64 string');
  let body = value;
  if (body.endsWith('==')) body = body.slice(0, -2);
  else if (body.endsWith('=')) body = body.slice(0, -1);
  const padded = body.length !== value.length;
  if (padded && value.length % 4 !== 0) throw invalidField(field, 'has misplaced base64 padding');
  if (body.length % 4 === 1) throw invalidField(field, 'has an impossible base64 length');
  const urlSafe = !STANDARD_B64.test(body);
  if (urlSafe && !URL_SAFE_B64.test(body)) throw invalidField(field, 'is not valid base64 (standard or URL-safe)');
  const standard = urlSafe ? body.replace(/-/g, '+').replace(/_/g, '/') : body;
  // The bits below the last whole byte must be zero, so every byte string has one encoding.
  const last = standard.at(-1);
  if (last !== undefined && standard.length % 4 !== 0) {
    const sextet = B64_ALPHABET.indexOf(last);
    const strayBits = standard.length % 4 === 2 ? sextet & 0x0f : sextet & 0x03;
    if (strayBits !== 0) throw invalidField(field, 'is not canonical base64 (non-zero padding bits)');
  }
  return Buffer.from(standard, 'base64');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Shape-checks an untrusted envelope object (unknown fields ignored): `payload` and `sig` base64,
 * `payloadType` a string, `keyid` a string, null or absent, at least one signature. Anything else
 * throws INVALID_BUNDLE naming the field.
 */
export function parseEnvelope(value: unknown): DsseEnvelope {
  if (!isRecord(value)) throw invalidField('dsseEnvelope', 'must be a JSON object');
  const payload = decodeBase64Field(value['payload'], 'dsseEnvelope.payload');
  const payloadType = value['payloadType'];
  if (typeof payloadType !== 'string') throw invalidField('dsseEnvelope.payloadType', 'must be a string');
  const rawSignatures = value['signatures'];
  if (!Array.isArray(rawSignatures)) throw invalidField('dsseEnvelope.signatures', 'must be an array');
  if (rawSignatures.length === 0) throw invalidField('dsseEnvelope.signatures', 'must hold at least one signature');
  const signatures = rawSignatures.map((entry: unknown, i): DsseSignature => {
    const where = `dsseEnvelope.signatures[${i}]`;
    if (!isRecord(entry)) throw invalidField(where, 'must be a JSON object');
    const sig = decodeBase64Field(entry['sig'], `${where}.sig`);
    const keyid = entry['keyid'];
    if (keyid !== undefined && keyid !== null && typeof keyid !== 'string') throw invalidField(`${where}.keyid`, 'must be a string');
    return Object.freeze({ sig, keyid: keyid ?? '' });
  });
  return Object.freeze({ payloadType, payload, signatures: Object.freeze(signatures) });
}

/** Signs PAE(payloadType, payload) with `key`: one signature, standard base64, `keyid` as given ('' by default). */
export function signEnvelope(payloadType: string, payload: Uint8Array, key: PrivateKeyInfo, keyid = ''): DsseEnvelopeJson {
  const sig = signData(key, pae(payloadType, payload));
  return {
    payload: Buffer.from(payload).toString('base64'),
    payloadType,
    signatures: [{ keyid, sig: sig.toString('base64') }],
  };
}

/** True when signature `index` (default 0) verifies over PAE(env.payloadType, env.payload) with `key`. */
export function verifyEnvelopeSignature(env: DsseEnvelope, key: PublicKeyInfo, index = 0): boolean {
  const signature = env.signatures[index];
  if (signature === undefined) return false;
  return verifyData(key, pae(env.payloadType, env.payload), signature.sig);
}
