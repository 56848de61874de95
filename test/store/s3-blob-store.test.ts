/**
 * The S3 blob store against the run's real Ceph RADOS Gateway (global-setup.ts; issue 7 §1–2):
 * the shared contract, each test in a bucket of its own, plus what only S3 must show — a large
 * put is never visible (nor listed) at its address before its digest is verified, a session
 * started by one store instance is resumed and committed by another on the same bucket (another
 * replica), ranges across multipart parts, stale multipart uploads cleaned up, and an S3 that
 * stops answering → SERVICE_UNAVAILABLE with nothing visible.
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { sha256Hex } from '../../src/domain/digest.js';
import { S3BlobStore, type S3BlobStoreOptions } from '../../src/store/s3/s3-blob-store.js';
import { startTcpProxy } from '../support/tcp-proxy.js';
import { blobStoreContract, chunk, expectCode, fingerprint, readAll, sessionId } from './blob-store.contract.js';

const MiB = 1024 * 1024;
const LIMIT = 256 * MiB;
const PART = 5 * MiB;

function optionsFor(bucket: string, overrides: Partial<S3BlobStoreOptions> = {}): S3BlobStoreOptions {
  const s3 = inject('s3');
  return {
    bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: true,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
    partBytes: PART,
    ...overrides,
  };
}

function newBucket(): string {
  return `custody-test-${randomBytes(6).toString('hex')}`;
}

/** Empties and deletes a bucket (aborting unfinished multipart uploads first). */
async function dropBucket(store: S3BlobStore): Promise<void> {
  const { client, bucket } = store;
  const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  for (const upload of uploads.Uploads ?? []) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
  }
  for (const key of await listKeys(store)) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}

async function listKeys(store: S3BlobStore, prefix = ''): Promise<string[]> {
  const page = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix }));
  return (page.Contents ?? []).flatMap((item) => (item.Key === undefined ? [] : [item.Key]));
}

blobStoreContract('S3BlobStore on Ceph RGW', async () => {
  const store = await S3BlobStore.open(optionsFor(newBucket()));
  return {
    store,
    cleanup: async () => {
      await dropBucket(store);
      await store.close();
    },
  };
});

