/**
 * A throwaway S3 server for the test run (`global-setup.ts`): a single-node Ceph cluster — one
 * monitor, one bluestore OSD on a sparse file, and the RADOS Gateway on a free loopback port —
 * under a fresh /tmp directory (issue 7 §2, notes/environment.md "A real S3 server"). When Ceph is
 * not installed, its Debian packages are installed with apt-get. `stop()` stops the daemons by the
 * PIDs in their pid files, radosgw first, and deletes the directory.
 */
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const READY_TIMEOUT_MS = 90_000;

/** A running throwaway S3 endpoint with one user. */
export interface CephServer {
  /** `http://127.0.0.1:<port>` of the RADOS Gateway. */
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  /** Stops the daemons and deletes the directory; later calls return the first call's promise. */
  stop(): Promise<void>;
}

async function ensureCeph(): Promise<void> {
  const missing = ['radosgw', 'ceph-mon', 'ceph-osd', 'radosgw-admin', 'monmaptool'].filter((tool) => !existsSync(`/usr/bin/${tool}`));
  if (missing.length === 0) return;
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  await run('apt-get', ['update'], { env, maxBuffer: 64 * 1024 * 1024 });
  await run('apt-get', ['install', '-y', '--no-install-recommends', 'radosgw', 'ceph-mon', 'ceph-osd'], { env, maxBuffer: 64 * 1024 * 1024 });
  if (!existsSync('/usr/bin/radosgw')) throw new Error('apt-get installed radosgw but /usr/bin/radosgw does not exist');
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

/** The cluster's configuration; every path lives under `root`. Why each setting: notes/environment.md. */
function cephConf(root: string, fsid: string, monPort: number, rgwPort: number): string {
  return `[global]
fsid = ${fsid}
mon host = v2:127.0.0.1:${monPort}
mon initial members = a
public addr = 127.0.0.1
ms bind msgr1 = false
auth cluster required = none
auth service required = none
auth client required = none
ms mon client mode = crc
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 1
osd pool default pgp num = 1
osd pool default pg autoscale mode = off
mon allow pool size one = true
mon allow pool delete = true
mon warn on pool no redundancy = false
osd crush chooseleaf type = 0
paxos propose interval = 0.1
run dir = ${root}/run
pid file = ${root}/run/$name.pid
admin socket = ${root}/run/$name.asok
log file = ${root}/log/$name.log
log to stderr = false
err to stderr = true
keyring = /dev/null
mon data = ${root}/mon
osd data = ${root}/osd
osd objectstore = bluestore
bluestore block create = true
bluestore block size = ${8 * 1024 * 1024 * 1024}
bluestore fsck on mkfs = false
bluestore cache autotune = false
bluestore cache size = 134217728
osd memory target = 939524096
osd op num threads per shard = 1
osd op num shards = 2
[client.rgw]
rgw frontends = beast endpoint=127.0.0.1:${rgwPort}
rgw data = ${root}/rgw
rgw thread pool size = 32
`;
}

async function waitFor(what: string, probe: () => Promise<boolean>, deadline: number, logTail: () => Promise<string>): Promise<void> {
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`Ceph: ${what} not ready within ${READY_TIMEOUT_MS / 1000} s\n${await logTail()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Creates and starts the cluster and an S3 user with a random key pair. Throws with the tail of
 * the daemons' logs when it does not become ready; nothing is left running or on disk then.
 */
export async function startCeph(): Promise<CephServer> {
  await ensureCeph();
  const root = await mkdtemp('/tmp/custody-ceph-');
  const conf = join(root, 'ceph.conf');
  const args = (...rest: string[]): string[] => ['-c', conf, ...rest];

  const shutDown = async (): Promise<void> => {
    try {
      // radosgw first (it talks to the others); its beast frontend often ignores SIGTERM, and the
      // data is thrown away, so each daemon gets a short grace before SIGKILL.
      await stopDaemon(join(root, 'run', 'client.rgw.pid'), 500);
      await Promise.all(['osd.0', 'mon.a'].map((name) => stopDaemon(join(root, 'run', `${name}.pid`), 1_500)));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  };
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopping ??= shutDown());

  const logTail = async (): Promise<string> => {
    const parts: string[] = [];
    for (const name of ['mon.a', 'osd.0', 'client.rgw']) {
      const file = join(root, 'log', `${name}.log`);
      if (existsSync(file)) parts.push(`--- ${name}\n${(await readFile(file, 'utf8')).slice(-1500)}`);
    }
    return parts.join('\n');
  };

  try {
    for (const dir of ['run', 'log', 'mon', 'osd', 'rgw']) await mkdir(join(root, dir));
    const fsid = randomUUID();
    const [monPort, rgwPort] = [await freePort(), await freePort()];
    await writeFile(conf, cephConf(root, fsid, monPort, rgwPort));
    const deadline = Date.now() + READY_TIMEOUT_MS;

    await run('monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', `[v2:127.0.0.1:${monPort}]`, join(root, 'monmap')]);
    await run('ceph-mon', args('--mkfs', '-i', 'a', '--monmap', join(root, 'monmap')));
    await run('ceph-mon', args('-i', 'a'));
    const osdUuid = randomUUID();
    await run('ceph', args('--connect-timeout', '60', 'osd', 'new', osdUuid, '0'), { timeout: 60_000 });
    await run('ceph-osd', args('-i', '0', '--mkfs', '--osd-uuid', osdUuid));
    await run('ceph-osd', args('-i', '0'));
    await waitFor(
      'the OSD',
      async () => /1 up/.test((await run('ceph', args('--connect-timeout', '5', 'osd', 'stat'), { timeout: 10_000 })).stdout),
      deadline,
      logTail,
    );
    await run('radosgw', args('-n', 'client.rgw'));
    const endpoint = `http://127.0.0.1:${rgwPort}`;
    await waitFor('radosgw', async () => (await fetch(endpoint)).status < 500, deadline, logTail);

    const accessKeyId = randomBytes(10).toString('hex').toUpperCase();
    const secretAccessKey = randomBytes(20).toString('base64url');
    await run('radosgw-admin', args('user', 'create', '--uid=custody-test', '--display-name=Custody tests', `--access-key=${accessKeyId}`, `--secret=${secretAccessKey}`), {
      timeout: 60_000,
    });
    return { endpoint, region: 'us-east-1', accessKeyId, secretAccessKey, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** SIGTERM to the PID in `pidFile`, then SIGKILL if it has not exited within `graceMs`. */
async function stopDaemon(pidFile: string, graceMs: number): Promise<void> {
  if (!existsSync(pidFile)) return;
  const pid = Number((await readFile(pidFile, 'utf8')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  if (!signal(pid, 'SIGTERM')) return;
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    if (!signal(pid, 0)) return;
  }
  signal(pid, 'SIGKILL');
  for (let i = 0; i < 100 && signal(pid, 0); i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
}

/**
 * Sends `sig` to `pid`; false when no such process exists. A zombie counts as gone: the daemons
 * detach from us, and where nothing reaps orphans their exit would otherwise never show.
 */
function signal(pid: number, sig: NodeJS.Signals | 0): boolean {
  try {
    process.kill(pid, sig);
  } catch {
    return false;
  }
  if (sig !== 0) return true;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
