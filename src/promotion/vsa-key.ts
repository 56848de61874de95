/**
 * The registry's VSA key (SPEC §2, §3): the Ed25519 key every Verification Summary Attestation
 * of an allowed promotion is signed with. Deployers pin its public key and verify the VSA served
 * with `pull NS/NAME@ENV` against it. Same file rules as the log key (created 0600 on first start,
 * refused when group or others can access it, atomic creation): `crypto/ed25519-key-file.ts`.
 */
import { createPublicKey } from 'node:crypto';
import { loadOrCreateEd25519Key } from '../crypto/ed25519-key-file.js';
import { publicKeyInfoFromKeyObject, type PrivateKeyInfo, type PublicKeyInfo } from '../crypto/signing-keys.js';

/** The loaded VSA key. The private key stays a KeyObject; nothing here renders it as text. */
export interface VsaKey {
  readonly privateKey: PrivateKeyInfo;
  readonly publicKey: PublicKeyInfo;
  /** Lowercase hex SHA-256 of the DER SPKI (SPEC §4.2): the bundles' `publicKey.hint`. */
  readonly keyId: string;
  /** SPKI PEM of the public key: what deployers pin. */
  readonly publicKeyPem: string;
}

/**
 * Loads the VSA key from `file` (config `keys.vsa`, resolved against the data directory),
 * creating it first if the file does not exist.
 * @throws CustodyError CONFIG_INVALID when the file is not a regular file holding an unencrypted
 * Ed25519 PEM private key, or (on POSIX systems) group or others have any access to it.
 */
export async function loadOrCreateVsaKey(file: string): Promise<VsaKey> {
  const key = await loadOrCreateEd25519Key(file, 'VSA key');
  const publicKey = publicKeyInfoFromKeyObject(createPublicKey(key));
  const privateKey: PrivateKeyInfo = Object.freeze({ algorithm: 'ed25519', key, publicKey });
  return Object.freeze({ privateKey, publicKey, keyId: publicKey.keyId, publicKeyPem: publicKey.pem });
}
