/**
 * C2SP signed notes: the envelope Custody's checkpoints travel in, so any signed-note verifier
 * (Go's sumdb/note, Sigsum, Tessera clients, witnesses) can check them with the printed key.
 * Spec: https://c2sp.org/signed-note (v1.0.0); timestamped Ed25519 witness cosignatures
 * (type 0x04): https://c2sp.org/tlog-cosignature. Byte-level notes: reference/transparency-log.md §2.1–§2.3.
 *
 * Custody signs with Ed25519 only. Verification also understands type 0x04 cosignatures and
 * type 0x02 ECDSA (P-256/SHA-256, P-384/SHA-384 — the curves SPEC §4.2 allows), because real
 * witnesses and Rekor v1 checkpoints use them. Everything in a note is attacker-controlled: every
 * malformed input becomes a VERIFICATION_FAILED naming the rule it broke, never a crash.
 */
import { createHash, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { CustodyError } from '../domain/errors.js';

/** Signature type bytes (C2SP signed-note "Signature types"). */
export const SIGNATURE_TYPE = { ed25519: 0x01, ecdsa: 0x02, cosignatureV1: 0x04 } as const;

/** Largest note `openNote` reads, in UTF-8 bytes. */
export const MAX_NOTE_BYTES = 1024 * 1024;
/** Most signature lines `openNote` reads (C2SP requires at least 16; Go's note package allows 100). */
export const MAX_NOTE_SIGNATURES = 100;

/** A key that can check note signatures: who it is (name + 4-byte ID), its type and public key. */
export interface Verifier {
  readonly name: string;
  /** The 4-byte key ID carried at the front of each signature. */
  readonly keyId: Buffer;
  /** A SIGNATURE_TYPE byte. */
  readonly type: number;
  /** Raw 32-byte key for Ed25519 (0x01, 0x04); DER SubjectPublicKeyInfo for ECDSA (0x02). */
  readonly publicKey: Buffer;
}

/** An Ed25519 private key and the key name it signs under. */
export interface NoteSigner {
  readonly name: string;
  readonly privateKey: KeyObject;
}

/** One signature that verified. Cosignatures (type 0x04) carry the witness's timestamp. */
export interface VerifiedSignature {
  readonly name: string;
  readonly keyId: Buffer;
  readonly type: number;
  /** POSIX seconds, for cosignatures only. */
  readonly timestamp?: bigint;
}

export interface OpenedNote {
  /** The signed text, including its final newline. */
  readonly text: string;
  /** Each known key whose signature verified, once, in the order of the note. */
  readonly verified: readonly VerifiedSignature[];
}

const EM_DASH_PREFIX = '\u2014 ';
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
const MAX_TIMESTAMP = (1n << 63n) - 1n;
const MAX_VKEY_LENGTH = 4096;
// Unicode spaces (JS \s plus NEL, which Go's unicode.IsSpace also counts) and '+'.
const FORBIDDEN_IN_NAME = /[\s\u0085+]/u;
const ECDSA_HASH_BY_CURVE: Readonly<Record<string, string>> = { prime256v1: 'sha256', secp384r1: 'sha384' };

/** True when `name` may name a key: non-empty valid text, no Unicode space, no '+', no control character. */
export function isValidKeyName(name: string): boolean {
  return name.length > 0 && name.isWellFormed() && !FORBIDDEN_IN_NAME.test(name) && !containsControlCharacter(name);
}

/** True when `text` holds an ASCII control character other than newline (C2SP signed-note "Format"). */
export function containsControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x20 && unit !== 0x0a) return true;
  }
  return false;
}

/** The C2SP key ID: SHA-256(name ‖ 0x0A ‖ type ‖ public key)[:4]. */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): Buffer {
  return createHash('sha256').update(name, 'utf8').update(Uint8Array.of(0x0a, type)).update(publicKey).digest().subarray(0, 4);
}

