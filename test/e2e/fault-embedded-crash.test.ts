/**
 * Fault: the embedded default (SQLite + blob directory) killed during writes restarts consistent
 * (issue 7 §4, SPEC §10 "crash mid-write"). `crash-resume.test.ts` kills the server during one
 * upload; here, in several rounds, a burst of writes of several kinds is in flight — pushes of
 * small models, a push of a large one through an upload session, attestations on acknowledged
 * versions, signer keys — when `custody serve` is killed with kill -9 at a random-ish moment.
 * After each kill: `custody admin verify-store` finds no problem, the restarted server's log
 * passes `log verify --full`, everything acknowledged before the kill is there (versions pull
 * back verified, attestations and keys are listed), and the interrupted pushes succeed when
 * re-run.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { CustodyError } from '../../src/domain/errors.js';
import { CustodyClient } from '../../src/sdk/custody-client.js';
import { scanPredicate } from '../support/promotion-fixtures.js';
import { createTestStorage, expectCliOk, runCli, spawnServer, type SpawnedServer, type TestStorage } from '../support/registry.js';
import { writeBigFile } from '../support/test-files.js';
import { makeKey, signBundle, VULNS, type TestKey } from '../support/trust-fixtures.js';
import { sleep } from '../support/wait-for.js';

const ROUNDS = 3;
const SMALL_PUSHES = 10;
const ATTESTATIONS = 6;
const KEYS = 3;
/** Above the SDK's 8 MiB session threshold: this push goes through a resumable upload session. */
const LARGE_MIB = 24;
const TEST_TIMEOUT = 90_000;

interface Acked {
  readonly versions: { model: string; number: number; digest: string; dir: string }[];
  readonly attestations: { model: string; digest: string; id: string }[];
  readonly keys: string[];
}

