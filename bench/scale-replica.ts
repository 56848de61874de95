/**
 * One replica of the registry for `bench:scale` (issue 7 item 6): the built `custody serve` as a
 * child process (`server-process.ts`) with the shared storage and keys in its environment, as an
 * operator runs each replica behind a load balancer (issue 7 items 3 and 5). Several of them share
 * one PostgreSQL database, one bucket and the same log and VSA key files.
 */
import { ServerProcess } from './server-process.js';

/** What every replica of one registry shares. */
export interface ReplicaStorage {
  /** `postgres://…` URL of the shared database. */
  readonly metadataUrl: string;
  /** `s3://bucket?endpoint=…&region=…&forcePathStyle=true`. */
  readonly blobsSpec: string;
  readonly s3AccessKeyId: string;
  readonly s3SecretAccessKey: string;
  /** Absolute paths of the log and VSA key files (created by the first replica to start). */
  readonly logKeyFile: string;
  readonly vsaKeyFile: string;
  readonly bootstrapToken: string;
}

export interface ReplicaOptions {
  readonly cliPath: string;
  /** The replica's own data directory (nothing shared lives there). */
  readonly dataDir: string;
  readonly storage: ReplicaStorage;
}

/** Authentication failures a replica tolerates per address: the load generator is one address. */
const AUTH_FAILURES = 1_000_000;

/**
 * The environment that points `custody serve` at the shared storage (SPEC §3.1 overrides);
 * `ServerProcess` adds the bootstrap token, the log level and provenance off at entry.
 */
export function replicaEnv(storage: ReplicaStorage): Record<string, string> {
  return {
    CUSTODY_STORAGE_METADATA: storage.metadataUrl,
    CUSTODY_STORAGE_BLOBS: storage.blobsSpec,
    CUSTODY_STORAGE_S3_ACCESS_KEY_ID: storage.s3AccessKeyId,
    CUSTODY_STORAGE_S3_SECRET_ACCESS_KEY: storage.s3SecretAccessKey,
    CUSTODY_KEYS_LOG: `file:${storage.logKeyFile}`,
    CUSTODY_KEYS_VSA: `file:${storage.vsaKeyFile}`,
    CUSTODY_LIMITS_AUTH_FAILURES: String(AUTH_FAILURES),
  };
}

/** Starts one replica on an ephemeral loopback port and waits until it listens. */
export function startReplica(options: ReplicaOptions): Promise<ServerProcess> {
  return ServerProcess.start({ cliPath: options.cliPath, dataDir: options.dataDir, bootstrapToken: options.storage.bootstrapToken, env: replicaEnv(options.storage) });
}
