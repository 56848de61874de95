/**
 * `log verify --full`: fetch every entry through the C2SP entry bundles, check that each leaf is
 * canonical JSON, recompute the tree root and compare it with the verified checkpoint's; then
 * check the registry's state against the log — every `version.registered` event's version must
 * be served with exactly the digest the event records (an edited version row shows here).
 */
import { canonicalJson } from '../crypto/canonical-json.js';
import { CustodyError } from '../domain/errors.js';
import { hashLeaf, rootOf } from '../log/merkle.js';
import { entriesPath } from '../log/tile-path.js';
import { decodeEntryBundle, TILE_WIDTH } from '../log/tiles.js';
import type { CustodyClient } from './custody-client.js';

const fail = (message: string): never => {
  throw new CustodyError('VERIFICATION_FAILED', message);
};

interface Registration {
  readonly index: number;
  readonly model: string;
  readonly number: number;
  readonly digest: string;
}

export interface FullLogReport {
  readonly entries: number;
  /** Versions compared with their events, or `no-permission` when the token may not read models. */
  readonly versions: number | 'no-permission';
}

export async function verifyFullLog(client: CustodyClient, size: number, root: Buffer): Promise<FullLogReport> {
  const leafHashes: Buffer[] = [];
  const registrations: Registration[] = [];
  for (let bundle = 0; bundle * TILE_WIDTH < size; bundle++) {
    const width = Math.min(TILE_WIDTH, size - bundle * TILE_WIDTH);
    const leaves = decodeEntryBundle(await client.logTile(entriesPath(bundle, width === TILE_WIDTH ? undefined : width)));
    if (leaves.length !== width) fail(`entry bundle ${bundle} holds ${leaves.length} entries, not ${width}`);
    leaves.forEach((leaf, i) => {
      const index = bundle * TILE_WIDTH + i;
      const text = leaf.toString('utf8');
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        fail(`log entry ${index} is not JSON`);
      }
      if (canonicalJson(parsed) !== text) fail(`log entry ${index} is not canonical JSON`);
      const event = parsed as { type?: unknown; model?: unknown; number?: unknown; digest?: unknown };
      if (event.type === 'version.registered' && typeof event.model === 'string' && typeof event.number === 'number' && typeof event.digest === 'string') {
        registrations.push({ index, model: event.model, number: event.number, digest: event.digest });
      }
      leafHashes.push(hashLeaf(leaf));
    });
  }
  const computed = rootOf(leafHashes);
  if (!computed.equals(root)) fail(`the entries recompute to root ${computed.toString('hex')}, not the signed root ${root.toString('hex')}`);
  return { entries: leafHashes.length, versions: await compareVersions(client, registrations) };
}

async function compareVersions(client: CustodyClient, registrations: readonly Registration[]): Promise<number | 'no-permission'> {
  for (const r of registrations) {
    let digest: string;
    try {
      digest = (await client.getVersion(`${r.model}@v${r.number}`)).digest;
    } catch (error) {
      if (error instanceof CustodyError && (error.code === 'UNAUTHENTICATED' || error.code === 'FORBIDDEN')) return 'no-permission';
      if (error instanceof CustodyError && (error.code === 'VERSION_NOT_FOUND' || error.code === 'MODEL_NOT_FOUND')) {
        return fail(`${r.model}@v${r.number}, registered in log entry ${r.index}, is not served by the registry`);
      }
      throw error;
    }
    if (digest !== r.digest) fail(`${r.model}@v${r.number} is served with digest ${digest}, but log entry ${r.index} registered ${r.digest}`);
  }
  return registrations.length;
}