/** One authenticated JSON POST; throws unless it answers `expected`. */
async function post(server: SpawnedServer, token: string, route: string, body: unknown, expected = 201): Promise<Record<string, unknown>> {
  const response = await fetch(`${server.url}${route}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status !== expected) throw new Error(`POST ${route}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

describe('the embedded default killed during writes', () => {
  const token = generateApiToken();
  const scanner: TestKey = makeKey('scanner');
  let storage: TestStorage;
  let work: string;
  let server: SpawnedServer | undefined;

  beforeAll(async () => {
    storage = await createTestStorage('sqlite');
    work = await mkdtemp(path.join(tmpdir(), 'custody-fault-embedded-'));
    await mkdir(path.join(work, 'pulled'));
  });

  afterAll(async () => {
    await server?.kill9();
    await storage.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  const start = async (): Promise<SpawnedServer> => (server = await spawnServer({ dataDir: storage.dataDir, metadataSpec: storage.metadataSpec, token }));
  const cliEnv = (s: SpawnedServer): Record<string, string> => ({ CUSTODY_SERVER: s.url, CUSTODY_TOKEN: token, XDG_CONFIG_HOME: path.join(work, 'xdg') });

  /** A model directory of its own (a small random file, or the large one). */
  async function modelDir(name: string, large = false): Promise<string> {
    const dir = path.join(work, 'models', name);
    await mkdir(dir, { recursive: true });
    if (large) await writeBigFile(path.join(dir, 'weights.bin'), LARGE_MIB);
    else await writeFile(path.join(dir, 'weights.bin'), randomBytes(1024 + Math.floor(Math.random() * 4096)));
    await writeFile(path.join(dir, 'config.json'), JSON.stringify({ name }));
    return dir;
  }

  it(
    'restarts consistent after kill -9 in the middle of pushes, uploads, attestations and key additions, round after round',
    async () => {
      const acked: Acked = { versions: [], attestations: [], keys: [] };
      let first = await start();
      await post(first, token, '/api/v1/keys', { name: scanner.name, publicKey: scanner.publicKeyPem, predicateTypes: [VULNS] });
      const base = new CustodyClient({ server: first.url, token });
      try {
        for (let i = 0; i < 3; i += 1) {
          const dir = await modelDir(`base-${String(i)}`);
          const pushed = await base.push(dir, { model: `crash/base-${String(i)}` });
          acked.versions.push({ model: `crash/base-${String(i)}`, number: pushed.version.number, digest: pushed.version.digest, dir });
        }
      } finally {
        base.close();
      }

      for (let round = 1; round <= ROUNDS; round += 1) {
        const s = first;
        const client = new CustodyClient({ server: s.url, token });
        const interrupted: { model: string; dir: string }[] = [];
        /** Why writes of this round failed: only the kill may be the reason. */
        const failures: string[] = [];
        const cut = (error: unknown): undefined => {
          failures.push(error instanceof Error && error.message === 'fetch failed' ? 'CONNECTION_FAILED' : String(error));
          return undefined;
        };
        const attestable = [...acked.versions];
        const ops: Promise<void>[] = [];
        const pushOp = async (model: string, dir: string): Promise<void> => {
          try {
            const pushed = await client.push(dir, { model });
            acked.versions.push({ model, number: pushed.version.number, digest: pushed.version.digest, dir });
          } catch (error) {
            interrupted.push({ model, dir });
            failures.push(error instanceof CustodyError ? error.code : String(error));
          }
        };
        const dirs = await Promise.all(Array.from({ length: SMALL_PUSHES }, (_, i) => modelDir(`r${String(round)}-m${String(i)}`)));
        const largeDir = await modelDir(`r${String(round)}-large`, true);

        // The burst: every kind of write at once, in no particular order.
        ops.push(pushOp(`crash/r${String(round)}-large`, largeDir));
        dirs.forEach((dir, i) => ops.push(pushOp(`crash/r${String(round)}-m${String(i)}`, dir)));
        for (let i = 0; i < ATTESTATIONS; i += 1) {
          const target = attestable[(round * 7 + i) % attestable.length];
          if (target === undefined) continue;
          ops.push(
            (async () => {
              await sleep(i * 25);
              // A scan of its own (the same statement twice would be an idempotent replay).
              const predicate = { ...scanPredicate('clean'), invocation: { uri: `https://ci.example.com/scans/r${String(round)}-${String(i)}`, producerId: 'https://ci.example.com/security-scanner' } };
              const bundle = signBundle(scanner, target.digest, VULNS, predicate);
              const json = await post(s, token, `/api/v1/models/${target.model}/versions/${target.digest}/attestations`, { bundle }).catch(cut);
              if (json !== undefined) acked.attestations.push({ model: target.model, digest: target.digest, id: String(json['id']) });
            })(),
          );
        }
        for (let i = 0; i < KEYS; i += 1) {
          const key = makeKey(`k-r${String(round)}-${String(i)}`);
          ops.push(
            sleep(i * 40)
              .then(() => post(s, token, '/api/v1/keys', { name: key.name, publicKey: key.publicKeyPem, predicateTypes: [VULNS] }))
              .then(
                () => void acked.keys.push(key.name),
                cut,
              ),
          );
        }
        // Random-ish: a few pushes of this round have been acknowledged, other writes are in flight.
        const ackedBefore = acked.versions.length + acked.attestations.length + acked.keys.length;
        const versionsBefore = acked.versions.length;
        while (acked.versions.length < versionsBefore + 2) await sleep(2);
        await sleep(Math.floor(Math.random() * 40));
        await s.kill9();
        await Promise.all(ops);
        client.close();
        // The kill did land in the middle of the burst: some writes were acknowledged, others cut.
        const settledAcks = acked.versions.length + acked.attestations.length + acked.keys.length;
        expect(acked.versions.length, `round ${String(round)}`).toBeGreaterThanOrEqual(versionsBefore + 2);
        expect(interrupted.length, `round ${String(round)}`).toBeGreaterThan(0);
        expect(new Set(failures), `round ${String(round)}: ${failures.join('; ')}`).toEqual(new Set(['CONNECTION_FAILED']));
        expect(settledAcks - ackedBefore, `round ${String(round)}`).toBeLessThan(ops.length);

        // Offline audit of what the dead server left.
        const report = await runCli(['admin', 'verify-store', '--data', storage.dataDir, '--json'], { CUSTODY_STORAGE_METADATA: storage.metadataSpec });
        expect(expectCliOk(report), `round ${String(round)}`).toMatchObject({ problems: [] });

        first = await start();
        const env = cliEnv(first);
        expect(expectCliOk(await runCli(['log', 'verify', '--full', '--json'], env))).toMatchObject({ verified: true });
        const check = new CustodyClient({ server: first.url, token });
        try {
          for (const v of acked.versions) {
            const body = await check.getVersion(`${v.model}@v${String(v.number)}`);
            expect(body.digest).toBe(v.digest);
          }
          for (const a of acked.attestations) {
            const listed = await check.listAttestations(`${a.model}@${a.digest}`);
            expect(listed.items.map((item) => item.id)).toContain(a.id);
          }
          for (const name of acked.keys) expect((await check.getKey(name)).name).toBe(name);
          // This round's acknowledged versions pull back verified, byte for byte.
          for (const v of acked.versions.filter((x) => x.model.startsWith(`crash/r${String(round)}-`))) {
            const out = path.join(work, 'pulled', v.model.replace('/', '_'));
            const pulled = await check.pull(`${v.model}@v${String(v.number)}`, { output: out });
            expect(pulled.version.digest).toBe(v.digest);
            await rm(out, { recursive: true, force: true });
          }
          // The interrupted pushes go through now (registered already if the kill came after the commit).
          for (const p of interrupted) {
            const pushed = await check.push(p.dir, { model: p.model });
            expect(pushed.version.number).toBe(1);
            acked.versions.push({ model: p.model, number: pushed.version.number, digest: pushed.version.digest, dir: p.dir });
          }
        } finally {
          check.close();
        }
      }
      expect(acked.keys.length + acked.attestations.length).toBeGreaterThan(0);
      expect(acked.versions.length).toBe(3 + ROUNDS * (SMALL_PUSHES + 1));
      const final = expectCliOk(await runCli(['log', 'verify', '--full', '--json'], cliEnv(first)));
      expect(final).toMatchObject({ verified: true, versionsVerified: acked.versions.length });
    },
    TEST_TIMEOUT,
  );
});
