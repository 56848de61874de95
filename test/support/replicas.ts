/**
 * Several `custody serve` processes on one PostgreSQL database and one S3 bucket, sharing the
 * log and VSA keys (issue 7 §3, §4; SPEC §3 "Scale-out"): the scale-out topology as tests meet it.
 * `startReplicaSet` creates the database, a bucket on the run's Ceph RGW and a key directory,
 * starts replica A first (it bootstraps the registry and creates both keys in the shared
 * directory), then the others pointed at the same files. Each replica has its own data directory
 * (nothing replica-local is shared). Replicas can be killed with `kill -9` and restarted on the
 * same configuration, for fault tests; `stop()` stops every replica and drops database, bucket
 * and directories.
 *
 * Runs the BUILT server (`dist/`): run `npm run build` first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { generateApiToken } from '../../src/auth/api-token.js';
import { CustodyClient } from '../../src/sdk/custody-client.js';
import { createTestStorage, runCli, spawnServer, stopServer, type CliResult, type SpawnedServer, type TestRegistry } from './registry.js';
import { dropBucket, newBucketName, s3ServerEnv } from './s3-storage.js';

/** One `custody serve` process of a set. */
export interface Replica {
  /** 'A', 'B', … in start order. */
  readonly name: string;
  /** Its own data directory (the registry's keys are elsewhere: see `ReplicaSet.keysDir`). */
  readonly dataDir: string;
  /** The current process; replaced by `restart()`. */
  readonly server: SpawnedServer;
  /** Base URL of the current process (a restarted replica listens on a new port). */
  readonly url: string;
  /** Whether the current process is still alive. */
  running(): boolean;
  /** A client of this replica, as the admin unless another token is given. */
  client(token?: string): CustodyClient;
  /** `fetch` of a path on this replica, with the admin's bearer token unless `init` sets one. */
  fetch(urlPath: string, init?: RequestInit): Promise<Response>;
  /** One JSON call to this replica's API as the admin (or `token`); an empty reply body reads as `{}`. */
  json(method: string, urlPath: string, body?: unknown, token?: string): Promise<ReplicaReply>;
  /** kill -9 and wait for the exit. */
  kill9(): Promise<void>;
  /** SIGTERM, SIGKILL after 10 s; no-op when already exited. */
  stop(): Promise<void>;
  /** Starts a new process on the same configuration and data directory (stopping a live one first). */
  restart(): Promise<void>;
  /**
   * This replica seen as a `TestRegistry`, for fixtures that only need `url`, `token`,
   * `client()` (e.g. `promotion-fixtures.ts`, `trust-fixtures.ts`). Follows restarts.
   * `registry` (the in-process server) does not exist here and throws; `stop()` stops the replica.
   */
  asTestRegistry(): TestRegistry;
}

/** What `Replica.json` returns. */
export interface ReplicaReply {
  readonly status: number;
  readonly body: Record<string, unknown>;
  readonly headers: Headers;
}

export interface ReplicaSetOptions {
  /** How many replicas (default 2). */
  readonly count?: number;
  /** Extra environment for every replica (e.g. CUSTODY_PROVENANCE_REQUIRE_AT_ENTRY). */
  readonly env?: Record<string, string>;
}

