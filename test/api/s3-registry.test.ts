/**
 * The registry on the S3 store (issue 7 §1, first step): a server whose `storage.blobs` is an
 * `s3://` bucket on the suite's Ceph RADOS Gateway, with the S3 credentials given as
 * configuration keys (`storage.s3AccessKeyId` / `s3SecretAccessKey`) rather than the AWS
 * environment, pushes a model through the SDK and pulls it back byte for byte, on both
 * metadata stores. Half a credential pair is refused at start, naming the keys.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { resolveConfig } from '../../src/config/config.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';

function s3Storage(bucket: string): { blobs: string; s3AccessKeyId: string; s3SecretAccessKey: string } {
  const s3 = inject('s3');
  const location = `s3://${bucket}?endpoint=${encodeURIComponent(s3.endpoint)}&region=${s3.region}&forcePathStyle=true`;
  return { blobs: location, s3AccessKeyId: s3.accessKeyId, s3SecretAccessKey: s3.secretAccessKey };
}

describe('S3 credentials in the configuration', () => {
  it('refuses one key of the pair without the other, naming them', () => {
    expect(() => resolveConfig({ storage: { s3AccessKeyId: 'AKIA' } }, {})).toThrow(/s3AccessKeyId and s3SecretAccessKey go together/);
    const config = resolveConfig(undefined, { CUSTODY_STORAGE_S3_ACCESS_KEY_ID: 'AKIAEXAMPLE', CUSTODY_STORAGE_S3_SECRET_ACCESS_KEY: 'secret-from-env' });
    expect(config.storage).toMatchObject({ s3AccessKeyId: 'AKIAEXAMPLE', s3SecretAccessKey: 'secret-from-env' });
  });
});

describe.each(BACKENDS)('a registry on S3 blobs with %s metadata', (backend) => {
  let reg: TestRegistry;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'custody-s3-registry-'));
    reg = await startTestRegistry(backend, { storage: s3Storage(`custody-reg-${randomBytes(5).toString('hex')}`) });
  });

  afterAll(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('pushes a model into the bucket and pulls it back byte for byte', async () => {
    const model = path.join(work, 'model');
    await mkdir(model, { recursive: true });
    const weights = randomBytes(3 * 1024 * 1024 + 17);
    await writeFile(path.join(model, 'weights.bin'), weights);
    await writeFile(path.join(model, 'config.json'), '{"layers": 3}');
    const client = reg.client();
    try {
      const pushed = await client.push(model, { model: 'vision/s3-model' });
      expect(pushed.created).toBe(true);
      expect(pushed.uploadedFiles).toBe(2);
      const again = await client.push(model, { model: 'vision/s3-model' });
      expect([again.created, again.uploadedFiles]).toEqual([false, 0]);
      const pulled = await client.pull(`vision/s3-model@${pushed.version.digest}`, { output: path.join(work, 'pulled') });
      expect(pulled.version.digest).toBe(pushed.version.digest);
      expect((await readFile(path.join(work, 'pulled', 'weights.bin'))).equals(weights)).toBe(true);
      expect(await readFile(path.join(work, 'pulled', 'config.json'), 'utf8')).toBe('{"layers": 3}');
    } finally {
      client.close();
    }
  });
});
