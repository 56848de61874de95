/**
 * A throwaway PostgreSQL server for the test run (`global-setup.ts`) and the benchmarks (STYLE.md
 * §8: no network). It lives under a fresh /tmp directory on a free loopback port, runs as the
 * `postgres` user (initdb and pg_ctl refuse root), and `stop()` shuts it down (`pg_ctl stop`,
 * falling back to SIGQUIT to the PID in postmaster.pid) and deletes the directory. When no
 * PostgreSQL is installed, it is installed from the distribution's packages with apt-get.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, chown, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const POSTGRES_ROOT = '/usr/lib/postgresql';

/** A running throwaway server. */
export interface PostgresServer {
  /** Superuser URL of the server's `postgres` database. */
  readonly url: string;
  /** The cluster's data directory (its postmaster.pid names the server's PID). */
  readonly dataDir: string;
  /** Stops the server and deletes its directory; later calls return the first call's promise. */
  stop(): Promise<void>;
}

export interface StartPostgresOptions {
  /**
   * Called as soon as the server's directory exists, before the server starts: a caller that
   * may be killed can arrange for the server to be stopped (by the PID in `dataDir`'s
   * postmaster.pid) and `root` deleted from outside.
   */
  readonly onDirectory?: (root: string, dataDir: string) => void;
}

async function findBinDir(): Promise<string | undefined> {
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  const versions = (await readdir(POSTGRES_ROOT))
    .filter((name) => /^[0-9]+$/.test(name) && existsSync(join(POSTGRES_ROOT, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  const newest = versions[0];
  return newest === undefined ? undefined : join(POSTGRES_ROOT, newest, 'bin');
}

async function ensureBinDir(): Promise<string> {
  const found = await findBinDir();
  if (found !== undefined) return found;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 });
  await run('apt-get', ['install', '-y', 'postgresql'], { env, maxBuffer: 64 * 1024 * 1024 });
  const installed = await findBinDir();
  if (installed === undefined) throw new Error(`apt-get installed postgresql but no ${POSTGRES_ROOT}/*/bin/initdb exists`);
  return installed;
}

/** A port that was free a moment ago: bind port 0 on loopback, read it, release it. */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolvePort(address.port);
        else reject(new Error('could not read the bound port'));
      });
    });
  });
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout.trim());
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no postgres user on this machine');
  return { uid, gid };
}

function asPostgres(binary: string, args: readonly string[]): Promise<{ stdout: string; stderr: string }> {
  return run('runuser', ['-u', 'postgres', '--', binary, ...args], { cwd: '/tmp' });
}

/**
 * Creates, configures (fsync off: the data is thrown away) and starts a new cluster. Throws with
 * the tail of the server log when it does not start; nothing is left behind in that case.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<PostgresServer> {
  const bin = await ensureBinDir();
  const { uid, gid } = await postgresIds();
  const root = await mkdtemp('/tmp/custody-pg-');
  const dataDir = join(root, 'data');
  options.onDirectory?.(root, dataDir);
  await chown(root, uid, gid);
  const logFile = join(root, 'postgres.log');
  const pgCtl = join(bin, 'pg_ctl');

  const shutDown = async (): Promise<void> => {
    try {
      if (existsSync(join(dataDir, 'postmaster.pid'))) {
        try {
          await asPostgres(pgCtl, ['stop', '-D', dataDir, '-m', 'fast', '-w', '-t', '30']);
        } catch {
          const pid = Number((await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
          // SIGQUIT is PostgreSQL's immediate shutdown: the postmaster takes its backends with it.
          if (Number.isInteger(pid) && pid > 0) process.kill(pid, 'SIGQUIT');
        }
      }
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= shutDown());

  try {
    await asPostgres(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C.UTF-8', '--locale-provider=icu', '--icu-locale=en-US', '--no-sync']);
    let lastError: unknown;
    // The port may be taken between freePort() and the server's bind: try a few.
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const port = await freePort();
      await appendFile(
        join(dataDir, 'postgresql.conf'),
        [
          `port = ${port}`,
          `listen_addresses = '127.0.0.1'`,
          `unix_socket_directories = '${root}'`,
          'fsync = off',
          'synchronous_commit = off',
          'full_page_writes = off',
          'max_connections = 300',
          '',
        ].join('\n'),
      );
      try {
        await asPostgres(pgCtl, ['start', '-D', dataDir, '-l', logFile, '-w', '-t', '60']);
        return { url: `postgres://postgres@127.0.0.1:${port}/postgres`, dataDir, stop };
      } catch (error) {
        lastError = error;
      }
    }
    const log = existsSync(logFile) ? await readFile(logFile, 'utf8') : '';
    throw new Error(`PostgreSQL did not start:\n${log.slice(-4000)}`, { cause: lastError });
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Shuts a running cluster down (`pg_ctl stop -m fast`: sessions are cut, nothing is deleted) so a
 * fault test can take PostgreSQL away under a running registry; `resumePostgres` brings the same
 * cluster back on the same port with the same data.
 */
export async function pausePostgres(server: PostgresServer): Promise<void> {
  const bin = await ensureBinDir();
  await asPostgres(join(bin, 'pg_ctl'), ['stop', '-D', server.dataDir, '-m', 'fast', '-w', '-t', '30']);
}

/** Starts a cluster that `pausePostgres` shut down, on its configured port, and waits until it accepts connections. */
export async function resumePostgres(server: PostgresServer): Promise<void> {
  const bin = await ensureBinDir();
  const logFile = join(dirname(server.dataDir), 'postgres.log');
  await asPostgres(join(bin, 'pg_ctl'), ['start', '-D', server.dataDir, '-l', logFile, '-w', '-t', '60']);
}
