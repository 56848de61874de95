/**
 * Crashes in the middle of an upload, with real processes (SPEC §10 "crash mid-write", issue 2
 * acceptance): a client killed with kill -9 mid-file resumes without re-sending acknowledged
 * bytes; a server killed with kill -9 mid-upload restarts with nothing partial visible and the
 * re-push resumes; a SIGTERM during uploads shuts down within the timeout leaving nothing behind.
 * Bytes are counted by the server's `custody_upload_bytes_received_total`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { CustodyError } from '../../src/domain/errors.js';
import { CustodyClient } from '../../src/sdk/custody-client.js';
import { BACKENDS, CLI_PATH, REPO_ROOT, createTestStorage, expectCliOk, runCli, spawnServer, type CliResult, type SpawnedServer, type TestStorage } from '../support/registry.js';
import { startStalledPut } from '../support/stalled-put.js';
import { storedSessionBytes, temporaryBlobWrites, visibleBlobs } from '../support/stored-blobs.js';
import { MiB, sha256File, uploadBytesReceived, writeBigFile } from '../support/test-files.js';
import { settled, waitFor } from '../support/wait-for.js';

const BIG_FILE_BYTES = 300 * MiB;
/** The crash comes once the server has received at least this much of the big file. */
const CRASH_AFTER_BYTES = 50 * MiB;
/** A single-shot PUT (below the 8 MiB session threshold) of which only a part is ever sent. */
const PARTIAL_PUT_BYTES = 4 * MiB;
const PARTIAL_PUT_SENT = 2 * MiB;
const TEST_TIMEOUT = 180_000;

/** The regular files under `dir`, recursively, with their sizes (an absent directory is empty). */
async function filesUnder(dir: string): Promise<{ path: string; size: number }[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files: { path: string; size: number }[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    files.push({ path: path.relative(dir, file), size: (await stat(file)).size });
  }
  return files;
}

interface RunningCli {
  readonly child: ChildProcess;
  readonly exited: Promise<CliResult>;
}

