/**
 * The PostgreSQL database of `bench:policy --postgres`: a throwaway cluster started as the test
 * suite starts one (`test/support/postgres-server.ts`: fsync, synchronous_commit and
 * full_page_writes off, so commits are not durable and the figures are an upper bound), or an
 * existing server named by CUSTODY_BENCH_POSTGRES. Either way the benchmark creates a database of
 * its own and drops it at the end; the cleanup guard stops a throwaway cluster even when the
 * benchmark is killed.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { startPostgres, type PostgresServer } from '../test/support/postgres-server.js';
import type { CleanupGuard } from './cleanup-guard.js';

export class PolicyBenchDatabase {
  #server: Promise<PostgresServer> | undefined;
  #drop: (() => Promise<void>) | undefined;

  constructor(private readonly guard: CleanupGuard) {}

  /**
   * Creates an empty database on `serverUrl` (or on a throwaway cluster for `throwaway`) and
   * returns its URL; `say` narrates what was started.
   */
  async create(serverUrl: string, say: (line: string) => void): Promise<string> {
    let base = serverUrl;
    if (serverUrl === 'throwaway') {
      const started = performance.now();
      this.#server = startPostgres({
        onDirectory: (root, dataDir) => {
          this.guard.stopPostgresOnExit(dataDir);
          this.guard.removeOnExit(root);
        },
      });
      base = (await this.#server).url;
      say(`  started a throwaway PostgreSQL in ${((performance.now() - started) / 1000).toFixed(1)} s (fsync, synchronous_commit, full_page_writes off: an upper bound)`);
    } else {
      say('  PostgreSQL: an existing server (CUSTODY_BENCH_POSTGRES)');
    }
    const name = `custody_bench_policy_${randomBytes(4).toString('hex')}`;
    const admin = async (statement: string): Promise<void> => {
      const client = new pg.Client({ connectionString: base });
      await client.connect();
      try {
        await client.query(statement);
      } finally {
        await client.end();
      }
    };
    await admin(`create database ${name}`);
    this.#drop = () => admin(`drop database if exists ${name} with (force)`);
    const url = new URL(base);
    url.pathname = `/${name}`;
    return url.toString();
  }

  /** Drops the database and stops a throwaway cluster; safe to call more than once. */
  async release(): Promise<void> {
    const drop = this.#drop;
    this.#drop = undefined;
    if (drop !== undefined) await drop().catch(() => undefined);
    const server = this.#server;
    this.#server = undefined;
    // A start that failed has already cleaned up after itself.
    if (server !== undefined) await server.then((s) => s.stop(), () => undefined);
  }
}
