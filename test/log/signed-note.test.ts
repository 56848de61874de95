/**
 * C2SP signed notes (https://c2sp.org/signed-note): signing, verifier keys, and every way
 * `openNote` must refuse a note — tampered text, wrong keys, malformed structure, oversize input.
 * Keys are generated in the test; the interop vectors live in test/interop/tlog-notes.interop.test.ts.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import {
  ecdsaNoteVerifier,
  ed25519RawPublicKey,
  formatVerifierKey,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  noteKeyId,
  openNote,
  parseVerifierKey,
  SIGNATURE_TYPE,
  signNote,
  type Verifier,
} from '../../src/log/signed-note.js';

interface TestKey {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly verifier: Verifier;
}

function newKey(name: string): TestKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  return { name, privateKey, verifier: parseVerifierKey(formatVerifierKey(name, ed25519RawPublicKey(privateKey))) };
}

/** The signature lines of a note (without the text and blank line). */
function signatureLines(note: string): string[] {
  return note.slice(note.lastIndexOf('\n\n') + 2, -1).split('\n');
}

/** A tlog-cosignature/v1 line, written here from the spec text rather than by the code under test. */
function cosignatureLine(name: string, privateKey: KeyObject, text: string, timestamp: bigint): string {
  const raw = ed25519RawPublicKey(privateKey);
  const keyId = createHash('sha256').update(`${name}\n`).update(Uint8Array.of(0x04)).update(raw).digest().subarray(0, 4);
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(timestamp);
  const signature = sign(null, Buffer.from(`cosignature/v1\ntime ${timestamp}\n${text}`), privateKey);
  return `\u2014 ${name} ${Buffer.concat([keyId, ts, signature]).toString('base64')}`;
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The same bytes in non-canonical base64: the last character before '=' with an unused bit set. */
function withUnusedBitSet(encoded: string): string {
  const at = encoded.indexOf('=') - 1;
  const flipped = BASE64_ALPHABET[BASE64_ALPHABET.indexOf(encoded.charAt(at)) ^ 1] ?? '';
  const result = encoded.slice(0, at) + flipped + encoded.slice(at + 1);
  expect(Buffer.from(result, 'base64')).toEqual(Buffer.from(encoded, 'base64'));
  return result;
}

function verificationError(run: () => unknown): CustodyError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe('VERIFICATION_FAILED');
    return error as CustodyError;
  }
  throw new Error('expected VERIFICATION_FAILED, but nothing was thrown');
}

function validationError(run: () => unknown): CustodyError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe('VALIDATION_FAILED');
    return error as CustodyError;
  }
  throw new Error('expected VALIDATION_FAILED, but nothing was thrown');
}

const log = newKey('custody.example/log');
const text = 'custody.example/log\n3\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n';

describe('signNote', () => {
  it('appends a blank line and one EM DASH signature line carrying the C2SP key ID', () => {
    const note = signNote(text, log);
    expect(note.startsWith(`${text}\n\u2014 custody.example/log `)).toBe(true);
    expect(note.endsWith('\n')).toBe(true);
    const [line] = signatureLines(note);
    const blob = Buffer.from(line?.split(' ')[2] ?? '', 'base64');
    expect(blob).toHaveLength(4 + 64);
    expect(blob.subarray(0, 4)).toEqual(noteKeyId(log.name, 0x01, ed25519RawPublicKey(log.privateKey)));
  });

  it('is deterministic (Ed25519), so the same text gives the same note', () => {
    expect(signNote(text, log)).toBe(signNote(text, log));
  });

  it('round-trips texts with inner blank lines and a trailing empty line', () => {
    for (const body of ['a\n\nb\n', 'a\n\n', '\n', 'ünïcödé — text\n\n\u2014 not a signature\n']) {
      expect(openNote(signNote(body, log), [log.verifier]).text).toBe(body);
    }
  });

  it('refuses text that is not a newline-terminated, control-free UTF-8 text', () => {
    expect(validationError(() => signNote('no newline', log)).message).toMatch(/must end with a newline/);
    expect(validationError(() => signNote('', log)).message).toMatch(/must end with a newline/);
    expect(validationError(() => signNote('tab\there\n', log)).message).toMatch(/control characters/);
    expect(validationError(() => signNote('cr\r\n', log)).message).toMatch(/control characters/);
    expect(validationError(() => signNote('lone \ud800\n', log)).message).toMatch(/valid UTF-8/);
    expect(validationError(() => signNote(`${'x'.repeat(MAX_NOTE_BYTES)}\n`, log)).message).toMatch(/too large/);
  });

  it('refuses invalid key names and keys that are not Ed25519 private keys', () => {
    for (const name of ['', 'has space', 'a+b', 'nbsp\u00a0name', 'tab\tname']) {
      expect(validationError(() => signNote(text, { name, privateKey: log.privateKey })).message).toMatch(/key name/);
    }
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(validationError(() => signNote(text, { name: 'x', privateKey: ec.privateKey })).message).toMatch(/Ed25519 private key/);
    const ed = generateKeyPairSync('ed25519');
    expect(validationError(() => signNote(text, { name: 'x', privateKey: ed.publicKey })).message).toMatch(/Ed25519 private key/);
  });
});