/** The verifier key string `<name>+<hex key id>+<base64(0x01 ‖ key)>` of an Ed25519 key. */
export function formatVerifierKey(name: string, ed25519PublicKeyRaw: Uint8Array): string {
  if (!isValidKeyName(name)) invalid(`key name ${JSON.stringify(name)} is empty or contains a space, '+' or a control character`);
  if (ed25519PublicKeyRaw.length !== 32) invalid('an Ed25519 public key is 32 bytes');
  const keyId = noteKeyId(name, SIGNATURE_TYPE.ed25519, ed25519PublicKeyRaw);
  const encoded = Buffer.concat([Uint8Array.of(SIGNATURE_TYPE.ed25519), ed25519PublicKeyRaw]).toString('base64');
  return `${name}+${keyId.toString('hex')}+${encoded}`;
}

/**
 * Parses a verifier key string. Accepts Ed25519 (0x01) and Ed25519 cosigner (0x04) keys of 32
 * bytes, and ECDSA (0x02) P-256/P-384 SPKI keys; the key ID must be the one the key implies.
 * Throws VALIDATION_FAILED saying what is wrong.
 */
export function parseVerifierKey(vkey: string): Verifier {
  if (vkey.length > MAX_VKEY_LENGTH) invalid('verifier key is too long');
  // The name and the hex ID hold no '+'; the base64 key may.
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) invalid('verifier key must be <name>+<hex key id>+<base64 key>');
  const name = vkey.slice(0, first);
  const idHex = vkey.slice(first + 1, second);
  const keyB64 = vkey.slice(second + 1);
  if (!isValidKeyName(name)) invalid('verifier key name is empty or contains a space or control character');
  if (!/^[0-9a-f]{8}$/i.test(idHex)) invalid('verifier key ID must be 8 hex digits');
  const keyBytes = decodeBase64Strict(keyB64);
  if (keyBytes === undefined || keyBytes.length === 0) invalid('verifier key material is empty or not valid base64');
  const type = keyBytes[0] ?? -1;
  const publicKey = Buffer.from(keyBytes.subarray(1));
  let verifier: Verifier;
  switch (type) {
    case SIGNATURE_TYPE.ed25519:
    case SIGNATURE_TYPE.cosignatureV1:
      if (publicKey.length !== 32) invalid(`verifier key of type 0x0${type} must hold a 32-byte Ed25519 key`);
      verifier = { name, keyId: noteKeyId(name, type, publicKey), type, publicKey };
      break;
    case SIGNATURE_TYPE.ecdsa:
      verifier = ecdsaNoteVerifier(name, publicKey);
      break;
    default:
      invalid(`verifier key has unsupported signature type 0x${type.toString(16).padStart(2, '0')}`);
  }
  if (!verifier.keyId.equals(Buffer.from(idHex, 'hex'))) invalid(`verifier key ID ${idHex} does not match its key`);
  return verifier;
}

/**
 * An ECDSA (type 0x02) verifier from a DER SubjectPublicKeyInfo. Its key ID is
 * SHA-256(SPKI)[:4] — the transparency-dev witness convention, which is also Rekor v1's log ID
 * prefix. Only P-256 and P-384 are accepted (SPEC §4.2).
 */
export function ecdsaNoteVerifier(name: string, spkiDer: Uint8Array): Verifier {
  if (!isValidKeyName(name)) invalid('key name is empty or contains a space, \'+\' or a control character');
  const publicKey = Buffer.from(spkiDer);
  if (ecdsaHashFor(publicKey) === undefined) invalid('ECDSA verifier key must be a P-256 or P-384 SubjectPublicKeyInfo');
  return { name, keyId: createHash('sha256').update(publicKey).digest().subarray(0, 4), type: SIGNATURE_TYPE.ecdsa, publicKey };
}

/** The raw 32-byte public key of an Ed25519 key (public or private KeyObject). */
export function ed25519RawPublicKey(key: KeyObject): Buffer {
  if (key.asymmetricKeyType !== 'ed25519') invalid('not an Ed25519 key');
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return publicKey.export({ format: 'der', type: 'spki' }).subarray(ED25519_SPKI_PREFIX.length);
}

/**
 * Signs `text` (which must end with a newline) with an Ed25519 key and returns the signed note:
 * the text, a blank line and one signature line `— <name> <base64(key id ‖ signature)>`.
 */
