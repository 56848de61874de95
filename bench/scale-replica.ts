/**
 * One replica of the registry for `bench:scale` (issue 7 item 6): the built `custody serve` as a
 * child process with the shared storage and keys in its environment, as an operator runs each
 * replica behind a load balancer (issue 7 items 3 and 5). Several of them share one PostgreSQL
 * database, one bucket and the same log and VSA key files. The child is tracked, so an error or
 * Ctrl-C never leaves a replica running; `stop` ends it by its own handle (SIGTERM, then SIGKILL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { trackChild } from './child-tracker.js';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

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

/** The environment that points `custody serve` at the shared storage (SPEC §3.1 overrides). */
export function replicaEnv(storage: ReplicaStorage): Record<string, string> {
  return {
    CUSTODY_STORAGE_METADATA: storage.metadataUrl,
    CUSTODY_STORAGE_BLOBS: storage.blobsSpec,
    CUSTODY_STORAGE_S3_ACCESS_KEY_ID: storage.s3AccessKeyId,
    CUSTODY_STORAGE_S3_SECRET_ACCESS_KEY: storage.s3SecretAccessKey,
    CUSTODY_KEYS_LOG: `file:${storage.logKeyFile}`,
    CUSTODY_KEYS_VSA: `file:${storage.vsaKeyFile}`,
    CUSTODY_BOOTSTRAP_TOKEN: storage.bootstrapToken,
    // Throughput is what is measured: the synthetic models carry no signed provenance.
    CUSTODY_PROVENANCE_REQUIRE_AT_ENTRY: 'false',
    CUSTODY_LIMITS_AUTH_FAILURES: String(AUTH_FAILURES),
    CUSTODY_SERVER_LOG_LEVEL: 'warn',
  };
}

/** A running `custody serve` on an ephemeral loopback port. */
export class ReplicaProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly stderrTail: () => string,
  ) {}

  get pid(): number {
    const { pid } = this.child;
    if (pid === undefined) throw new Error('the replica has no pid');
    return pid;
  }

  /** Starts the replica and waits for its `custody listening on URL` line. */
  static async start(options: ReplicaOptions): Promise<ReplicaProcess> {
    const child = spawn(process.execPath, [options.cliPath, 'serve', '--data', options.dataDir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...replicaEnv(options.storage) },
    });
    trackChild(child);
    let stderr = '';
    // stdout is drained, never read: a full pipe would stall the server.
    child.stdout?.resume();
    child.stderr?.setEncoding('utf8');
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the replica did not report its URL within ${START_TIMEOUT_MS / 1000} s: ${stderr.slice(-2000)}`));
      }, START_TIMEOUT_MS);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        reject(new Error(`the replica exited (${code ?? signal ?? '?'}) before listening: ${stderr.slice(-2000)}`));
      };
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', onExit);
      child.stderr?.on('data', (text: string) => {
        stderr = (stderr + text).slice(-16_384);
        const match = /custody listening on (https?:\/\/\S+)/.exec(stderr);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(match[1]);
        }
      });
    });
    return new ReplicaProcess(child, url, () => stderr);
  }

  /** Whether the process still runs (a replica that died mid-measurement spoils the figures). */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the replica wrote to stderr, for error messages. */
  stderr(): string {
    return this.stderrTail().slice(-2000);
  }

  /** SIGTERM (a graceful drain), then SIGKILL after a grace period; resolves once it exited. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        process.stderr.write(`warning: replica ${this.url} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it\n`);
        child.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