describe('S3BlobStore', () => {
  let store: S3BlobStore;

  beforeEach(async () => {
    store = await S3BlobStore.open(optionsFor(newBucket()));
  });

  afterEach(async () => {
    await dropBucket(store);
    await store.close();
  });

  it('shows nothing at the address, in listings or by stat, while a multipart put is still unverified', async () => {
    const data = randomBytes(3 * PART + 1234);
    const sha256 = sha256Hex(data);
    const source = new PassThrough();
    let seen = 0;
    let halfway!: () => void;
    const reachedHalfway = new Promise<void>((resolve) => (halfway = resolve));
    const put = store.put(source, {
      sha256,
      size: data.length,
      maxBytes: LIMIT,
      onBytes: (count) => {
        seen += count;
        if (seen >= 2 * PART + 1) halfway();
      },
    });
    for (const part of chunk(data.subarray(0, 2 * PART + MiB), MiB)) source.write(part);
    await reachedHalfway;
    // Two parts are in S3 by now, in an open multipart upload at the final key.
    const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
    expect(uploads.Uploads?.map((upload) => upload.Key)).toEqual([`blobs/sha256/${sha256}`]);
    expect(await listKeys(store)).toEqual([]);
    expect(await store.stat(sha256)).toBeUndefined();
    await expectCode(store.read(sha256), 'BLOB_NOT_FOUND');
    source.end(data.subarray(2 * PART + MiB));
    expect(await put).toEqual({ sha256, size: data.length });
    expect(await listKeys(store)).toEqual([`blobs/sha256/${sha256}`]);
    expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
  });

  it('discards the parts of a multipart put whose digest does not match', async () => {
    const data = randomBytes(2 * PART + 10);
    const claimed = sha256Hex('other bytes');
    await expectCode(store.put(Readable.from(chunk(data, MiB)), { sha256: claimed, maxBytes: LIMIT }), 'DIGEST_MISMATCH');
    expect(await listKeys(store)).toEqual([]);
    const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(await store.stat(claimed)).toBeUndefined();
  });

  it('serves ranges that cross the parts of a multipart blob', async () => {
    const data = randomBytes(2 * PART + 999);
    const sha256 = sha256Hex(data);
    await store.put(Readable.from(chunk(data, MiB)), { sha256, maxBytes: LIMIT });
    for (const [start, end] of [
      [PART - 10, PART + 10],
      [0, 2 * PART + 998],
      [2 * PART - 1, 2 * PART + 5000],
    ] as const) {
      const slice = data.subarray(start, Math.min(end, data.length - 1) + 1);
      expect(fingerprint(await readAll(await store.read(sha256, { start, end })))).toEqual(fingerprint(slice));
    }
  });

  it('lets a second store instance on the same bucket resume and commit a session (another replica)', async () => {
    const data = randomBytes(PART + 3 * MiB + 17);
    const sha256 = sha256Hex(data);
    const id = sessionId();
    await store.createUpload(id);
    const source = new PassThrough();
    const append = store.appendUpload(id, source, {
      offset: 0,
      totalSize: data.length,
      onBytes: () => undefined,
    });
    source.write(data.subarray(0, PART + MiB));
    setTimeout(() => source.destroy(new Error('connection reset by peer')), 200);
    await expectCode(append, 'CLIENT_ABORTED');

    const replica = await S3BlobStore.open(optionsFor(store.bucket));
    try {
      const offset = await replica.uploadOffset(id);
      expect(offset).toBe(PART + MiB);
      expect(await replica.appendUpload(id, Readable.from(chunk(data.subarray(offset), MiB)), { offset, totalSize: data.length })).toBe(data.length);
      expect(await store.uploadOffset(id)).toBe(data.length);
      expect(await replica.commitUpload(id, { sha256, size: data.length })).toEqual({ sha256, size: data.length });
    } finally {
      await replica.close();
    }
    expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
    expect(await listKeys(store, 'uploads/')).toEqual([]);
  });

  it('aborts stale multipart uploads on cleanup and keeps visible blobs', async () => {
    const data = randomBytes(1000);
    const sha256 = sha256Hex(data);
    await store.put(Readable.from([data]), { sha256, maxBytes: LIMIT });
    await store.client.send(new CreateMultipartUploadCommand({ Bucket: store.bucket, Key: `blobs/sha256/${sha256Hex('crashed')}` }));
    const eager = await S3BlobStore.open(optionsFor(store.bucket, { temporaryMaxAgeMs: 0 }));
    try {
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await eager.cleanupTemporary();
    } finally {
      await eager.close();
    }
    const uploads = await store.client.send(new ListMultipartUploadsCommand({ Bucket: store.bucket }));
    expect(uploads.Uploads ?? []).toEqual([]);
    expect(await store.stat(sha256)).toEqual({ sha256, size: 1000 });
  });

  it('fails with SERVICE_UNAVAILABLE when S3 stops answering, and nothing becomes visible', async () => {
    const proxy = await startTcpProxy(new URL(inject('s3').endpoint));
    const viaProxy = await S3BlobStore.open(optionsFor(store.bucket, { endpoint: proxy.endpoint, requestTimeoutMs: 2_000 }));
    try {
      const data = randomBytes(2 * PART + 5);
      const sha256 = sha256Hex(data);
      const source = new PassThrough();
      let seen = 0;
      const put = viaProxy.put(source, {
        sha256,
        maxBytes: LIMIT,
        onBytes: (count) => {
          seen += count;
          // Past the first part: S3 goes away with a multipart upload open.
          if (seen > PART) void proxy.close();
        },
      });
      for (const part of chunk(data, MiB)) source.write(part);
      source.end();
      await expectCode(put, 'SERVICE_UNAVAILABLE');
      await expectCode(viaProxy.stat(sha256), 'SERVICE_UNAVAILABLE');
      await expectCode(viaProxy.createUpload(sessionId()), 'SERVICE_UNAVAILABLE');
      expect(await store.stat(sha256)).toBeUndefined();
      expect(await listKeys(store)).toEqual([]);
    } finally {
      await viaProxy.close();
      await proxy.close();
    }
  });

  it('refuses to open when S3 cannot be reached', async () => {
    const closed = await startTcpProxy(new URL(inject('s3').endpoint));
    await closed.close();
    await expect(S3BlobStore.open(optionsFor(newBucket(), { endpoint: closed.endpoint, requestTimeoutMs: 2_000 }))).rejects.toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
    });
  });
});
