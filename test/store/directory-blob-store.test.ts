/**
 * The directory blob store: the shared contract, plus what only a local directory can promise —
 * the on-disk layout, no leftovers in tmp/ after a failed write, sessions that survive a restart
 * (and are re-hashed then, since the in-memory digest is gone), and read-only blob files.
 */
import { randomBytes } from 'node:crypto';
import { access, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/domain/digest.js';
import { CustodyError } from '../../src/domain/errors.js';
import { DirectoryBlobStore } from '../../src/store/fs/directory-blob-store.js';
import { blobStoreContract, chunk, expectCode, fingerprint, readAll, sessionId } from './blob-store.contract.js';

const MiB = 1024 * 1024;
const LIMIT = 64 * MiB;

blobStoreContract('DirectoryBlobStore', async () => {
  const base = await mkdtemp(path.join(tmpdir(), 'custody-blobs-'));
  const store = await DirectoryBlobStore.open(path.join(base, 'blobs'));
  return {
    store,
    cleanup: async () => {
      await store.close();
      await rm(base, { recursive: true, force: true });
    },
  };
});

describe('DirectoryBlobStore', () => {
  let base: string;
  let root: string;
  let store: DirectoryBlobStore;

  beforeEach(async () => {
    base = await mkdtemp(path.join(tmpdir(), 'custody-blobs-'));
    root = path.join(base, 'blobs');
    store = await DirectoryBlobStore.open(root);
  });

  afterEach(async () => {
    await store.close();
    await rm(base, { recursive: true, force: true });
  });

  const entries = (dir: string): Promise<string[]> => readdir(path.join(root, dir));

  it('creates its folders on open', async () => {
    expect((await readdir(root)).sort()).toEqual(['sha256', 'tmp', 'uploads']);
  });

  it('stores a blob read-only under sha256/<first two hex digits>/<hex>', async () => {
    const data = randomBytes(10_000);
    const sha256 = sha256Hex(data);
    await store.put(Readable.from([data]), { sha256, maxBytes: LIMIT });
    const file = path.join(root, 'sha256', sha256.slice(0, 2), sha256);
    expect((await stat(file)).mode & 0o777).toBe(0o444);
    expect(await entries('tmp')).toEqual([]);
  });

  it('makes a committed session read-only and leaves no session file behind', async () => {
    const data = randomBytes(10_000);
    const sha256 = sha256Hex(data);
    const id = sessionId();
    await store.createUpload(id);
    await store.appendUpload(id, Readable.from([data]), { offset: 0, totalSize: data.length });
    await store.commitUpload(id, { sha256, size: data.length });
    expect((await stat(path.join(root, 'sha256', sha256.slice(0, 2), sha256))).mode & 0o777).toBe(0o444);
    expect(await entries('uploads')).toEqual([]);
  });

  it('leaves tmp/ empty after every kind of failed put', async () => {
    const data = randomBytes(3 * MiB);
    const sha256 = sha256Hex(data);
    await expectCode(store.put(Readable.from([data]), { sha256: sha256Hex('other'), maxBytes: LIMIT }), 'DIGEST_MISMATCH');
    await expectCode(store.put(Readable.from([data]), { sha256, size: 5, maxBytes: LIMIT }), 'SIZE_MISMATCH');
    await expectCode(store.put(Readable.from(chunk(data, 65_536)), { sha256, maxBytes: MiB }), 'FILE_TOO_LARGE');
    const source = new PassThrough();
    source.write(data.subarray(0, 2 * MiB));
    const aborted = store.put(source, { sha256, maxBytes: LIMIT, onBytes: () => source.destroy(new Error('reset')) });
    await expectCode(aborted, 'CLIENT_ABORTED');
    expect(await entries('tmp')).toEqual([]);
    expect(await entries('sha256')).toEqual([]);
  });

  it("keeps the code of a source destroyed with Custody's own error", async () => {
    const source = new PassThrough();
    source.write(randomBytes(1000));
    const put = store.put(source, {
      sha256: sha256Hex('x'),
      maxBytes: LIMIT,
      onBytes: () => source.destroy(new CustodyError('BODY_TOO_LARGE', 'request body too large')),
    });
    await expectCode(put, 'BODY_TOO_LARGE');
    expect(await entries('tmp')).toEqual([]);
  });

  it('acknowledges exactly the bytes it accepted before an append was aborted', async () => {
    const data = randomBytes(3 * MiB);
    const id = sessionId();
    await store.createUpload(id);
    const source = new PassThrough();
    source.write(data.subarray(0, 1234));
    source.write(data.subarray(1234, MiB + 77));
    let accepted = 0;
    const append = store.appendUpload(id, source, {
      offset: 0,
      totalSize: data.length,
      onBytes: (count) => {
        accepted += count;
        if (accepted >= MiB + 77) source.destroy(new Error('reset'));
      },
    });
    await expectCode(append, 'CLIENT_ABORTED');
    expect(await store.uploadOffset(id)).toBe(MiB + 77);
    expect((await stat(path.join(root, 'uploads', id))).size).toBe(MiB + 77);
  });

  it('commits after a restart a session started before it, re-hashing its bytes', async () => {
    const data = randomBytes(2 * MiB + 5);
    const sha256 = sha256Hex(data);
    const id = sessionId();
    await store.createUpload(id);
    await store.appendUpload(id, Readable.from([data.subarray(0, MiB)]), { offset: 0, totalSize: data.length });
    await store.close();

    store = await DirectoryBlobStore.open(root);
    expect(await store.uploadOffset(id)).toBe(MiB);
    await store.appendUpload(id, Readable.from([data.subarray(MiB)]), { offset: MiB, totalSize: data.length });
    expect(await store.commitUpload(id, { sha256, size: data.length })).toEqual({ sha256, size: data.length });
    expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
  });

  it('detects after a restart a session file altered while the server was down', async () => {
    const data = randomBytes(100_000);
    const id = sessionId();
    await store.createUpload(id);
    await store.appendUpload(id, Readable.from([data]), { offset: 0, totalSize: data.length });
    await store.close();
    const tampered = Buffer.from(data);
    tampered[500] = (tampered[500] ?? 0) ^ 1;
    await writeFile(path.join(root, 'uploads', id), tampered);

    store = await DirectoryBlobStore.open(root);
    await expectCode(store.commitUpload(id, { sha256: sha256Hex(data), size: data.length }), 'DIGEST_MISMATCH');
    expect(await entries('uploads')).toEqual([]);
    expect(await store.stat(sha256Hex(data))).toBeUndefined();
  });

  it('cleans up tmp/ but keeps sessions and blobs', async () => {
    const data = randomBytes(5000);
    const sha256 = sha256Hex(data);
    await store.put(Readable.from([data]), { sha256, maxBytes: LIMIT });
    const id = sessionId();
    await store.createUpload(id);
    await store.appendUpload(id, Readable.from([data.subarray(0, 100)]), { offset: 0, totalSize: data.length });
    await writeFile(path.join(root, 'tmp', 'left-by-a-crash'), 'partial bytes');

    await store.close();
    store = await DirectoryBlobStore.open(root);
    await store.cleanupTemporary();

    expect(await entries('tmp')).toEqual([]);
    expect(await store.uploadOffset(id)).toBe(100);
    expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
  });

  it('spares the temporary file of a put in progress when cleaning up', async () => {
    const data = randomBytes(3 * MiB);
    const sha256 = sha256Hex(data);
    const source = new PassThrough();
    let accepted!: () => void;
    const started = new Promise<void>((resolve) => (accepted = resolve));
    const put = store.put(source, { sha256, maxBytes: LIMIT, onBytes: () => {
          accepted();
        } });
    source.write(data.subarray(0, MiB));
    await started;
    await store.cleanupTemporary();
    source.end(data.subarray(MiB));
    expect(await put).toEqual({ sha256, size: data.length });
    expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
  });

  it('builds no path from a hostile session id or digest', async () => {
    const escape = 'escaped-session-id-0000';
    await expectCode(store.createUpload(`../${escape}`), 'BAD_REQUEST');
    await expectCode(store.stat(`../../${escape}`), 'INVALID_DIGEST');
    await expect(access(path.join(root, escape))).rejects.toMatchObject({ code: 'ENOENT' });
    expect((await readdir(base)).sort()).toEqual(['blobs']);
    expect(await entries('uploads')).toEqual([]);
  });
});
