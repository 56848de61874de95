/**
 * C2SP checkpoint verification through WebCrypto, for Node and the browser alike: parses a log's
 * verifier key (`<name>+<hex id>+<base64(0x01 ‖ Ed25519 key)>`), checks the key ID, opens the
 * signed note, verifies the pinned key's Ed25519 signature with `subtle.verify('Ed25519', …)`
 * and parses the checkpoint body (origin, tree size, root hash). It imports nothing, so the
 * transparency-log explorer's island can be served with it inlined (`ui/islands/island-script.ts`);
 * the server side keeps using `signed-note.ts` / `checkpoint.ts` over `node:crypto`. Results carry
 * the reason instead of throwing, because the browser shows each step.
 * Spec: https://c2sp.org/signed-note, https://c2sp.org/tlog-checkpoint;
 * reference/transparency-log.md §2.1–§2.2.
 *
 * Keep this file free of imports.
 */

/** The few WebCrypto calls this module needs (Node's and browsers' `crypto.subtle` both fit). */
export interface Ed25519Subtle {
  digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer>;
  importKey(format: 'raw', keyData: Uint8Array, algorithm: { name: string }, extractable: boolean, usages: string[]): Promise<unknown>;
  verify(algorithm: string | { name: string }, key: unknown, signature: Uint8Array, data: Uint8Array): Promise<boolean>;
}

/** A parsed Ed25519 note verifier key. */
export interface PortableVerifierKey {
  readonly name: string;
  /** The 4-byte key ID as 8 lowercase hex digits. */
  readonly keyId: string;
  readonly publicKey: Uint8Array;
}

/** A checkpoint whose signature by the pinned key verified. */
export interface PortableCheckpoint {
  readonly origin: string;
  readonly size: bigint;
  readonly root: Uint8Array;
}

export type CheckpointResult = { readonly ok: true; readonly checkpoint: PortableCheckpoint } | { readonly ok: false; readonly reason: string };

const NOTE_MAX_BYTES = 1024 * 1024;
const NOTE_MAX_SIGNATURES = 100;
const EM_DASH_PREFIX = '\u2014 ';

/** Standard padded base64 to bytes, or undefined when it is anything else. */
export function decodeBase64Portable(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  try {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return undefined;
  }
}