/** Starts the built CLI as a child process that the test can kill. */
function startCli(args: readonly string[], env: Record<string, string>): RunningCli {
  const child = spawn(process.execPath, [CLI_PATH, ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  const exited = new Promise<CliResult>((resolve) => {
    child.once('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
  return { child, exited };
}

async function killHard(cli: RunningCli | undefined): Promise<void> {
  if (cli === undefined) return;
  if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
  await cli.exited;
}

async function headStatus(serverUrl: string, token: string, digestHex: string): Promise<number> {
  const response = await fetch(`${serverUrl}/api/v1/blobs/sha256:${digestHex}`, { method: 'HEAD', headers: { authorization: `Bearer ${token}` } });
  return response.status;
}

let work: string;
let bigFile: string;
let bigDigest: string;
let partialBody: Buffer;
let partialDigest: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'custody-e2e-crash-'));
  bigFile = path.join(work, 'weights.bin');
  await writeBigFile(bigFile, BIG_FILE_BYTES / MiB);
  bigDigest = await sha256File(bigFile);
  partialBody = randomBytes(PARTIAL_PUT_BYTES);
  partialDigest = createHash('sha256').update(partialBody).digest('hex');
}, TEST_TIMEOUT);

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe.each(BACKENDS)('crashes during uploads on %s', (backend) => {
  let storage: TestStorage;
  let token: string;
  let out: string;
  /** Servers and clients started by the current test, killed whatever happens. */
  let servers: SpawnedServer[];
  let clis: RunningCli[];
  let sockets: Socket[];

  /**
   * The stalled PUT's bytes are in the server's hands: in a temporary file of the directory
   * store, in the S3 store's part buffer (counted as received).
   */
  const stalledPutArrived = (url: string): Promise<true> =>
    waitFor('the stalled PUT to reach the store', async () => {
      if (storage.blobs.kind === 's3') return (await uploadBytesReceived(url)) >= PARTIAL_PUT_SENT ? true : undefined;
      const temps = await filesUnder(path.join(storage.dataDir, 'blobs', 'tmp'));
      return temps.some((f) => f.size > 0) ? true : undefined;
    });
  const cliEnv = (server: SpawnedServer): Record<string, string> => ({
    CUSTODY_SERVER: server.url,
    CUSTODY_TOKEN: token,
    XDG_CONFIG_HOME: path.join(out, 'xdg'),
  });
  const start = async (env: Record<string, string> = {}): Promise<SpawnedServer> => {
    const server = await spawnServer({ dataDir: storage.dataDir, metadataSpec: storage.metadataSpec, blobs: storage.blobs, token, env });
    servers.push(server);
    return server;
  };
  const push = (server: SpawnedServer, model: string): RunningCli => {
    const cli = startCli(['push', bigFile, '--model', model, '--json'], cliEnv(server));
    clis.push(cli);
    return cli;
  };
  /** Pulls `ref` and checks the file against the big file, byte for byte (by size and sha256). */
  const expectPullsBack = async (server: SpawnedServer, ref: string): Promise<void> => {
    const target = path.join(out, 'pulled.bin');
    expectCliOk(await runCli(['pull', ref, '-o', target, '--json'], cliEnv(server)));
    expect((await stat(target)).size).toBe(BIG_FILE_BYTES);
    expect(await sha256File(target)).toBe(bigDigest);
    await rm(target);
  };

  beforeEach(async () => {
    storage = await createTestStorage(backend);
    token = generateApiToken();
    out = await mkdtemp(path.join(tmpdir(), `custody-e2e-crash-out-${backend}-`));
    servers = [];
    clis = [];
    sockets = [];
  });

  afterEach(async () => {
    for (const socket of sockets) socket.destroy();
    for (const cli of clis) await killHard(cli);
    for (const server of servers) await server.kill9();
    await storage.cleanup();
    await rm(out, { recursive: true, force: true });
  });

  it(
    'a push whose client is killed with kill -9 mid-file resumes on re-run without re-sending acknowledged bytes',
    async () => {
      const server = await start();
      const first = push(server, 'ns/big');
      const seen = await waitFor('the first push to be mid-file', async () => {
        const received = await uploadBytesReceived(server.url);
        return received >= CRASH_AFTER_BYTES ? received : undefined;
      });
      first.child.kill('SIGKILL');
      const killed = await first.exited;
      expect(killed.code).toBeNull(); // killed, not finished
      // Bytes already on the wire still land; then the server sees the connection gone.
      const r1 = await settled(() => uploadBytesReceived(server.url));
      expect(seen).toBeLessThan(BIG_FILE_BYTES);
      expect(r1).toBeLessThan(BIG_FILE_BYTES);

      // The acknowledged offset, as the API reports it to the same principal and on disk.
      const client = new CustodyClient({ server: server.url, token });
      const session = await client.createUpload(`sha256:${bigDigest}`, BIG_FILE_BYTES).finally(() => {
        client.close();
      });
      expect(session.exists).toBe(false);
      expect(session.id).not.toBeNull();
      const offset = session.offset;
      expect(offset).toBeGreaterThanOrEqual(CRASH_AFTER_BYTES);
      expect(offset).toBeLessThan(BIG_FILE_BYTES);
      expect(await storedSessionBytes(storage)).toEqual([{ path: String(session.id), size: offset }]);

      const second = expectCliOk(await runCli(['push', bigFile, '--model', 'ns/big', '--json'], cliEnv(server)));
      expect(second).toMatchObject({ model: 'ns/big', number: 1, created: true, digest: expect.stringMatching(/^sha256:/) as unknown });
      const total = await uploadBytesReceived(server.url);
      expect(total - r1).toBe(BIG_FILE_BYTES - offset); // the re-run sent only what was missing
      expect(total).toBe(BIG_FILE_BYTES); // and nothing was ever sent twice
      expect(await storedSessionBytes(storage)).toEqual([]);
      expect(await temporaryBlobWrites(storage)).toEqual([]);

      await expectPullsBack(server, 'ns/big@v1');
    },
    TEST_TIMEOUT,
  );

  it(
    'a server killed with kill -9 mid-upload restarts with no partial blob or version, and a re-push resumes and succeeds',
    async () => {
      const first = await start();
      sockets.push(await startStalledPut(first.url, token, partialBody, PARTIAL_PUT_SENT));
      await stalledPutArrived(first.url);
      const pushing = push(first, 'ns/big');
      await waitFor('the push to be mid-file', async () => ((await uploadBytesReceived(first.url)) >= PARTIAL_PUT_SENT + CRASH_AFTER_BYTES ? true : undefined));
      await first.kill9();

      // What the dead server left: the PUT's temporary file (the S3 store held the PUT's first,
      // partial part in memory, so nothing of it reached the bucket) and the session's bytes.
      if (storage.blobs.kind === 'file') expect((await temporaryBlobWrites(storage)).length).toBeGreaterThan(0);
      const sessions = await storedSessionBytes(storage);
      expect(sessions).toHaveLength(1);
      const offset = sessions[0]?.size ?? 0;
      expect(offset).toBeGreaterThan(0);
      expect(offset).toBeLessThan(BIG_FILE_BYTES);
      expect((await pushing.exited).code).not.toBe(0);

      const second = await start();
      expect(await temporaryBlobWrites(storage)).toEqual([]);
      expect(await visibleBlobs(storage)).toEqual([]);
      expect(await headStatus(second.url, token, bigDigest)).toBe(404);
      expect(await headStatus(second.url, token, partialDigest)).toBe(404);
      const client = new CustodyClient({ server: second.url, token });
      try {
        expect((await client.listModels()).items).toEqual([]);
        await expect(client.listVersions('ns/big')).rejects.toSatisfy((e: unknown) => e instanceof CustodyError && e.code === 'MODEL_NOT_FOUND');
        expect((await runCli(['versions', 'ns/big'], cliEnv(second))).code).toBe(6);

        const again = expectCliOk(await runCli(['push', bigFile, '--model', 'ns/big', '--json'], cliEnv(second)));
        expect(again).toMatchObject({ model: 'ns/big', number: 1, created: true });
        // The session outlived the crash: only the bytes it lacked crossed the wire again.
        const received = await uploadBytesReceived(second.url);
        expect(received).toBe(BIG_FILE_BYTES - offset);
        expect(received).toBeLessThan(BIG_FILE_BYTES);
        expect(await headStatus(second.url, token, bigDigest)).toBe(200);
        await expectPullsBack(second, 'ns/big@v1');

        // The cut single-shot PUT can simply be sent again.
        const put = await fetch(`${second.url}/api/v1/blobs/sha256:${partialDigest}`, {
          method: 'PUT',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
          body: partialBody,
        });
        expect(put.status).toBe(201);
        expect(await headStatus(second.url, token, partialDigest)).toBe(200);
      } finally {
        client.close();
      }
    },
    TEST_TIMEOUT,
  );

  it(
    'SIGTERM during uploads exits 0 within the shutdown timeout and leaves no temporary file or partial blob',
    async () => {
      const shutdownTimeoutMs = 2_000;
      const server = await start({ CUSTODY_SERVER_SHUTDOWN_TIMEOUT_MS: String(shutdownTimeoutMs) });
      sockets.push(await startStalledPut(server.url, token, partialBody, PARTIAL_PUT_SENT));
      await stalledPutArrived(server.url);
      push(server, 'ns/big');
      await waitFor('the push to be mid-file', async () => ((await uploadBytesReceived(server.url)) >= PARTIAL_PUT_SENT + CRASH_AFTER_BYTES ? true : undefined));

      const started = Date.now();
      const code = await server.stop();
      const elapsed = Date.now() - started;
      expect(code).toBe(0);
      // The stalled PUT never finishes, so the server waits the timeout, then cuts and cleans up.
      expect(elapsed).toBeLessThan(shutdownTimeoutMs + 3_000);
      expect(await temporaryBlobWrites(storage)).toEqual([]);
      expect(await visibleBlobs(storage)).toEqual([]);
    },
    TEST_TIMEOUT,
  );
});