describe('verifier keys', () => {
  it('formats and parses an Ed25519 verifier key, with the key ID the key implies', () => {
    const raw = ed25519RawPublicKey(log.privateKey);
    const vkey = formatVerifierKey(log.name, raw);
    const expectedId = createHash('sha256').update(`${log.name}\n\u0001`).update(raw).digest().subarray(0, 4).toString('hex');
    expect(vkey).toBe(`${log.name}+${expectedId}+${Buffer.concat([Buffer.of(1), raw]).toString('base64')}`);
    const parsed = parseVerifierKey(vkey);
    expect(parsed).toEqual({ name: log.name, keyId: Buffer.from(expectedId, 'hex'), type: 0x01, publicKey: raw });
  });

  it('parses a cosigner (0x04) key and an ECDSA (0x02) key', () => {
    const raw = ed25519RawPublicKey(log.privateKey);
    const id4 = noteKeyId('w', 0x04, raw).toString('hex');
    expect(parseVerifierKey(`w+${id4}+${Buffer.concat([Buffer.of(4), raw]).toString('base64')}`).type).toBe(SIGNATURE_TYPE.cosignatureV1);
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
    const idEc = createHash('sha256').update(spki).digest().subarray(0, 4).toString('hex');
    const parsed = parseVerifierKey(`e+${idEc}+${Buffer.concat([Buffer.of(2), spki]).toString('base64')}`);
    expect(parsed.type).toBe(SIGNATURE_TYPE.ecdsa);
    expect(parsed.keyId.toString('hex')).toBe(idEc);
  });

  it('rejects malformed verifier keys, naming the problem', () => {
    const raw = ed25519RawPublicKey(log.privateKey);
    const id = noteKeyId('n', 0x01, raw).toString('hex');
    const key = Buffer.concat([Buffer.of(1), raw]).toString('base64');
    expect(formatVerifierKey('n', raw)).toBe(`n+${id}+${key}`);
    const cases: readonly (readonly [string, RegExp])[] = [
      ['n+' + id, /must be <name>/],
      [`n+${id}+${key}+extra`, /not valid base64/],
      [`n+${id}+${key}`.replace('+', '++'), /8 hex digits/],
      [`+${id}+${key}`, /name is empty/],
      [`a b+${id}+${key}`, /name is empty or contains a space/],
      [`n+${id.slice(0, 7)}+${key}`, /8 hex digits/],
      [`n+${id}+${key.slice(0, -1)}`, /not valid base64/],
      [`n+${id}+ ${key}`, /not valid base64/],
      [`n+${id}+AQE=`, /32-byte Ed25519 key/],
      [`n+${id}+AQ==`, /32-byte Ed25519 key/],
      [`n+${id}+`, /empty or not valid base64/],
      [`n+${id}+${Buffer.concat([Buffer.of(1), raw, Buffer.of(0)]).toString('base64')}`, /32-byte Ed25519 key/],
      [`n+${id}+${Buffer.concat([Buffer.of(0x06), raw]).toString('base64')}`, /unsupported signature type 0x06/],
      [`n+00000000+${key}`, /does not match its key/],
      [`n+${id}+${Buffer.concat([Buffer.of(2), raw]).toString('base64')}`, /P-256 or P-384/],
      [`n+${id}+${'A'.repeat(5000)}`, /too long/],
    ];
    for (const [vkey, message] of cases) expect(validationError(() => parseVerifierKey(vkey)).message).toMatch(message);
  });

  it('refuses ECDSA curves outside SPEC §4.2 (P-521)', () => {
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey.export({ format: 'der', type: 'spki' });
    expect(validationError(() => ecdsaNoteVerifier('n', spki)).message).toMatch(/P-256 or P-384/);
  });
});

