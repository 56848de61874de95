/**
 * How the CLI decides which VSA key to trust for a registry (SPEC §2, §8), the way it decides
 * the log key (`log-trust.ts`): a key given out of band with `--vsa-key FILE`, else the key
 * pinned earlier for that server, else — trust on first use — the key the server states, pinned
 * with a warning on stderr. `custody login` pins it; the first `pull NS/NAME@ENV` pins it when
 * nothing is pinned yet. A given or served key that differs from the pinned one is a
 * verification failure, never a silent re-pin.
 */
import { CustodyError } from '../domain/errors.js';
import { parsePublicKey, type PublicKeyInfo } from '../crypto/signing-keys.js';
import type { CustodyClient } from '../sdk/custody-client.js';
import type { VsaKeySource } from '../sdk/environment-check.js';
import { readVsaTrust, saveVsaTrust, type VsaTrust } from './client-config.js';
import { readLimitedText } from './commands/signing-files.js';

const MAX_KEY_FILE_BYTES = 64 * 1024;

/** Reads and parses a VSA public key file (SPKI PEM) given out of band. */
export async function readVsaKeyFile(file: string): Promise<PublicKeyInfo> {
  return parsePublicKey(await readLimitedText(file, MAX_KEY_FILE_BYTES, 'the VSA key file'));
}

/** The key the server states, checked to be a public key whose id is the one the server names. */
async function servedKey(client: CustodyClient): Promise<PublicKeyInfo> {
  const served = await client.promotion.vsaKey();
  let key: PublicKeyInfo;
  try {
    key = parsePublicKey(served.publicKey);
  } catch (error) {
    throw new CustodyError('VERIFICATION_FAILED', `the VSA key ${client.transport.serverUrl} serves is not a usable public key`, { cause: error });
  }
  if (key.keyId !== served.keyId) throw new CustodyError('VERIFICATION_FAILED', `the VSA key ${client.transport.serverUrl} serves does not have the key id it names`);
  return key;
}

function warnFirstUse(server: string, key: PublicKeyInfo): void {
  process.stderr.write(
    `custody: warning: trusting the VSA key of ${server} on first use:\n  ${key.keyId}\n` +
      `  compare it with the key your registry's operators publish; it is pinned from now on.\n`,
  );
}

function differs(server: string, pinned: VsaTrust, other: PublicKeyInfo, whose: string): CustodyError {
  return new CustodyError(
    'VERIFICATION_FAILED',
    `${whose} VSA key ${other.keyId} differs from the VSA key pinned for ${server} (${pinned.keyId}); it is never re-pinned silently — if the registry's operators rotated it, check the new key out of band and remove the old pin from the client configuration`,
    { details: { pinned: pinned.keyId, other: other.keyId } },
  );
}

/**
 * `custody login`: pins the given key (out of band), or else the key the server serves. Either
 * must equal a key pinned before. Returns the pin and where it came from.
 */
export async function pinVsaKey(client: CustodyClient, given: PublicKeyInfo | undefined): Promise<{ trust: VsaTrust; source: 'given' | 'registry'; new: boolean }> {
  const server = client.transport.serverUrl;
  const saved = await readVsaTrust(server);
  const key = given ?? (await servedKey(client));
  if (saved !== undefined && saved.keyId !== key.keyId) throw differs(server, saved, key, given === undefined ? `${server} now serves the` : 'the given');
  const trust = { publicKey: key.pem, keyId: key.keyId };
  if (saved === undefined) {
    if (given === undefined) warnFirstUse(server, key);
    await saveVsaTrust(server, trust);
  }
  return { trust, source: given === undefined ? 'registry' : 'given', new: saved === undefined };
}

/**
 * `pull NS/NAME@ENV`: the VSA key to verify with, asked for only when a VSA has to be verified:
 * the pinned one (a given key must equal it), else the given one (pinned), else the server's,
 * pinned on first use with a warning on stderr.
 */
export function vsaKeyForPull(client: CustodyClient, givenFile: string | undefined): VsaKeySource {
  return async () => {
    const server = client.transport.serverUrl;
    const saved = await readVsaTrust(server);
    const given = givenFile === undefined ? undefined : await readVsaKeyFile(givenFile);
    if (saved !== undefined) {
      if (given !== undefined && given.keyId !== saved.keyId) throw differs(server, saved, given, 'the given');
      return saved.publicKey;
    }
    const key = given ?? (await servedKey(client));
    if (given === undefined) warnFirstUse(server, key);
    await saveVsaTrust(server, { publicKey: key.pem, keyId: key.keyId });
    return key.pem;
  };
}
