/**
 * Real registries for integration tests: `startTestRegistry` runs the server in this process on
 * a loopback port (real HTTP, real stores), `spawnServer` runs `custody serve` as a child
 * process (for kill -9 tests; `stopServer` stops one with a bound), and `runCli` runs the built
 * `custody` command (`expectCliOk` reads a successful `--json` run). The CLI and the
 * spawned server use `dist/` — `npm test` builds it first.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig, type ConfigInput } from '../../src/config/config.js';
import type { Clock } from '../../src/domain/clock.js';
import { generateApiToken } from '../../src/auth/api-token.js';
import { openBlobStore, startRegistry, type RunningRegistry } from '../../src/app/start-registry.js';
import type { BlobStore } from '../../src/store/blob-store.js';
import { silentLogger, type Logger } from '../../src/observability/logger.js';
import { CustodyClient } from '../../src/sdk/custody-client.js';
import { createPostgresDatabase } from './databases.js';
import { dropBucket, newBucketName, s3ServerEnv, s3StorageConfig } from './s3-storage.js';

export type Backend = 'sqlite' | 'postgres';
export const BACKENDS: readonly Backend[] = ['sqlite', 'postgres'];

/**
 * Where registries under test keep their blobs: a data-directory store, or — with
 * `CUSTODY_TEST_BLOBS=s3`, which the `s3` vitest project sets — a fresh bucket per registry on the
 * run's Ceph RGW (issue 7: the full suite passes on both blob stores, on both metadata stores).
 */
export type BlobBackend = 'file' | 's3';
export const TEST_BLOBS: BlobBackend = process.env['CUSTODY_TEST_BLOBS'] === 's3' ? 's3' : 'file';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI_PATH = path.join(REPO_ROOT, 'bin', 'custody.js');

export interface TestRegistry {
  readonly url: string;
  /** The admin's API token. */
  readonly token: string;
  readonly dataDir: string;
  /** The `storage.metadata` setting in use (so a restarted server can reuse the database). */
  readonly metadataSpec: string;
  /** Where its blobs are (`TEST_BLOBS`), and the environment that points a spawned server or CLI there. */
  readonly blobs: TestBlobs;
  readonly registry: RunningRegistry;
  client(token?: string): CustodyClient;
  /** Stops the server and deletes its data directory and database. */
  stop(): Promise<void>;
}

/** The blob store of a registry under test. */
export type TestBlobs =
  | { readonly kind: 'file'; readonly spec: 'file:blobs'; readonly serverEnv: Record<string, string> }
  | { readonly kind: 's3'; readonly spec: string; readonly bucket: string; readonly serverEnv: Record<string, string> };

export interface TestStorage {
  readonly dataDir: string;
  readonly metadataSpec: string;
  readonly blobs: TestBlobs;
  cleanup(): Promise<void>;
}

function testBlobs(kind: BlobBackend): TestBlobs {
  if (kind === 'file') return { kind, spec: 'file:blobs', serverEnv: {} };
  const bucket = newBucketName('custody-reg');
  const serverEnv = s3ServerEnv(bucket);
  return { kind, spec: serverEnv['CUSTODY_STORAGE_BLOBS'] ?? '', bucket, serverEnv };
}

/** The `storage` configuration keys for a registry in this process on these blobs. */
export function blobsConfig(blobs: TestBlobs): { blobs: string; s3AccessKeyId?: string; s3SecretAccessKey?: string } {
  return blobs.kind === 'file' ? { blobs: blobs.spec } : s3StorageConfig(blobs.bucket);
}

