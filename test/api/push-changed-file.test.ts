/**
 * A file that changes between `custody push`'s hash and its upload: the push stops with
 * VERIFICATION_FAILED at once (the local file failed, not the connection, so no retry), stores
 * no blob and no version, and leaves no file handle open — whether the file shrank or vanished.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readlink, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { parseModelName } from '../../src/domain/model-ref.js';
import { scanModel } from '../../src/sdk/local-model.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';

/** Above the SDK's 8 MiB threshold, so the upload goes through a resumable session. */
const SIZE = 9 * 1024 * 1024;

async function openHandlesTo(file: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    if ((await readlink(`/proc/self/fd/${fd}`).catch(() => '')) === file) count++;
  }
  return count;
}

describe('push of a file that changed after it was hashed', () => {
  let reg: TestRegistry;
  let dir: string;
  let file: string;

  beforeAll(async () => {
    reg = await startTestRegistry('sqlite');
  });

  afterAll(async () => {
    await reg.stop();
  });

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'custody-push-changed-'));
    file = path.join(dir, 'weights.bin');
    await writeFile(file, Buffer.alloc(SIZE, 7));
    return () => rm(dir, { recursive: true, force: true });
  });

  const pushAfter = async (change: () => Promise<void>): Promise<CustodyError> => {
    const local = await scanModel(file);
    await change();
    const client = reg.client();
    try {
      await client.pushScanned(local, parseModelName('ns/changed'));
    } catch (error) {
      expect(error).toBeInstanceOf(CustodyError);
      return error as CustodyError;
    } finally {
      client.close();
    }
    throw new Error('the push succeeded');
  };

  it('fails with VERIFICATION_FAILED when the file shrank, storing nothing and closing the file', async () => {
    const error = await pushAfter(() => truncate(file, SIZE - 1024 * 1024));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.message).toContain('changed since it was hashed');
    const digest = `sha256:${createHash('sha256').update(Buffer.alloc(SIZE, 7)).digest('hex')}`;
    const client = reg.client();
    try {
      expect(await client.missingBlobs([digest])).toEqual([digest]);
      await expect(client.listVersions('ns/changed')).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    } finally {
      client.close();
    }
    await expect.poll(() => openHandlesTo(file), { timeout: 5000 }).toBe(0);
  });

  it('fails with VERIFICATION_FAILED when the file is gone', async () => {
    const error = await pushAfter(() => unlink(file));
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.details).toMatchObject({ path: 'weights.bin' });
  });
});
