/**
 * Fault: S3 unavailable (issue 7 §4). A `custody serve` process keeps its blobs in a bucket of the
 * suite's Ceph reached through a TCP proxy; the proxy is shut in the middle of a multi-MiB push
 * (multipart parts already in S3). The push fails with SERVICE_UNAVAILABLE, no version is
 * registered and no blob of the cut file is visible, `/readyz` says 503 while S3 is away and 200 once the proxy
 * is back on the same port, and the same push then succeeds and pulls back byte for byte.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { createTestStorage, runCli, spawnServer, type CliResult, type SpawnedServer, type TestStorage } from '../support/registry.js';
import { dropBucket, listBucketKeys, newBucketName, s3ServerEnv, testS3Client } from '../support/s3-storage.js';
import { startTcpProxy, type TcpProxy } from '../support/tcp-proxy.js';
import { MiB, sha256File, writeBigFile } from '../support/test-files.js';
import { sleep } from '../support/wait-for.js';

const BIG_FILE_MIB = 64;
/** S3 goes away once this much of the push has gone to S3 (past the first multipart part). */
const CUT_AFTER_BYTES = 12 * MiB;
const TEST_TIMEOUT = 90_000;

function jsonOf(result: CliResult): { error?: { code?: string }; [key: string]: unknown } {
  try {
    return JSON.parse(result.stdout) as { error?: { code?: string } };
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)}):\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

async function readyStatus(server: SpawnedServer): Promise<number> {
  const response = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(20_000) });
  await response.arrayBuffer();
  return response.status;
}

describe('S3 unavailable', () => {
  const token = generateApiToken();
  const bucket = newBucketName('custody-fault');
  const target = new URL(inject('s3').endpoint);
  let storage: TestStorage;
  let work: string;
  let proxy: TcpProxy;
  let server: SpawnedServer | undefined;

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    work = await mkdtemp(path.join(tmpdir(), 'custody-fault-s3-'));
    proxy = await startTcpProxy(target);
  });

  afterAll(async () => {
    await server?.kill9();
    await proxy.close();
    await dropBucket(bucket);
    await storage.cleanup();
    await rm(work, { recursive: true, force: true });
  });

  it(
    'a push cut off from S3 mid-file fails with SERVICE_UNAVAILABLE and registers nothing; /readyz follows S3; the re-push succeeds',
    async () => {
      const spawned = await spawnServer({ dataDir: storage.dataDir, metadataSpec: storage.metadataSpec, token, env: s3ServerEnv(bucket, proxy.endpoint) });
      server = spawned;
      const model = path.join(work, 'model');
      await mkdir(model);
      await writeBigFile(path.join(model, 'weights.bin'), BIG_FILE_MIB);
      await writeFile(path.join(model, 'config.json'), JSON.stringify({ layers: 3 }));
      const small = path.join(work, 'small.bin');
      await writeFile(small, randomBytes(4096));
      const env = { CUSTODY_SERVER: spawned.url, CUSTODY_TOKEN: token, XDG_CONFIG_HOME: path.join(work, 'xdg') };
      const s3 = testS3Client();
      try {
        expect(await readyStatus(spawned)).toBe(200);

        // S3 goes away in the middle of the big file.
        const before = proxy.bytesToTarget();
        const pushing = runCli(['push', model, '--model', 'vision/big', '--json'], env);
        while (proxy.bytesToTarget() - before < CUT_AFTER_BYTES) await sleep(5);
        await proxy.close();
        const failed = await pushing;
        expect(failed.code, failed.stderr).toBe(1);
        expect(jsonOf(failed).error?.code).toBe('SERVICE_UNAVAILABLE');
        expect(failed.stderr).toContain('SERVICE_UNAVAILABLE');

        // While S3 is away: not ready, pushes of any size fail the same way, nothing registered.
        expect(await readyStatus(spawned)).toBe(503);
        const smallPush = await runCli(['push', small, '--model', 'vision/small', '--json'], env);
        expect(smallPush.code).toBe(1);
        expect(jsonOf(smallPush).error?.code).toBe('SERVICE_UNAVAILABLE');
        for (const name of ['vision/big', 'vision/small']) {
          const versions = await runCli(['versions', name, '--json'], env);
          expect(versions.code).toBe(6);
          expect(jsonOf(versions).error?.code).toBe('MODEL_NOT_FOUND');
        }
        // No blob of the cut file; at most the small config file, which was complete before the cut.
        const bigKey = `blobs/sha256/${await sha256File(path.join(model, 'weights.bin'))}`;
        const configKey = `blobs/sha256/${await sha256File(path.join(model, 'config.json'))}`;
        const visible = await listBucketKeys(s3, bucket, 'blobs/');
        expect(visible).not.toContain(bigKey);
        expect(visible.filter((key) => key !== configKey)).toEqual([]);

        // S3 back on the same address: ready again without a restart, and the push succeeds.
        proxy = await startTcpProxy(target, proxy.port);
        expect(await readyStatus(spawned)).toBe(200);
        expect(await listBucketKeys(s3, bucket, 'blobs/')).toEqual(visible);
        const again = await runCli(['push', model, '--model', 'vision/big', '--json'], env);
        expect(again.code, again.stderr).toBe(0);
        expect(jsonOf(again)).toMatchObject({ model: 'vision/big', number: 1, created: true });
        expect((await listBucketKeys(s3, bucket, 'blobs/')).sort()).toEqual([bigKey, configKey].sort());

        const pulled = path.join(work, 'pulled');
        const pull = await runCli(['pull', 'vision/big@v1', '-o', pulled, '--json'], env);
        expect(pull.code, pull.stderr).toBe(0);
        expect(await sha256File(path.join(pulled, 'weights.bin'))).toBe(await sha256File(path.join(model, 'weights.bin')));
        expect(spawned.child.exitCode).toBeNull();
      } finally {
        s3.destroy();
      }
    },
    TEST_TIMEOUT,
  );
});