/** A fresh data directory, a fresh metadata database for one backend and fresh blob storage (`TEST_BLOBS` unless given). */
export async function createTestStorage(backend: Backend, blobKind: BlobBackend = TEST_BLOBS): Promise<TestStorage> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'custody-test-'));
  const blobs = testBlobs(blobKind);
  const dropBlobs = (): Promise<void> => (blobs.kind === 's3' ? dropBucket(blobs.bucket) : Promise.resolve());
  if (backend === 'sqlite') {
    return {
      dataDir,
      metadataSpec: 'sqlite:custody.db',
      blobs,
      cleanup: async () => {
        await dropBlobs();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  const db = await createPostgresDatabase();
  return {
    dataDir,
    metadataSpec: db.url,
    blobs,
    cleanup: async () => {
      await db.drop();
      await dropBlobs();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Suites about storage, transfer and the log push models without signed provenance: they run
 * the registry with `provenance.requireAtEntry` off unless they say otherwise. Suites about
 * entry checks turn it on (the server's default) explicitly.
 */
export const WITHOUT_PROVENANCE = { requireAtEntry: false } as const;

/**
 * Suites that walk every route with bad credentials fail authentication hundreds of times from
 * one address; the registry under test allows that many unless a suite sets `limits.authFailures`
 * (the rate-limit suite does).
 */
export const TEST_AUTH_FAILURES = 100_000;

/**
 * A policy's gates must finish within `promotion.evaluationTimeLimitMs` (250 ms by default). On a
 * loaded two-core CI machine a cold evaluation can take longer than that, which would turn a
 * policy's passing test fixture into a spurious deny; registries under test allow this much
 * unless a suite sets the limit (the time-limit suite does).
 */
export const TEST_EVALUATION_TIME_LIMIT_MS = 5_000;

/** Starts a registry in this process on an ephemeral loopback port (on `clock` and logging to `logger`, when given; silent otherwise). */
export async function startTestRegistry(backend: Backend, config: ConfigInput = {}, clock?: Clock, logger: Logger = silentLogger): Promise<TestRegistry> {
  const storage = await createTestStorage(backend);
  const token = generateApiToken();
  const effective = resolveConfig(
    {
      ...config,
      server: { port: 0, ...(config.server ?? {}) },
      storage: { metadata: storage.metadataSpec, ...blobsConfig(storage.blobs), ...(config.storage ?? {}) },
      provenance: { ...WITHOUT_PROVENANCE, ...(config.provenance ?? {}) },
      limits: { authFailures: TEST_AUTH_FAILURES, ...(config.limits ?? {}) },
      promotion: { evaluationTimeLimitMs: TEST_EVALUATION_TIME_LIMIT_MS, ...(config.promotion ?? {}) },
    },
    {},
  );
  let registry: RunningRegistry;
  try {
    registry = await startRegistry({ config: effective, dataDir: storage.dataDir, bootstrapToken: token, logger, ...(clock === undefined ? {} : { clock }) });
  } catch (error) {
    await storage.cleanup();
    throw error;
  }
  return {
    url: registry.url,
    token,
    dataDir: storage.dataDir,
    metadataSpec: storage.metadataSpec,
    blobs: storage.blobs,
    registry,
    client: (t = token) => new CustodyClient({ server: registry.url, token: t }),
    stop: async () => {
      await registry.stop();
      await storage.cleanup();
    },
  };
}

export interface SpawnedServer {
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop(): Promise<number | null>;
  /** kill -9 and wait for exit. */
  kill9(): Promise<void>;
}

/**
 * Runs `custody serve` as a child process and waits until it listens. `blobs` (a TestStorage's)
 * points it at that storage's blob store; without it the server uses its data directory.
 */
export async function spawnServer(options: {
  dataDir: string;
  metadataSpec: string;
  token: string;
  blobs?: TestBlobs;
  env?: Record<string, string>;
  args?: string[];
}): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [CLI_PATH, 'serve', '--data', options.dataDir, '--port', '0', ...(options.args ?? [])], {
    env: {
      ...process.env,
      CUSTODY_STORAGE_METADATA: options.metadataSpec,
      CUSTODY_BOOTSTRAP_TOKEN: options.token,
      CUSTODY_SERVER_LOG_LEVEL: 'warn',
      // See WITHOUT_PROVENANCE; pass CUSTODY_PROVENANCE_REQUIRE_AT_ENTRY=true to test entry checks.
      CUSTODY_PROVENANCE_REQUIRE_AT_ENTRY: 'false',
      CUSTODY_LIMITS_AUTH_FAILURES: String(TEST_AUTH_FAILURES),
      CUSTODY_PROMOTION_EVALUATION_TIME_LIMIT_MS: String(TEST_EVALUATION_TIME_LIMIT_MS),
      ...(options.blobs?.serverEnv ?? {}),
      ...(options.env ?? {}),
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server did not start: ${stderr}`)); }, 30_000);
    child.stderr?.on('data', (chunk: string) => {
      stderr += chunk;
      const match = /custody listening on (http:\/\/\S+)/.exec(stderr);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${String(code)}: ${stderr}`));
    });
  });
  return {
    url,
    child,
    stderr: () => stderr,
    stop: async () => {
      child.kill('SIGTERM');
      return exited;
    },
    kill9: async () => {
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** How long `stopServer` waits for a graceful stop before kill -9. */
const STOP_TIMEOUT_MS = 10_000;

/** Stops a spawned server gracefully (SIGTERM), or with kill -9 if it has not exited after `timeoutMs`; no-op when already exited. */
export async function stopServer(server: SpawnedServer, timeoutMs = STOP_TIMEOUT_MS): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => { resolve('timeout'); }, timeoutMs);
  });
  try {
    if ((await Promise.race([server.stop(), timedOut])) === 'timeout') await server.kill9();
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Client state (saved login, pinned log keys) for CLI runs that do not bring their own: private
 * to this test process, so pins of servers that happened to use the same port never collide.
 */
const DEFAULT_CLI_CONFIG_HOME = mkdtempSync(path.join(tmpdir(), 'custody-cli-test-config-'));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built `custody` CLI to completion. */
export function runCli(args: readonly string[], env: Record<string, string> = {}, cwd: string = REPO_ROOT): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      cwd,
      env: { ...process.env, XDG_CONFIG_HOME: DEFAULT_CLI_CONFIG_HOME, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.once('error', reject);
    child.once('exit', (code) => { resolve({ code, stdout, stderr }); });
  });
}

/** The JSON a `--json` CLI run printed; throws with its exit code and output unless it exited 0. */
export function expectCliOk(result: CliResult): Record<string, unknown> {
  if (result.code !== 0) throw new Error(`custody exited ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

/** Opens the blob store of a registry under test (e.g. for an offline `verifyStore` or to inspect it). */
export async function openTestBlobStore(storage: { readonly dataDir: string; readonly blobs: TestBlobs }): Promise<BlobStore> {
  const config = blobsConfig(storage.blobs);
  const credentials =
    config.s3AccessKeyId === undefined || config.s3SecretAccessKey === undefined ? undefined : { accessKeyId: config.s3AccessKeyId, secretAccessKey: config.s3SecretAccessKey };
  return openBlobStore(storage.blobs.spec, storage.dataDir, credentials);
}