/** The C2SP key ID of an Ed25519 key: SHA-256(name ‖ 0x0A ‖ 0x01 ‖ key)[:4], as hex. */
export async function ed25519KeyId(subtle: Ed25519Subtle, name: string, publicKey: Uint8Array): Promise<string> {
  const nameBytes = new TextEncoder().encode(name);
  const input = new Uint8Array(nameBytes.length + 2 + publicKey.length);
  input.set(nameBytes, 0);
  input[nameBytes.length] = 0x0a;
  input[nameBytes.length + 1] = 0x01;
  input.set(publicKey, nameBytes.length + 2);
  const digest = new Uint8Array(await subtle.digest('SHA-256', input));
  return Array.from(digest.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Parses an Ed25519 verifier key and checks that its key ID is the one its name and key give. */
export async function parseVerifierKeyPortable(subtle: Ed25519Subtle, vkey: string): Promise<PortableVerifierKey | { readonly error: string }> {
  // <name>+<id>+<key>: names and IDs have no '+', base64 may.
  const first = typeof vkey === 'string' ? vkey.indexOf('+') : -1;
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  const [name, keyId, encoded] = second < 0 ? [] : [vkey.slice(0, first), vkey.slice(first + 1, second), vkey.slice(second + 1)];
  if (name === undefined || keyId === undefined || encoded === undefined || name === '' || /\s/.test(name)) {
    return { error: 'the verifier key is not <name>+<hex id>+<base64 key>' };
  }
  if (!/^[0-9a-f]{8}$/.test(keyId)) return { error: 'the verifier key ID is not 8 lowercase hex digits' };
  const decoded = decodeBase64Portable(encoded);
  if (decoded?.length !== 33 || decoded[0] !== 0x01) return { error: 'the verifier key is not an Ed25519 (type 0x01) key' };
  const publicKey = decoded.slice(1);
  const expected = await ed25519KeyId(subtle, name, publicKey);
  if (expected !== keyId) return { error: `the verifier key ID ${keyId} does not match its name and key (${expected})` };
  return { name, keyId, publicKey };
}

/**
 * Verifies a signed checkpoint note against one pinned key: the pinned key must have signed it
 * (signatures by other keys are ignored, as C2SP requires), its signature must verify, the
 * origin must be the key's name, and the body must be a well-formed checkpoint.
 */
export async function verifyCheckpointNote(subtle: Ed25519Subtle, note: string, key: PortableVerifierKey): Promise<CheckpointResult> {
  if (typeof note !== 'string' || note.length > NOTE_MAX_BYTES) return { ok: false, reason: 'the checkpoint is not a note of at most 1 MiB' };
  if (hasControlCharacter(note)) return { ok: false, reason: 'the note contains control characters' };
  if (!note.endsWith('\n')) return { ok: false, reason: 'the note does not end with a newline' };
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return { ok: false, reason: 'the note has no blank line before its signatures' };
  const text = note.slice(0, split + 1);
  const lines = note.slice(split + 2, -1).split('\n');
  if (lines.length > NOTE_MAX_SIGNATURES) return { ok: false, reason: `the note has more than ${NOTE_MAX_SIGNATURES} signatures` };
  const message = new TextEncoder().encode(text);
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith(EM_DASH_PREFIX)) return { ok: false, reason: 'a signature line does not start with "— "' };
    const [name, encoded, extra] = line.slice(EM_DASH_PREFIX.length).split(' ');
    const bytes = encoded === undefined ? undefined : decodeBase64Portable(encoded);
    if (name === undefined || name === '' || bytes === undefined || bytes.length < 5 || extra !== undefined) return { ok: false, reason: 'a signature line is malformed' };
    const lineKeyId = Array.from(bytes.slice(0, 4), (b) => b.toString(16).padStart(2, '0')).join('');
    if (name !== key.name || lineKeyId !== key.keyId) continue; // an unknown key: ignored
    const signature = bytes.slice(4);
    let good = false;
    if (signature.length === 64) {
      const cryptoKey = await subtle.importKey('raw', key.publicKey, { name: 'Ed25519' }, false, ['verify']);
      good = await subtle.verify({ name: 'Ed25519' }, cryptoKey, signature, message);
    }
    if (!good) return { ok: false, reason: `the signature by the pinned key ${key.name} does not verify` };
    verified = true;
  }
  if (!verified) return { ok: false, reason: `the note carries no signature by the pinned key ${key.name}+${key.keyId}` };
  return parseCheckpointText(text, key.name);
}

/** Any control character other than LF (C2SP signed-note forbids them). */
function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if ((code < 0x20 && code !== 0x0a) || code === 0x7f) return true;
  }
  return false;
}

/** The origin, size and root of a checkpoint body (already verified text). */
function parseCheckpointText(text: string, expectedOrigin: string): CheckpointResult {
  const [origin, sizeText, rootText, ...rest] = text.slice(0, -1).split('\n');
  if (origin === undefined || sizeText === undefined || rootText === undefined) return { ok: false, reason: 'the checkpoint has fewer than 3 lines' };
  if (rest.some((line) => line === '')) return { ok: false, reason: 'the checkpoint has an empty extension line' };
  if (origin !== expectedOrigin) return { ok: false, reason: `the checkpoint's origin "${origin}" is not the pinned log "${expectedOrigin}"` };
  if (!/^(0|[1-9][0-9]{0,18})$/.test(sizeText) || BigInt(sizeText) > (1n << 63n) - 1n) return { ok: false, reason: 'the tree size is not a decimal integer below 2^63' };
  const root = decodeBase64Portable(rootText);
  if (root?.length !== 32) return { ok: false, reason: 'the root hash is not 32 bytes of base64' };
  return { ok: true, checkpoint: { origin, size: BigInt(sizeText), root } };
}
