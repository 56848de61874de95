/**
 * The registry's VSA key file (SPEC §3: Ed25519, created on first start with mode 0600, never
 * served or logged): the same file rules as the log key, through the shared key-file code.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { parsePublicKey, signData, verifyData } from '../../src/crypto/signing-keys.js';
import { CustodyError } from '../../src/domain/errors.js';
import { loadOrCreateVsaKey } from '../../src/promotion/vsa-key.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'custody-vsa-key-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

/** The CONFIG_INVALID message of a failing call (fails the test on success or another error). */
async function configFailure(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'CONFIG_INVALID') return error.message;
    throw error;
  }
  throw new Error('expected CONFIG_INVALID, the call succeeded');
}

describe('loadOrCreateVsaKey', () => {
  it('creates a PKCS#8 Ed25519 key with mode 0600 in a new 0700 directory on the first call, and leaves no temp file', async () => {
    const file = path.join(await tempDir(), 'keys', 'vsa.key');
    const key = await loadOrCreateVsaKey(file);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(path.dirname(file))).mode & 0o777).toBe(0o700);
    expect(await readdir(path.dirname(file))).toEqual(['vsa.key']);
    expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.privateKey.algorithm).toBe('ed25519');
    expect(key.privateKey.key.asymmetricKeyType).toBe('ed25519');
  });

  it('names the key by the hex SHA-256 of its DER SPKI and gives the PEM to pin', async () => {
    const key = await loadOrCreateVsaKey(path.join(await tempDir(), 'vsa.key'));
    const der = key.publicKey.key.export({ type: 'spki', format: 'der' });
    expect(key.keyId).toBe(createHash('sha256').update(der).digest('hex'));
    expect(key.publicKey.keyId).toBe(key.keyId);
    expect(key.privateKey.publicKey.keyId).toBe(key.keyId);
    expect(parsePublicKey(key.publicKeyPem).keyId).toBe(key.keyId);
    const signature = signData(key.privateKey, Buffer.from('summary'));
    expect(verifyData(parsePublicKey(key.publicKeyPem), Buffer.from('summary'), signature)).toBe(true);
  });

  it('loads the same key on the second call', async () => {
    const file = path.join(await tempDir(), 'vsa.key');
    const first = await loadOrCreateVsaKey(file);
    const second = await loadOrCreateVsaKey(file);
    expect(second.keyId).toBe(first.keyId);
    expect(second.publicKeyPem).toBe(first.publicKeyPem);
  });

  it('gives concurrent first calls one and the same key', async () => {
    const file = path.join(await tempDir(), 'vsa.key');
    const keys = await Promise.all(Array.from({ length: 8 }, () => loadOrCreateVsaKey(file)));
    expect(new Set(keys.map((k) => k.keyId)).size).toBe(1);
    expect(await readdir(path.dirname(file))).toEqual(['vsa.key']);
    expect((await loadOrCreateVsaKey(file)).keyId).toBe(keys[0]?.keyId);
  });

  it('refuses a key file that group or others can access, saying how to fix it', async () => {
    const file = path.join(await tempDir(), 'vsa.key');
    await loadOrCreateVsaKey(file);
    await chmod(file, 0o640);
    expect(await configFailure(() => loadOrCreateVsaKey(file))).toBe(
      `VSA key file ${file} is accessible by group or others (mode 0640); restrict it with: chmod 600 ${file}`,
    );
    await chmod(file, 0o602);
    expect(await configFailure(() => loadOrCreateVsaKey(file))).toMatch(/mode 0602/);
  });

  it('refuses a file that is not an Ed25519 private key, without echoing its content', async () => {
    const dir = await tempDir();
    const garbage = path.join(dir, 'garbage.key');
    await writeFile(garbage, 'not a key: SECRET-LOOKING-TEXT', { mode: 0o600 });
    const message = await configFailure(() => loadOrCreateVsaKey(garbage));
    expect(message).toBe(`VSA key file ${garbage} does not hold an unencrypted PEM private key`);
    expect(message).not.toContain('SECRET');
    const ec = path.join(dir, 'ec.key');
    await writeFile(ec, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
    expect(await configFailure(() => loadOrCreateVsaKey(ec))).toMatch(/holds a ec key; the VSA key must be Ed25519/);
    expect(await configFailure(() => loadOrCreateVsaKey(dir))).toMatch(/is not a regular file/);
  });

  it('never renders the private key as text', async () => {
    const file = path.join(await tempDir(), 'vsa.key');
    const key = await loadOrCreateVsaKey(file);
    const pemBody = (await readFile(file, 'utf8')).split('\n')[1] ?? '';
    expect(pemBody.length).toBeGreaterThan(20);
    for (const rendered of [JSON.stringify(key), inspect(key, { depth: 6 }), inspect(key.privateKey.key, { showHidden: true })]) {
      expect(rendered).not.toContain(pemBody);
    }
  });
});