describe('openNote', () => {
  const note = signNote(text, log);

  it('returns the text and the verified signer', () => {
    const opened = openNote(note, [log.verifier]);
    expect(opened.text).toBe(text);
    expect(opened.verified).toEqual([{ name: log.name, keyId: log.verifier.keyId, type: 0x01 }]);
  });

  it('accepts the note as UTF-8 bytes', () => {
    expect(openNote(Buffer.from(note), [log.verifier]).text).toBe(text);
  });

  it('rejects a note whose text was tampered with (tamper test)', () => {
    for (const tampered of [note.replace('\n3\n', '\n4\n'), note.replace('custody', 'Custody'), `x${note}`]) {
      expect(verificationError(() => openNote(tampered, [log.verifier])).message).toMatch(/^invalid signature for key custody\.example\/log\+[0-9a-f]{8}$/);
    }
  });

  it('rejects a note whose signature bytes were flipped', () => {
    const [line = ''] = signatureLines(note);
    const blob = Buffer.from(line.split(' ')[2] ?? '', 'base64');
    blob[10] = (blob[10] ?? 0) ^ 0x01;
    const flipped = `${text}\n\u2014 ${log.name} ${blob.toString('base64')}\n`;
    expect(verificationError(() => openNote(flipped, [log.verifier])).message).toMatch(/invalid signature for key/);
  });

  it('rejects a note signed by another key under the same name (wrong-key test)', () => {
    const impostor = newKey(log.name);
    expect(verificationError(() => openNote(signNote(text, impostor), [log.verifier])).message).toMatch(
      /^no signature from a known key \(ignored lines from unknown keys: custody\.example\/log\+[0-9a-f]{8}\)$/,
    );
  });

  it('rejects a signature whose name and key ID collide with a trusted key but whose key differs', () => {
    const impostor = newKey(log.name);
    const colliding: Verifier = { ...log.verifier, publicKey: impostor.verifier.publicKey };
    expect(verificationError(() => openNote(note, [colliding])).message).toMatch(/invalid signature for key/);
  });

  it('rejects a note when no verifier is trusted at all', () => {
    expect(verificationError(() => openNote(note, [])).message).toMatch(/no signature from a known key/);
  });

  it('ignores lines from unknown keys and keeps the known one, wherever it appears', () => {
    const stranger = newKey('stranger.example');
    const withStranger = `${text}\n${signatureLines(signNote(text, stranger))[0] ?? ''}\n${signatureLines(note)[0] ?? ''}\n`;
    expect(openNote(withStranger, [log.verifier]).verified.map((v) => v.name)).toEqual([log.name]);
  });

  it('rejects the whole note when one known key fails even though another verifies', () => {
    const witness = newKey('witness.example');
    const badLine = signatureLines(signNote('other text\n', witness))[0] ?? '';
    const mixed = `${text}\n${signatureLines(note)[0] ?? ''}\n${badLine}\n`;
    expect(verificationError(() => openNote(mixed, [log.verifier, witness.verifier])).message).toMatch(/invalid signature for key witness\.example/);
  });

  it(`accepts 16 signers (C2SP minimum) and ${MAX_NOTE_SIGNATURES} lines, but not one more`, () => {
    const keys = Array.from({ length: 16 }, (_, i) => newKey(`signer-${i}.example`));
    const sixteen = `${text}\n${keys.map((k) => signatureLines(signNote(text, k))[0] ?? '').join('\n')}\n`;
    expect(openNote(sixteen, keys.map((k) => k.verifier)).verified).toHaveLength(16);
    const line = signatureLines(note)[0] ?? '';
    const repeated = (n: number): string => `${text}\n${`${line}\n`.repeat(n)}`;
    expect(openNote(repeated(MAX_NOTE_SIGNATURES), [log.verifier]).verified).toHaveLength(1);
    expect(verificationError(() => openNote(repeated(MAX_NOTE_SIGNATURES + 1), [log.verifier])).message).toMatch(/more than 100 signature lines/);
  });

  it('rejects notes larger than the size bound without parsing them', () => {
    const huge = `${'x'.repeat(MAX_NOTE_BYTES)}\n\n${signatureLines(note)[0] ?? ''}\n`;
    expect(verificationError(() => openNote(huge, [log.verifier])).message).toMatch(/larger than 1048576 bytes/);
    expect(verificationError(() => openNote(Buffer.from(huge), [log.verifier])).message).toMatch(/larger than/);
    // Multi-byte characters count as bytes, not UTF-16 units.
    const wide = `${'é'.repeat(MAX_NOTE_BYTES / 2 + 1)}\n\n${signatureLines(note)[0] ?? ''}\n`;
    expect(verificationError(() => openNote(wide, [log.verifier])).message).toMatch(/larger than/);
  });

  const line = signatureLines(note)[0] ?? '';
  const blob = line.split(' ')[2] ?? '';
  const malformed: readonly (readonly [string, string, RegExp])[] = [
    ['no final newline', note.slice(0, -1), /does not end with a newline/],
    ['no blank line', `${text}${line}\n`, /no blank line before the signature lines/],
    ['no signature lines', `${text}\n`, /no signature lines/],
    ['text only', text, /no blank line/],
    ['an ASCII hyphen instead of an EM DASH', `${text}\n- ${log.name} ${blob}\n`, /does not start with "— "/],
    ['an EM DASH without its space', `${text}\n\u2014${log.name} ${blob}\n`, /does not start with "— "/],
    ['a line after the signatures', `${note}trailing text\n`, /signature line 2 does not start/],
    // The last blank line is the separator, so the first signature becomes part of the text.
    ['a blank line between signatures', `${text}\n${line}\n\n${line}\n`, /invalid signature for key/],
    ['no signature after the name', `${text}\n\u2014 ${log.name}\n`, /no signature after the key name/],
    ['an empty key name', `${text}\n\u2014  ${blob}\n`, /invalid key name/],
    ['a + in the key name', `${text}\n\u2014 a+b ${blob}\n`, /invalid key name/],
    ['a Unicode space in the key name', `${text}\n\u2014 a\u2003b ${blob}\n`, /invalid key name/],
    ['two spaces before the signature', `${text}\n\u2014 ${log.name}  ${blob}\n`, /base64/],
    ['non-canonical base64 (unused bits set)', `${text}\n\u2014 ${log.name} ${withUnusedBitSet(blob)}\n`, /base64/],
    ['unpadded base64', `${text}\n\u2014 ${log.name} ${blob.replace(/=+$/, '')}\n`, /base64/],
    ['base64url', `${text}\n\u2014 ${log.name} ${blob.replaceAll('+', '-').replaceAll('/', '_')}x\n`, /base64/],
    ['a signature of only a key ID', `${text}\n\u2014 ${log.name} AAAAAA==\n`, /base64\(key id ‖ signature\)/],
    ['a carriage return', note.replace('\n\n', '\r\n\n'), /control character/],
    ['a NUL byte', `\u0000${note}`, /control character/],
    ['a tab', note.replace(' ', '\t'), /control character/],
    ['a lone surrogate', `\ud800${note}`, /lone surrogate/],
  ];
  it.each(malformed)('rejects a malformed note: %s', (_label, bad, message) => {
    const error = verificationError(() => openNote(bad, [log.verifier]));
    expect(error.message).toMatch(message);
  });

  it('rejects invalid UTF-8 bytes rather than replacing them', () => {
    const bytes = Buffer.concat([Buffer.of(0xc3, 0x28), Buffer.from(note)]);
    expect(verificationError(() => openNote(bytes, [log.verifier])).message).toMatch(/not valid UTF-8/);
  });

  it('refuses a verifier that is not one (caller error)', () => {
    const broken: Verifier = { ...log.verifier, keyId: Buffer.alloc(3) };
    expect(validationError(() => openNote(note, [broken])).message).toMatch(/not a valid note verifier/);
  });
});

