/**
 * Fault: PostgreSQL restarted under load (issue 7 §4). A `custody serve` process runs on a
 * PostgreSQL cluster of its own (the suite's shared server is never touched) while workers keep
 * pushing small models and reading them back. The cluster is shut down (fast shutdown) and
 * started again on the same port and data: during the outage every request ends within a bound
 * with a 503 problem+json SERVICE_UNAVAILABLE (never a 500, never a hang), and afterwards the
 * same server process serves again, with exactly the acknowledged pushes registered and a log
 * that `log verify --full` and `admin verify-store` accept.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { CustodyError } from '../../src/domain/errors.js';
import { CustodyClient } from '../../src/sdk/custody-client.js';
import { pausePostgres, resumePostgres, startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { expectCliOk, runCli, spawnServer, type SpawnedServer } from '../support/registry.js';
import { sleep } from '../support/wait-for.js';

/** No request may take longer than this, outage or not. */
const REQUEST_BOUND_MS = 10_000;
/** The registry must serve again within this long after PostgreSQL accepts connections. */
const RECOVERY_BOUND_MS = 15_000;
const WORKERS = 4;
const TEST_TIMEOUT = 90_000;

/** What one request of the load ended with. */
interface Outcome {
  readonly kind: 'push' | 'show' | 'versions' | 'readyz';
  readonly at: number;
  readonly ms: number;
  /** HTTP status, or 0 when the request threw without one. */
  readonly status: number;
  readonly code: string | undefined;
  readonly contentType: string | undefined;
}

interface Pushed {
  readonly model: string;
  readonly number: number;
  readonly digest: string;
}

