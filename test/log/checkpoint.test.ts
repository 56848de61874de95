/**
 * C2SP checkpoints (https://c2sp.org/tlog-checkpoint) and the log key that signs them: format and
 * parse rules, `verifyCheckpoint`'s tamper / wrong-key / malformed / origin paths, a verifier
 * written here from the spec text (independent of the signing code path, as issue 3's acceptance
 * asks), and `loadOrCreateLogKey`'s file handling.
 */
import { verifyFromSpec } from '../support/spec-checkpoint-verifier.js';
import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { formatCheckpoint, MAX_TREE_SIZE, parseCheckpoint, verifyCheckpoint } from '../../src/log/checkpoint.js';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { ed25519RawPublicKey, formatVerifierKey, noteKeyId, parseVerifierKey, signNote, type Verifier } from '../../src/log/signed-note.js';

const ORIGIN = 'custody.local/log';
const root = createHash('sha256').update('a root').digest();
const rootB64 = root.toString('base64');

function newLogKey(name = ORIGIN): { name: string; privateKey: KeyObject; verifier: Verifier; vkey: string } {
  const { privateKey } = generateKeyPairSync('ed25519');
  const vkey = formatVerifierKey(name, ed25519RawPublicKey(privateKey));
  return { name, privateKey, verifier: parseVerifierKey(vkey), vkey };
}