export function signNote(text: string, signer: NoteSigner): string {
  if (!text.endsWith('\n')) invalid('note text must end with a newline');
  if (!text.isWellFormed() || containsControlCharacter(text)) invalid('note text must be valid UTF-8 without control characters other than newline');
  if (Buffer.byteLength(text, 'utf8') > MAX_NOTE_BYTES - 1024) invalid('note text is too large');
  if (!isValidKeyName(signer.name)) invalid(`key name ${JSON.stringify(signer.name)} is empty or contains a space, '+' or a control character`);
  const { privateKey } = signer;
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') invalid('a note signer needs an Ed25519 private key');
  const keyId = noteKeyId(signer.name, SIGNATURE_TYPE.ed25519, ed25519RawPublicKey(privateKey));
  const signature = sign(null, Buffer.from(text, 'utf8'), privateKey);
  return `${text}\n${EM_DASH_PREFIX}${signer.name} ${Buffer.concat([keyId, signature]).toString('base64')}\n`;
}

/**
 * Verifies a signed note against the trusted `verifiers` and returns its text, following
 * C2SP signed-note: lines from unknown keys (name and ID not both known) are ignored; a known
 * key whose signature fails rejects the whole note; a note with no verified signature is
 * rejected. Pass bytes to have invalid UTF-8 rejected rather than replaced.
 * Throws VERIFICATION_FAILED with the precise reason.
 */
export function openNote(note: string | Uint8Array, verifiers: readonly Verifier[]): OpenedNote {
  verifiers.forEach(checkVerifier);
  const { text, lines } = splitNote(decodeNote(note));
  const textBytes = Buffer.from(text, 'utf8');
  const verified: VerifiedSignature[] = [];
  const ignored: string[] = [];
  for (const line of lines) {
    const keyId = line.signature.subarray(0, 4);
    const verifier = verifiers.find((v) => v.name === line.name && v.keyId.equals(keyId));
    if (verifier === undefined) {
      ignored.push(`${line.name}+${keyId.toString('hex')}`);
      continue;
    }
    const outcome = checkSignature(verifier, text, textBytes, line.signature.subarray(4));
    if (!outcome.ok) throw failed(`invalid signature for key ${verifier.name}+${keyId.toString('hex')}`);
    if (!verified.some((v) => v.name === verifier.name && v.keyId.equals(keyId))) {
      const base = { name: verifier.name, keyId: Buffer.from(keyId), type: verifier.type };
      verified.push(outcome.timestamp === undefined ? base : { ...base, timestamp: outcome.timestamp });
    }
  }
  if (verified.length === 0) {
    const why = ignored.length === 0 ? '' : ` (ignored lines from unknown keys: ${ignored.join(', ')})`;
    throw failed(`no signature from a known key${why}`);
  }
  return { text, verified };
}

interface SignatureLine {
  readonly name: string;
  /** Key ID (4 bytes) followed by the signature. */
  readonly signature: Buffer;
}

function decodeNote(note: string | Uint8Array): string {
  if (typeof note !== 'string') {
    if (note.length > MAX_NOTE_BYTES) throw failed(`note is larger than ${MAX_NOTE_BYTES} bytes`);
    try {
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      throw failed('malformed note: not valid UTF-8');
    }
  }
  if (note.length > MAX_NOTE_BYTES || Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) {
    throw failed(`note is larger than ${MAX_NOTE_BYTES} bytes`);
  }
  if (!note.isWellFormed()) throw failed('malformed note: not valid UTF-8 (lone surrogate)');
  return note;
}