/** Fails a promise that has not settled after `ms` (a hang is a failure, not a slow test). */
async function bounded<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => { reject(new Error(`no answer within ${ms} ms`)); }, ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('PostgreSQL restarted under load', () => {
  let cluster: PostgresServer;
  let work: string;
  let dataDir: string;
  let server: SpawnedServer | undefined;
  const token = generateApiToken();

  beforeAll(async () => {
    cluster = await startPostgres();
    work = await mkdtemp(path.join(tmpdir(), 'custody-fault-pg-'));
    dataDir = path.join(work, 'data');
  }, 120_000);

  afterAll(async () => {
    await server?.kill9();
    await cluster.stop();
    await rm(work, { recursive: true, force: true });
  });

  it(
    'answers 503 SERVICE_UNAVAILABLE within a bound during the outage and recovers without a restart, storing exactly what it acknowledged',
    async () => {
      const spawned = await spawnServer({ dataDir, metadataSpec: cluster.url, token });
      server = spawned;
      const pid = spawned.child.pid;
      const outcomes: Outcome[] = [];
      const pushed: Pushed[] = [];
      let running = true;
      let seq = 0;

      /** One raw GET, recorded with its status, problem code and duration. */
      const get = async (kind: Outcome['kind'], route: string): Promise<void> => {
        const started = Date.now();
        try {
          const response = await fetch(`${spawned.url}${route}`, {
            headers: { authorization: `Bearer ${token}` },
            signal: AbortSignal.timeout(REQUEST_BOUND_MS + 5_000),
          });
          const contentType = response.headers.get('content-type') ?? undefined;
          const body = (await response.json()) as { code?: string };
          outcomes.push({ kind, at: started, ms: Date.now() - started, status: response.status, code: response.status >= 400 ? body.code : undefined, contentType });
        } catch (error) {
          const cause = (error as { cause?: { code?: unknown } }).cause?.code;
          outcomes.push({ kind, at: started, ms: Date.now() - started, status: 0, code: `${String(error)} (${String(cause)})`, contentType: undefined });
        }
      };
      /** One push of a new small model through the SDK; acknowledged pushes are remembered. */
      const push = async (client: CustodyClient): Promise<void> => {
        const n = (seq += 1);
        const dir = await mkdtemp(path.join(work, 'model-'));
        await writeFile(path.join(dir, 'weights.bin'), randomBytes(2048));
        await writeFile(path.join(dir, 'config.json'), JSON.stringify({ n }));
        const model = `load/m${String(n % 3)}`;
        const started = Date.now();
        try {
          const result = await bounded(REQUEST_BOUND_MS + 5_000, client.push(dir, { model }));
          pushed.push({ model, number: result.version.number, digest: result.version.digest });
          outcomes.push({ kind: 'push', at: started, ms: Date.now() - started, status: 201, code: undefined, contentType: undefined });
        } catch (error) {
          const code = error instanceof CustodyError ? error.code : String(error);
          outcomes.push({ kind: 'push', at: started, ms: Date.now() - started, status: code === 'SERVICE_UNAVAILABLE' ? 503 : 0, code, contentType: undefined });
        } finally {
          await rm(dir, { recursive: true, force: true });
        }
      };
      const worker = async (w: number): Promise<void> => {
        const client = new CustodyClient({ server: spawned.url, token });
        try {
          for (let i = 0; running; i += 1) {
            const model = `load/m${String((w + i) % 3)}`;
            if (i % 2 === 0) await push(client);
            else if (w % 2 === 0) await get('versions', `/api/v1/models/${model}/versions`);
            else await get('show', `/api/v1/models/${model}/versions/v1`);
            await sleep(20);
          }
        } finally {
          client.close();
        }
      };

      // One version of each model first, so reads during the load never meet a missing model.
      const seeding = new CustodyClient({ server: spawned.url, token });
      try {
        for (let m = 0; m < 3; m += 1) await push(seeding);
      } finally {
        seeding.close();
      }
      expect(pushed).toHaveLength(3);
      const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
      const acked = (): number => pushed.length;
      try {
        while (acked() < 12) await sleep(50);

        await pausePostgres(cluster);
        const down = Date.now();
        await sleep(3_000);
        await get('readyz', '/readyz');
        const outageEnd = Date.now();
        const duringOutage = outcomes.filter((o) => o.at >= down + 500 && o.at + o.ms <= outageEnd);

        await resumePostgres(cluster);
        const up = Date.now();
        let recovered: number | undefined;
        while (recovered === undefined && Date.now() - up < RECOVERY_BOUND_MS) {
          const ok = outcomes.find((o) => o.at >= up && o.status < 400 && o.kind !== 'readyz');
          if (ok !== undefined) recovered = ok.at + ok.ms;
          else await sleep(100);
        }
        const ackedAtRecovery = acked();
        while (acked() < ackedAtRecovery + 8 && Date.now() - up < RECOVERY_BOUND_MS + 15_000) await sleep(50);
        running = false;
        await load;

        expect(spawned.child.exitCode, `custody serve exited:\n${spawned.stderr()}`).toBeNull();
        // During the outage: only clear 503s, each within the bound, on reads, writes and /readyz.
        expect(duringOutage.length).toBeGreaterThan(10);
        expect(new Set(duringOutage.map((o) => o.kind))).toEqual(new Set(['push', 'show', 'versions', 'readyz']));
        for (const o of duringOutage) {
          expect(o, JSON.stringify(o)).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
          if (o.kind !== 'push') expect(o.contentType).toMatch(/^application\/problem\+json/);
        }
        // Throughout: no 500, no other error, no request past the bound.
        for (const o of outcomes) {
          expect(o.ms, JSON.stringify(o)).toBeLessThan(REQUEST_BOUND_MS);
          if (o.status >= 400 || o.status === 0) expect(o, `${JSON.stringify(o)}\nserver log:\n${spawned.stderr().slice(-4000)}`).toMatchObject({ status: 503, code: 'SERVICE_UNAVAILABLE' });
        }
        // Recovery: the same process serves reads and writes again.
        expect(recovered, 'no successful request after PostgreSQL came back').toBeDefined();
        expect(acked()).toBeGreaterThanOrEqual(ackedAtRecovery + 8);
        expect(spawned.child.pid).toBe(pid);
        expect(spawned.child.exitCode).toBeNull();
        const ready = await fetch(`${spawned.url}/readyz`);
        expect(ready.status).toBe(200);
      } finally {
        running = false;
        await load.catch(() => undefined);
      }

      // Nothing partial: the registered versions are exactly the acknowledged pushes.
      const client = new CustodyClient({ server: spawned.url, token });
      try {
        const registered: Pushed[] = [];
        for (const model of ['load/m0', 'load/m1', 'load/m2']) {
          for (const v of (await client.listVersions(model, { limit: 1000 })).items) registered.push({ model, number: v.number, digest: v.digest });
        }
        const key = (p: Pushed): string => `${p.model}@${p.number}=${p.digest}`;
        expect(registered.map(key).sort()).toEqual(pushed.map(key).sort());
      } finally {
        client.close();
      }
      const env = { CUSTODY_SERVER: spawned.url, CUSTODY_TOKEN: token, XDG_CONFIG_HOME: path.join(work, 'xdg') };
      const verified = expectCliOk(await runCli(['log', 'verify', '--full', '--json'], env));
      expect(verified).toMatchObject({ verified: true, versionsVerified: pushed.length });

      await spawned.stop();
      const store = await runCli(['admin', 'verify-store', '--data', dataDir, '--json'], { CUSTODY_STORAGE_METADATA: cluster.url });
      expect(expectCliOk(store)).toMatchObject({ problems: [], counts: { versions: pushed.length } });
    },
    TEST_TIMEOUT,
  );
});
