/**
 * How the CLI decides which log key to trust for a registry (SPEC §5): a key given with
 * `--log-key`, else the key pinned earlier for that server, else — trust on first use — the key
 * the server states, pinned with a warning. A given key that differs from the pinned one is a
 * verification failure, never a silent re-pin.
 */
import { CustodyError } from '../domain/errors.js';
import type { CustodyClient } from '../sdk/custody-client.js';
import { LogWitness } from '../sdk/log-witness.js';
import { readLogTrust, saveLogTrust } from './client-config.js';

export async function openWitness(client: CustodyClient, givenKey: string | undefined): Promise<LogWitness> {
  const server = client.transport.serverUrl;
  const saved = await readLogTrust(server);
  if (saved !== undefined) {
    if (givenKey !== undefined && givenKey !== saved.logKey) {
      throw new CustodyError('VERIFICATION_FAILED', `the given log key differs from the key pinned for ${server} (${saved.logKey})`);
    }
    return new LogWitness(saved.logKey, saved.checkpoint);
  }
  if (givenKey !== undefined) return new LogWitness(givenKey);
  const { verifierKey } = await client.logKey();
  process.stderr.write(
    `custody: warning: trusting the log key of ${server} on first use:\n  ${verifierKey}\n` +
      `  compare it with the key your registry's operators publish; it is pinned from now on.\n`,
  );
  return new LogWitness(verifierKey);
}

export async function saveWitness(client: CustodyClient, witness: LogWitness): Promise<void> {
  const checkpoint = witness.checkpoint;
  await saveLogTrust(client.transport.serverUrl, { logKey: witness.logKey, ...(checkpoint === undefined ? {} : { checkpoint }) });
}