describe('cosignatures (type 0x04, tlog-cosignature/v1)', () => {
  const witnessKey = generateKeyPairSync('ed25519').privateKey;
  const raw = ed25519RawPublicKey(witnessKey);
  const witness: Verifier = { name: 'witness.example/w', keyId: noteKeyId('witness.example/w', 0x04, raw), type: 0x04, publicKey: raw };
  const logNote = signNote(text, log);

  it('verifies a cosignature and returns its timestamp', () => {
    const note = `${logNote}${cosignatureLine(witness.name, witnessKey, text, 1_700_000_000n)}\n`;
    const opened = openNote(note, [log.verifier, witness]);
    expect(opened.verified).toEqual([
      { name: log.name, keyId: log.verifier.keyId, type: 0x01 },
      { name: witness.name, keyId: witness.keyId, type: 0x04, timestamp: 1_700_000_000n },
    ]);
  });

  it('rejects a cosignature whose timestamp was changed (tamper test)', () => {
    const line = cosignatureLine(witness.name, witnessKey, text, 1000n);
    const blob = Buffer.from(line.split(' ')[2] ?? '', 'base64');
    blob.writeBigUInt64BE(1001n, 4);
    const note = `${logNote}\u2014 ${witness.name} ${blob.toString('base64')}\n`;
    expect(verificationError(() => openNote(note, [log.verifier, witness])).message).toMatch(/invalid signature for key witness\.example\/w/);
  });

  it('rejects a cosignature over another checkpoint', () => {
    const note = `${logNote}${cosignatureLine(witness.name, witnessKey, 'other\n', 5n)}\n`;
    expect(verificationError(() => openNote(note, [log.verifier, witness])).message).toMatch(/invalid signature for key witness/);
  });

  it('rejects a timestamp above 2^63-1 and a plain Ed25519 signature under a cosigner key', () => {
    const big = cosignatureLine(witness.name, witnessKey, text, (1n << 63n));
    expect(verificationError(() => openNote(`${logNote}${big}\n`, [witness])).message).toMatch(/invalid signature/);
    const plain = sign(null, Buffer.from(text), witnessKey);
    const line = `\u2014 ${witness.name} ${Buffer.concat([witness.keyId, plain]).toString('base64')}`;
    expect(verificationError(() => openNote(`${logNote}${line}\n`, [witness])).message).toMatch(/invalid signature/);
  });
});

describe('ECDSA signatures (type 0x02)', () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' });
  const verifier = ecdsaNoteVerifier('ecdsa.example', ec.publicKey.export({ format: 'der', type: 'spki' }));
  const line = (body: string): string =>
    `\u2014 ecdsa.example ${Buffer.concat([verifier.keyId, sign('sha384', Buffer.from(body), ec.privateKey)]).toString('base64')}`;

  it('verifies an ECDSA P-384 signature over the text', () => {
    expect(openNote(`${text}\n${line(text)}\n`, [verifier]).verified).toEqual([{ name: 'ecdsa.example', keyId: verifier.keyId, type: 0x02 }]);
  });

  it('rejects it when the text changed or the key is another one', () => {
    expect(verificationError(() => openNote(`${text}\n${line('x\n')}\n`, [verifier])).message).toMatch(/invalid signature/);
    const other = generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'der', type: 'spki' });
    const colliding: Verifier = { ...verifier, publicKey: other };
    expect(verificationError(() => openNote(`${text}\n${line(text)}\n`, [colliding])).message).toMatch(/invalid signature/);
  });
});
