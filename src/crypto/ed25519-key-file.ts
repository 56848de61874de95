/**
 * The file handling shared by the registry's own Ed25519 keys — the log key (SPEC §5) and the VSA
 * key (SPEC §2, §3): created on first start as an unencrypted PKCS#8 PEM file with mode 0600 (its
 * directory, when created here, 0700), and refused on later starts if group or others can read
 * or write it — we never silently chmod: a key that has been exposed should be rotated, not
 * quietly hidden. Never served, never logged: the key stays a KeyObject and no message here
 * echoes file content.
 *
 * Creation is atomic and never clobbers: the PEM is written and fsynced under a temporary name,
 * then hard-linked into place. link(2) fails if the file already exists, so two processes
 * starting together on one data directory end up with the same key (the loser loads the
 * winner's) instead of one signing with a key that was overwritten on disk.
 */
import { generateKeyPairSync, createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { link, mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { CustodyError } from '../domain/errors.js';

const MAX_KEY_FILE_BYTES = 16 * 1024;

/**
 * Loads the Ed25519 private key in `file`, creating it first if the file does not exist.
 * `label` names the key in messages (`log key`, `VSA key`). Throws CONFIG_INVALID when the file
 * is not a regular file holding an unencrypted Ed25519 PEM private key, is too large to be one,
 * or (on POSIX systems) group or others have any access to it.
 */
export async function loadOrCreateEd25519Key(file: string, label: string): Promise<KeyObject> {
  return (await readKeyFile(file, label)) ?? (await createKeyFile(file, label));
}

/** The private key in `file`, or undefined when there is no such file. */
async function readKeyFile(file: string, label: string): Promise<KeyObject | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw configError(`cannot read ${label} file ${file}: ${errorCode(error) ?? 'error'}`);
  }
  let pem: string;
  try {
    // Checked on the open handle, so the file cannot be swapped between check and read.
    const info = await handle.stat();
    if (!info.isFile()) throw configError(`${label} file ${file} is not a regular file`);
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      const mode = (info.mode & 0o777).toString(8).padStart(4, '0');
      throw configError(`${label} file ${file} is accessible by group or others (mode ${mode}); restrict it with: chmod 600 ${file}`);
    }
    if (info.size > MAX_KEY_FILE_BYTES) throw configError(`${label} file ${file} is too large to be a key`);
    pem = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  return parsePrivateKey(pem, file, label);
}

function parsePrivateKey(pem: string, file: string, label: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem' });
  } catch {
    // The parser's own message is dropped on purpose: it must never echo key material.
    throw configError(`${label} file ${file} does not hold an unencrypted PEM private key`);
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw configError(`${label} file ${file} holds a ${key.asymmetricKeyType ?? 'unknown'} key; the ${label} must be Ed25519`);
  }
  return key;
}

async function createKeyFile(file: string, label: string): Promise<KeyObject> {
  const dir = path.dirname(file);
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    const handle = await open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(privateKey.export({ format: 'pem', type: 'pkcs8' }));
      await handle.sync();
    } finally {
      await handle.close();
    }
    try {
      await link(temp, file);
    } catch (error) {
      // Another process created the key first: use that one.
      if (errorCode(error) === 'EEXIST') return await loadExisting(file, label);
      throw error;
    }
    await syncDirectory(dir);
    return privateKey;
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    throw configError(`cannot create ${label} file ${file}: ${errorCode(error) ?? 'error'}`);
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function loadExisting(file: string, label: string): Promise<KeyObject> {
  const key = await readKeyFile(file, label);
  if (key === undefined) throw configError(`${label} file ${file} disappeared while being created`);
  return key;
}

/** Makes the new directory entry durable (best effort: not every platform can fsync a directory). */
async function syncDirectory(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // Windows cannot open directories; the link itself has succeeded.
  }
}

function errorCode(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function configError(message: string): CustodyError {
  return new CustodyError('CONFIG_INVALID', message);
}