function failure(code: string, run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe(code);
    return (error as CustodyError).message;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

async function failureAsync(code: string, run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe(code);
    return (error as CustodyError).message;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

describe('formatCheckpoint', () => {
  it('writes origin, decimal size and base64 root, one per line', () => {
    expect(formatCheckpoint({ origin: ORIGIN, size: 70000, rootHash: root })).toBe(`${ORIGIN}\n70000\n${rootB64}\n`);
    expect(formatCheckpoint({ origin: ORIGIN, size: 0n, rootHash: root })).toBe(`${ORIGIN}\n0\n${rootB64}\n`);
  });

  it('writes sizes up to 2^63-1 exactly and appends extension lines', () => {
    const text = formatCheckpoint({ origin: ORIGIN, size: MAX_TREE_SIZE, rootHash: root, extensions: ['ext one', 'ext two'] });
    expect(text).toBe(`${ORIGIN}\n9223372036854775807\n${rootB64}\next one\next two\n`);
  });

  it('refuses what no parser would accept back', () => {
    const cases: readonly (readonly [Parameters<typeof formatCheckpoint>[0], RegExp])[] = [
      [{ origin: '', size: 1, rootHash: root }, /origin/],
      [{ origin: 'a\nb', size: 1, rootHash: root }, /origin/],
      [{ origin: 'a\rb', size: 1, rootHash: root }, /origin/],
      [{ origin: ORIGIN, size: -1, rootHash: root }, /size/],
      [{ origin: ORIGIN, size: 1.5, rootHash: root }, /size/],
      [{ origin: ORIGIN, size: 2 ** 53, rootHash: root }, /size/],
      [{ origin: ORIGIN, size: MAX_TREE_SIZE + 1n, rootHash: root }, /size/],
      [{ origin: ORIGIN, size: 1, rootHash: root.subarray(0, 31) }, /32 bytes/],
      [{ origin: ORIGIN, size: 1, rootHash: root, extensions: [''] }, /extension/],
      [{ origin: ORIGIN, size: 1, rootHash: root, extensions: ['a\nb'] }, /extension/],
    ];
    for (const [input, message] of cases) expect(failure('VALIDATION_FAILED', () => formatCheckpoint(input))).toMatch(message);
  });
});

describe('parseCheckpoint', () => {
  it('parses what formatCheckpoint writes, size as a bigint', () => {
    const parsed = parseCheckpoint(formatCheckpoint({ origin: ORIGIN, size: MAX_TREE_SIZE, rootHash: root, extensions: ['x'] }));
    expect(parsed).toEqual({ origin: ORIGIN, size: MAX_TREE_SIZE, rootHash: root, extensions: ['x'] });
  });

  it('accepts an origin with spaces (Go sumdb uses one)', () => {
    expect(parseCheckpoint(`go.sum database tree\n1\n${rootB64}\n`).origin).toBe('go.sum database tree');
  });

  const malformed: readonly (readonly [string, string, RegExp])[] = [
    ['no final newline', `${ORIGIN}\n1\n${rootB64}`, /does not end with a newline/],
    ['an empty text', '', /does not end with a newline/],
    ['an empty origin', `\n1\n${rootB64}\n`, /origin line is empty/],
    ['a missing size line', `${ORIGIN}\n`, /size line is missing/],
    ['a missing root line', `${ORIGIN}\n1\n`, /root hash line is missing/],
    ['the origin line removed', `1\n${rootB64}\n`, /size line .* is not a decimal|root hash line is missing/],
    ['the size line removed', `${ORIGIN}\n${rootB64}\n`, /is not a decimal tree size/],
    ['a size with a leading zero', `${ORIGIN}\n01\n${rootB64}\n`, /without leading zeros/],
    ['a size of 00', `${ORIGIN}\n00\n${rootB64}\n`, /without leading zeros/],
    ['a signed size', `${ORIGIN}\n+1\n${rootB64}\n`, /not a decimal/],
    ['a negative size', `${ORIGIN}\n-1\n${rootB64}\n`, /not a decimal/],
    ['a size with a space', `${ORIGIN}\n 1\n${rootB64}\n`, /not a decimal/],
    ['a hex size', `${ORIGIN}\n0x10\n${rootB64}\n`, /not a decimal/],
    ['an empty size', `${ORIGIN}\n\n${rootB64}\n`, /not a decimal/],
    ['a size of 2^63', `${ORIGIN}\n9223372036854775808\n${rootB64}\n`, /larger than 2\^63-1/],
    ['a 20-digit size', `${ORIGIN}\n18446744073709551615\n${rootB64}\n`, /larger than 2\^63-1/],
    ['a megabyte of digits', `${ORIGIN}\n${'9'.repeat(1 << 20)}\n${rootB64}\n`, /larger than 2\^63-1/],
    ['a 31-byte root', `${ORIGIN}\n1\n${root.subarray(0, 31).toString('base64')}\n`, /base64 of 32 bytes/],
    ['a 33-byte root', `${ORIGIN}\n1\n${Buffer.concat([root, Buffer.of(0)]).toString('base64')}\n`, /base64 of 32 bytes/],
    ['a hex root', `${ORIGIN}\n1\n${root.toString('hex')}\n`, /base64 of 32 bytes/],
    ['an unpadded root', `${ORIGIN}\n1\n${rootB64.replace(/=$/, '')}\n`, /base64 of 32 bytes/],
    ['a base64url root', `${ORIGIN}\n1\n${Buffer.alloc(32, 0xfb).toString('base64url')}=\n`, /base64 of 32 bytes/],
    ['an empty extension line', `${ORIGIN}\n1\n${rootB64}\n\n`, /extension lines must not be empty/],
    ['a control character', `${ORIGIN}\u0007\n1\n${rootB64}\n`, /control character/],
  ];
  it.each(malformed)('rejects a checkpoint with %s', (_label, text, message) => {
    expect(failure('VERIFICATION_FAILED', () => parseCheckpoint(text))).toMatch(message);
  });
});

describe('verifyCheckpoint', () => {
  const log = newLogKey();
  const text = formatCheckpoint({ origin: ORIGIN, size: 42, rootHash: root });
  const note = signNote(text, log);

  it('returns the parsed checkpoint of a note signed by the log key', () => {
    const verified = verifyCheckpoint(note, log.verifier);
    expect(verified).toMatchObject({ origin: ORIGIN, size: 42n, rootHash: root, extensions: [], text });
    expect(verified.signatures.map((s) => s.name)).toEqual([ORIGIN]);
  });

  it('ignores witness lines from keys it does not know', () => {
    const witness = newLogKey('witness.example');
    const cosigned = `${note}${signNote(text, witness).split('\n\n')[1] ?? ''}`;
    expect(verifyCheckpoint(cosigned, log.verifier).size).toBe(42n);
  });

  it('rejects a checkpoint whose size or root was changed (tamper test)', () => {
    const bigger = note.replace('\n42\n', '\n43\n');
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(bigger, log.verifier))).toMatch(/^checkpoint signature: invalid signature for key custody\.local\/log\+/);
    const otherRoot = note.replace(rootB64, Buffer.alloc(32).toString('base64'));
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(otherRoot, log.verifier))).toMatch(/checkpoint signature: invalid signature/);
  });

  it('rejects a checkpoint signed by another key with the same name (wrong-key test)', () => {
    const forged = signNote(text, newLogKey());
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(forged, log.verifier))).toMatch(/^checkpoint signature: no signature from a known key/);
  });

  it('rejects a validly signed checkpoint for another origin', () => {
    const elsewhere = newLogKey('other.example/log');
    const signed = signNote(formatCheckpoint({ origin: 'other.example/log', size: 1, rootHash: root }), elsewhere);
    expect(verifyCheckpoint(signed, elsewhere.verifier).origin).toBe('other.example/log');
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(signed, elsewhere.verifier, ORIGIN))).toBe(
      'checkpoint origin mismatch: expected "custody.local/log", got "other.example/log"',
    );
  });

  it('requires the origin to equal the key name unless told otherwise', () => {
    const signed = signNote(formatCheckpoint({ origin: 'go.sum database tree', size: 1, rootHash: root }), log);
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(signed, log.verifier))).toMatch(/origin mismatch: expected "custody\.local\/log"/);
    expect(verifyCheckpoint(signed, log.verifier, 'go.sum database tree').size).toBe(1n);
  });

  it('rejects a validly signed note that is not a well-formed checkpoint', () => {
    const signed = signNote(`${ORIGIN}\n042\n${rootB64}\n`, log);
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(signed, log.verifier))).toMatch(/^malformed checkpoint: size line "042"/);
  });

  it('rejects malformed notes with the signature as the reason', () => {
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(text, log.verifier))).toMatch(/^checkpoint signature: malformed note/);
    expect(failure('VERIFICATION_FAILED', () => verifyCheckpoint(`${text}\n`, log.verifier))).toMatch(/malformed note: no signature lines/);
  });

  it('refuses to treat a witness cosigner key as the log key', () => {
    const cosigner: Verifier = { ...log.verifier, type: 0x04, keyId: noteKeyId(ORIGIN, 0x04, log.verifier.publicKey) };
    expect(failure('VALIDATION_FAILED', () => verifyCheckpoint(note, cosigner))).toMatch(/cosigner key/);
  });
});