function splitNote(note: string): { text: string; lines: SignatureLine[] } {
  if (containsControlCharacter(note)) throw failed('malformed note: contains a control character other than newline');
  if (!note.endsWith('\n')) throw failed('malformed note: does not end with a newline');
  // The last blank line separates the text (which keeps its final newline) from the signatures.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw failed('malformed note: no blank line before the signature lines');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '') throw failed('malformed note: no signature lines');
  const rawLines = block.slice(0, -1).split('\n');
  if (rawLines.length > MAX_NOTE_SIGNATURES) throw failed(`malformed note: more than ${MAX_NOTE_SIGNATURES} signature lines`);
  const lines = rawLines.map((line, i) => {
    const where = `malformed note: signature line ${i + 1}`;
    if (!line.startsWith(EM_DASH_PREFIX)) throw failed(`${where} does not start with "— "`);
    const rest = line.slice(EM_DASH_PREFIX.length);
    const space = rest.indexOf(' ');
    if (space < 0) throw failed(`${where} has no signature after the key name`);
    const name = rest.slice(0, space);
    if (!isValidKeyName(name)) throw failed(`${where} has an invalid key name`);
    const signature = decodeBase64Strict(rest.slice(space + 1));
    if (signature === undefined || signature.length < 5) throw failed(`${where} does not hold base64(key id ‖ signature)`);
    return { name, signature };
  });
  return { text, lines };
}

type SignatureOutcome = { readonly ok: false } | { readonly ok: true; readonly timestamp?: bigint };

function checkSignature(verifier: Verifier, text: string, textBytes: Buffer, signature: Buffer): SignatureOutcome {
  try {
    switch (verifier.type) {
      case SIGNATURE_TYPE.ed25519:
        return { ok: signature.length === 64 && verify(null, textBytes, ed25519Key(verifier.publicKey), signature) };
      case SIGNATURE_TYPE.cosignatureV1: {
        // tlog-cosignature: u64 big-endian timestamp ‖ Ed25519 signature over
        // "cosignature/v1\ntime <ts>\n" ‖ the whole checkpoint text.
        if (signature.length !== 72) return { ok: false };
        const timestamp = signature.readBigUInt64BE(0);
        if (timestamp > MAX_TIMESTAMP) return { ok: false };
        const message = Buffer.from(`cosignature/v1\ntime ${timestamp}\n${text}`, 'utf8');
        const ok = verify(null, message, ed25519Key(verifier.publicKey), signature.subarray(8));
        return ok ? { ok, timestamp } : { ok };
      }
      case SIGNATURE_TYPE.ecdsa: {
        const hash = ecdsaHashFor(verifier.publicKey);
        if (hash === undefined || signature.length > 160) return { ok: false };
        const key = createPublicKey({ key: verifier.publicKey, format: 'der', type: 'spki' });
        return { ok: verify(hash, textBytes, { key, dsaEncoding: 'der' }, signature) };
      }
      default:
        return { ok: false };
    }
  } catch {
    // node:crypto throws on some malformed keys and signatures; that is a failed signature.
    return { ok: false };
  }
}

function checkVerifier(verifier: Verifier): void {
  const supported = Object.values(SIGNATURE_TYPE) as readonly number[];
  if (!isValidKeyName(verifier.name) || verifier.keyId.length !== 4 || !supported.includes(verifier.type)) {
    invalid(`verifier ${JSON.stringify(verifier.name)} is not a valid note verifier`);
  }
}

function ed25519Key(raw: Buffer): KeyObject {
  if (raw.length !== 32) throw new Error('Ed25519 public key must be 32 bytes');
  return createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
}

function ecdsaHashFor(spki: Buffer): string | undefined {
  try {
    const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
    const curve = key.asymmetricKeyType === 'ec' ? key.asymmetricKeyDetails?.namedCurve : undefined;
    return curve === undefined ? undefined : ECDSA_HASH_BY_CURVE[curve];
  } catch {
    return undefined;
  }
}

/** Standard base64 with padding, canonical only (RFC 4648 §4; no whitespace, no stray bits). */
export function decodeBase64Strict(encoded: string): Buffer | undefined {
  if (encoded.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(encoded)) return undefined;
  const bytes = Buffer.from(encoded, 'base64');
  return bytes.toString('base64') === encoded ? bytes : undefined;
}

function failed(message: string): CustodyError {
  return new CustodyError('VERIFICATION_FAILED', message);
}

function invalid(message: string): never {
  throw new CustodyError('VALIDATION_FAILED', message);
}
