/**
 * What a registry under test has in its blob store, read and changed behind its back, on either
 * blob store (`TEST_BLOBS`): a directory under `<dataDir>/blobs/` or a bucket of the run's Ceph.
 * Tests use it to play the insider who edits stored bytes, and to check that a refused or broken
 * upload left nothing behind (no temporary file or open multipart upload, no session storage).
 */
import { chmod, readdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import type { TestBlobs } from './registry.js';
import { listBucketKeys, listOpenMultipartUploads, testS3Client } from './s3-storage.js';

interface Stored {
  readonly dataDir: string;
  readonly blobs: TestBlobs;
}

function blobFile(storage: Stored, hex: string): string {
  return path.join(storage.dataDir, 'blobs', 'sha256', hex.slice(0, 2), hex);
}

async function withS3<T>(fn: (client: ReturnType<typeof testS3Client>) => Promise<T>): Promise<T> {
  const client = testS3Client();
  try {
    return await fn(client);
  } finally {
    client.destroy();
  }
}

/** Replaces the stored bytes of blob `hex` (an insider's edit: the address stays, the bytes change). */
export async function overwriteStoredBlob(storage: Stored, hex: string, bytes: Buffer): Promise<void> {
  const { blobs } = storage;
  if (blobs.kind === 'file') {
    const file = blobFile(storage, hex);
    await chmod(file, 0o600);
    await writeFile(file, bytes);
    return;
  }
  await withS3((client) => client.send(new PutObjectCommand({ Bucket: blobs.bucket, Key: `blobs/sha256/${hex}`, Body: bytes, ContentLength: bytes.length })));
}

/** Deletes the stored bytes of blob `hex`. */
export async function deleteStoredBlob(storage: Stored, hex: string): Promise<void> {
  const { blobs } = storage;
  if (blobs.kind === 'file') {
    await unlink(blobFile(storage, hex));
    return;
  }
  await withS3((client) => client.send(new DeleteObjectCommand({ Bucket: blobs.bucket, Key: `blobs/sha256/${hex}` })));
}

/** Blob writes in progress or left behind: temporary files, or open multipart uploads. */
export async function temporaryBlobWrites(storage: Stored): Promise<string[]> {
  const { blobs } = storage;
  if (blobs.kind === 'file') return readdir(path.join(storage.dataDir, 'blobs', 'tmp'));
  return withS3((client) => listOpenMultipartUploads(client, blobs.bucket));
}

/** The upload sessions that have anything stored. */
export async function storedUploadSessions(storage: Stored): Promise<string[]> {
  const { blobs } = storage;
  if (blobs.kind === 'file') return readdir(path.join(storage.dataDir, 'blobs', 'uploads'));
  const keys = await withS3((client) => listBucketKeys(client, blobs.bucket, 'uploads/'));
  return [...new Set(keys.map((key) => key.split('/')[1] ?? ''))];
}

/** Whether anything of upload session `sessionId` is still stored. */
export async function uploadSessionStored(storage: Stored, sessionId: string): Promise<boolean> {
  const { blobs } = storage;
  if (blobs.kind === 'file') return (await readdir(path.join(storage.dataDir, 'blobs', 'uploads'))).includes(sessionId);
  return withS3(async (client) => (await listBucketKeys(client, blobs.bucket, `uploads/${sessionId}/`)).length > 0);
}

/** The bytes stored for each upload session, as `{ path: sessionId, size }`, sorted by id. */
export async function storedSessionBytes(storage: Stored): Promise<{ path: string; size: number }[]> {
  const { blobs } = storage;
  if (blobs.kind === 'file') {
    const dir = path.join(storage.dataDir, 'blobs', 'uploads');
    const names = await readdir(dir).catch(() => []);
    const sized = await Promise.all(names.map(async (name) => ({ path: name, size: (await stat(path.join(dir, name))).size })));
    return sized.sort((a, b) => a.path.localeCompare(b.path));
  }
  const sizes = await withS3(async (client) => {
    const totals = new Map<string, number>();
    let token: string | undefined;
    do {
      const page = await client.send(new ListObjectsV2Command({ Bucket: blobs.bucket, Prefix: 'uploads/', ...(token === undefined ? {} : { ContinuationToken: token }) }));
      for (const item of page.Contents ?? []) {
        const [, session, name] = (item.Key ?? '').split('/');
        if (session === undefined || name === undefined) continue;
        totals.set(session, (totals.get(session) ?? 0) + (name.startsWith('part-') ? (item.Size ?? 0) : 0));
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return totals;
  });
  return [...sizes].map(([session, size]) => ({ path: session, size })).sort((a, b) => a.path.localeCompare(b.path));
}

/** The addresses (hex) of the blobs visible in the store. */
export async function visibleBlobs(storage: Stored): Promise<string[]> {
  const { blobs } = storage;
  if (blobs.kind === 's3') return (await withS3((client) => listBucketKeys(client, blobs.bucket, 'blobs/sha256/'))).map((key) => key.slice('blobs/sha256/'.length)).sort();
  const root = path.join(storage.dataDir, 'blobs', 'sha256');
  const shards = await readdir(root).catch(() => []);
  return (await Promise.all(shards.map((shard) => readdir(path.join(root, shard))))).flat().sort();
}