describe('interoperability with an independent verifier', () => {
  it('a checkpoint signed by signNote verifies with a verifier written from the spec text', () => {
    const log = newLogKey();
    const note = signNote(formatCheckpoint({ origin: ORIGIN, size: 1_462_192_450n, rootHash: root }), log);
    expect(verifyFromSpec(note, log.vkey)).toEqual({ origin: ORIGIN, size: 1_462_192_450n, root });
  });

  it('the independent verifier rejects a tampered checkpoint and another key, so it can fail', () => {
    const log = newLogKey();
    const note = signNote(formatCheckpoint({ origin: ORIGIN, size: 7, rootHash: root }), log);
    expect(() => verifyFromSpec(note.replace('\n7\n', '\n8\n'), log.vkey)).toThrow(/no valid signature/);
    expect(() => verifyFromSpec(note, newLogKey().vkey)).toThrow(/no valid signature/);
  });
});

describe('loadOrCreateLogKey', () => {
  const dirs: string[] = [];
  async function tempDir(): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), 'custody-log-key-'));
    dirs.push(dir);
    return dir;
  }
  afterAll(async () => {
    await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
  });

  it('creates a PKCS#8 Ed25519 key with mode 0600 in a new 0700 directory, and leaves no temp file', async () => {
    const base = await tempDir();
    const file = path.join(base, 'keys', 'log-key.pem');
    const key = await loadOrCreateLogKey(file, ORIGIN);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await readdir(path.dirname(file))).toEqual(['log-key.pem']);
    expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.privateKey.asymmetricKeyType).toBe('ed25519');
    expect(key.publicKeyRaw).toHaveLength(32);
    expect(key.verifierKey).toBe(formatVerifierKey(ORIGIN, key.publicKeyRaw));
    expect(key.keyId).toEqual(parseVerifierKey(key.verifierKey).keyId);
  });

  it('loads the same key on the next start', async () => {
    const file = path.join(await tempDir(), 'log-key.pem');
    const first = await loadOrCreateLogKey(file, ORIGIN);
    const second = await loadOrCreateLogKey(file, ORIGIN);
    expect(second.verifierKey).toBe(first.verifierKey);
  });

  it('gives every concurrent first start the same key', async () => {
    const file = path.join(await tempDir(), 'log-key.pem');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateLogKey(file, ORIGIN)));
    expect(new Set(keys.map((k) => k.verifierKey)).size).toBe(1);
    expect(await readdir(path.dirname(file))).toEqual(['log-key.pem']);
  });

  it('signs checkpoints that verify with its printed verifier key', async () => {
    const key = await loadOrCreateLogKey(path.join(await tempDir(), 'k.pem'), ORIGIN);
    const note = signNote(formatCheckpoint({ origin: ORIGIN, size: 3, rootHash: root }), key);
    expect(verifyCheckpoint(note, parseVerifierKey(key.verifierKey)).size).toBe(3n);
    expect(verifyFromSpec(note, key.verifierKey).size).toBe(3n);
  });

  it('never renders the private key as text', async () => {
    const file = path.join(await tempDir(), 'k.pem');
    const key = await loadOrCreateLogKey(file, ORIGIN);
    const pemBody = (await readFile(file, 'utf8')).split('\n')[1] ?? '';
    expect(pemBody.length).toBeGreaterThan(20);
    for (const rendered of [JSON.stringify(key), inspect(key, { depth: 5 }), inspect(key.privateKey, { showHidden: true })]) {
      expect(rendered).not.toContain(pemBody);
    }
  });

  it('refuses a key file that group or others can access, saying how to fix it', async () => {
    const file = path.join(await tempDir(), 'k.pem');
    await loadOrCreateLogKey(file, ORIGIN);
    await chmod(file, 0o644);
    expect(await failureAsync('CONFIG_INVALID', () => loadOrCreateLogKey(file, ORIGIN))).toBe(
      `log key file ${file} is accessible by group or others (mode 0644); restrict it with: chmod 600 ${file}`,
    );
    await chmod(file, 0o620);
    expect(await failureAsync('CONFIG_INVALID', () => loadOrCreateLogKey(file, ORIGIN))).toMatch(/mode 0620/);
  });

  it('refuses a file that is not an Ed25519 private key, without echoing its content', async () => {
    const dir = await tempDir();
    const garbage = path.join(dir, 'garbage.pem');
    await writeFile(garbage, 'not a key: SECRET-LOOKING-TEXT', { mode: 0o600 });
    const message = await failureAsync('CONFIG_INVALID', () => loadOrCreateLogKey(garbage, ORIGIN));
    expect(message).toMatch(/does not hold an unencrypted PEM private key/);
    expect(message).not.toContain('SECRET');
    const ec = path.join(dir, 'ec.pem');
    await writeFile(ec, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    expect(await failureAsync('CONFIG_INVALID', () => loadOrCreateLogKey(ec, ORIGIN))).toMatch(/holds a ec key; the log key must be Ed25519/);
  });

  it('refuses a directory in place of the key file and an invalid key name', async () => {
    const dir = await tempDir();
    expect(await failureAsync('CONFIG_INVALID', () => loadOrCreateLogKey(dir, ORIGIN))).toMatch(/is not a regular file/);
    expect(await failureAsync('CONFIG_INVALID', () => loadOrCreateLogKey(path.join(dir, 'k.pem'), 'has space'))).toMatch(/log key name/);
  });
});
