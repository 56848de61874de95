/**
 * The registry's Ed25519 log key: the key every checkpoint is signed with (SPEC §5, issue 3).
 * Created on first start as an unencrypted PKCS#8 PEM file with mode 0600 (its directory, when
 * created here, 0700), and refused on later starts if group or others can read or write it —
 * we never silently chmod: a key that has been exposed should be rotated, not quietly hidden.
 * Clients pin the printed verifier key (https://c2sp.org/signed-note, `<name>+<id>+<key>`).
 *
 * Creation is atomic and never clobbers (the file handling is shared with the VSA key:
 * `crypto/ed25519-key-file.ts`): two processes starting together on one data directory end up
 * with the same key instead of one signing with a key that was overwritten on disk.
 */
import type { KeyObject } from 'node:crypto';
import { loadOrCreateEd25519Key } from '../crypto/ed25519-key-file.js';
import { CustodyError } from '../domain/errors.js';
import { ed25519RawPublicKey, formatVerifierKey, isValidKeyName, noteKeyId, SIGNATURE_TYPE } from './signed-note.js';

/** The loaded log key. The private key stays a KeyObject; nothing here renders it as text. */
export interface LogKey {
  /** Key name, which is also the checkpoint origin. */
  readonly name: string;
  readonly privateKey: KeyObject;
  /** Raw 32-byte Ed25519 public key. */
  readonly publicKeyRaw: Buffer;
  /** The 4-byte C2SP key ID. */
  readonly keyId: Buffer;
  /** `<name>+<hex key id>+<base64(0x01 ‖ key)>`, what `custody log key` prints. */
  readonly verifierKey: string;
}

/**
 * Loads the log key from `file`, creating it first if the file does not exist. Throws
 * CONFIG_INVALID when the name is not a valid key name, the file is not a regular file holding
 * an Ed25519 private key, or (on POSIX systems) group or others have any access to it.
 */
export async function loadOrCreateLogKey(file: string, name: string): Promise<LogKey> {
  if (!isValidKeyName(name)) {
    throw new CustodyError('CONFIG_INVALID', `log key name ${JSON.stringify(name)} must be non-empty without spaces, '+' or control characters`);
  }
  const privateKey = await loadOrCreateEd25519Key(file, 'log key');
  const publicKeyRaw = ed25519RawPublicKey(privateKey);
  return Object.freeze({
    name,
    privateKey,
    publicKeyRaw,
    keyId: noteKeyId(name, SIGNATURE_TYPE.ed25519, publicKeyRaw),
    verifierKey: formatVerifierKey(name, publicKeyRaw),
  });
}