export interface ReplicaSet {
  /** `storage.metadata` of the shared PostgreSQL database. */
  readonly metadataSpec: string;
  /** The shared bucket on the run's S3 server. */
  readonly bucket: string;
  /** The admin's API token (CUSTODY_BOOTSTRAP_TOKEN of every replica). */
  readonly token: string;
  /** Directory holding the shared `log.key` and `vsa.key`. */
  readonly keysDir: string;
  readonly logKeyFile: string;
  readonly vsaKeyFile: string;
  /**
   * The environment every replica runs with: CUSTODY_STORAGE_METADATA, the bucket's
   * CUSTODY_STORAGE_BLOBS and S3 credentials, CUSTODY_KEYS_LOG / CUSTODY_KEYS_VSA (absolute
   * `file:` paths) and `options.env`. What `custody admin verify-store` needs too.
   */
  readonly sharedEnv: Readonly<Record<string, string>>;
  readonly replicas: readonly Replica[];
  /** The replica at `index`, throwing when there is none. */
  replica(index: number): Replica;
  /** kill -9 of replica `index`. */
  killReplica(index: number): Promise<void>;
  /** Restarts replica `index` (after a kill or on a live one). */
  restartReplica(index: number): Promise<void>;
  /** Runs the built `custody` CLI against replica `index` as the admin (CUSTODY_SERVER/TOKEN; `env` adds to it). */
  cli(index: number, args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
  /**
   * Runs `custody admin verify-store` (the built CLI) on the shared stores with `sharedEnv`,
   * using replica A's data directory; `json` adds the global `--json`, `args` go after the
   * command (e.g. `--log-key`). The command is meant for a registry at rest: stop the replicas,
   * or at least their writes, first.
   */
  verifyStore(options?: { json?: boolean; args?: readonly string[] }): Promise<CliResult>;
  /** Stops every replica, drops the database and bucket, deletes every directory. */
  stop(): Promise<void>;
}

/** The name of the replica at `index`: A, B, C, … */
function replicaName(index: number): string {
  return String.fromCharCode('A'.charCodeAt(0) + index);
}

/**
 * Starts `count` replicas on one fresh PostgreSQL database and one fresh bucket, with shared
 * log and VSA keys. On failure everything created so far is removed again.
 */
export async function startReplicaSet(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
  const count = options.count ?? 2;
  if (!Number.isInteger(count) || count < 1 || count > 26) throw new Error('a replica set has 1 to 26 replicas');
  const token = generateApiToken();
  const bucket = newBucketName('custody-replicas');
  const storage = await createTestStorage('postgres');
  const dirs: string[] = [];
  const replicas: Replica[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.allSettled(replicas.map((r) => r.stop()));
    await Promise.allSettled([storage.cleanup(), dropBucket(bucket), ...dirs.map((d) => rm(d, { recursive: true, force: true }))]);
  };

  try {
    // mkdtemp makes the directory 0700, as the key loader expects of a key's directory.
    const keysDir = await mkdtemp(path.join(tmpdir(), 'custody-replica-keys-'));
    dirs.push(keysDir);
    const logKeyFile = path.join(keysDir, 'log.key');
    const vsaKeyFile = path.join(keysDir, 'vsa.key');
    const sharedEnv: Record<string, string> = {
      CUSTODY_STORAGE_METADATA: storage.metadataSpec,
      ...s3ServerEnv(bucket),
      CUSTODY_KEYS_LOG: `file:${logKeyFile}`,
      CUSTODY_KEYS_VSA: `file:${vsaKeyFile}`,
      ...(options.env ?? {}),
    };

    const makeReplica = async (index: number): Promise<Replica> => {
      const dataDir = index === 0 ? storage.dataDir : await mkdtemp(path.join(tmpdir(), `custody-replica-${replicaName(index).toLowerCase()}-`));
      if (index !== 0) dirs.push(dataDir);
      const spawnOne = (): Promise<SpawnedServer> => spawnServer({ dataDir, metadataSpec: storage.metadataSpec, token, env: sharedEnv });
      let server = await spawnOne();
      const replica: Replica = {
        name: replicaName(index),
        dataDir,
        get server() {
          return server;
        },
        get url() {
          return server.url;
        },
        running: () => server.child.exitCode === null && server.child.signalCode === null,
        client: (t = token) => new CustodyClient({ server: server.url, token: t }),
        fetch: (urlPath, init = {}) => {
          const headers = new Headers(init.headers);
          if (!headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
          return fetch(`${server.url}${urlPath}`, { ...init, headers });
        },
        json: async (method, urlPath, body, t) => {
          const res = await replica.fetch(urlPath, {
            method,
            headers: { ...(t === undefined ? {} : { authorization: `Bearer ${t}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
            ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          });
          const text = await res.text();
          return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>), headers: res.headers };
        },
        kill9: async () => {
          if (replica.running()) await server.kill9();
        },
        stop: () => stopServer(server),
        restart: async () => {
          await stopServer(server);
          server = await spawnOne();
        },
        asTestRegistry: () => {
          // Built as a variable, not a literal in return position, so that it type-checks whether
          // or not TestRegistry has grown fields this view also carries (`blobs`).
          const view = {
            get url() {
              return server.url;
            },
            token,
            dataDir,
            metadataSpec: storage.metadataSpec,
            blobs: { kind: 's3' as const, spec: sharedEnv['CUSTODY_STORAGE_BLOBS'] ?? '', bucket, serverEnv: s3ServerEnv(bucket) },
            get registry(): never {
              throw new Error(`replica ${replicaName(index)} runs in another process: it has no in-process registry`);
            },
            client: (t = token) => new CustodyClient({ server: server.url, token: t }),
            stop: () => stopServer(server),
          };
          return view;
        },
      };
      return replica;
    };

    // A first: it bootstraps the admin and creates both keys; the others then only load them.
    replicas.push(await makeReplica(0));
    const others = await Promise.allSettled(Array.from({ length: count - 1 }, (_, i) => makeReplica(i + 1)));
    for (const started of others) if (started.status === 'fulfilled') replicas.push(started.value);
    const failed = others.find((s) => s.status === 'rejected');
    if (failed !== undefined) throw failed.reason;

    const replica = (index: number): Replica => {
      const found = replicas[index];
      if (found === undefined) throw new Error(`no replica ${index} (the set has ${replicas.length})`);
      return found;
    };
    return {
      metadataSpec: storage.metadataSpec,
      bucket,
      token,
      keysDir,
      logKeyFile,
      vsaKeyFile,
      sharedEnv,
      replicas,
      replica,
      killReplica: (index) => replica(index).kill9(),
      restartReplica: (index) => replica(index).restart(),
      cli: (index, args, env = {}) => runCli(args, { CUSTODY_SERVER: replica(index).url, CUSTODY_TOKEN: token, ...env }),
      verifyStore: ({ json = false, args = [] } = {}) =>
        runCli([...(json ? ['--json'] : []), 'admin', 'verify-store', '--data', storage.dataDir, ...args], sharedEnv),
      stop: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
