/**
 * Blob downloads larger than one send buffer (`src/io/send-file-slice.ts` on the directory
 * store, a stream on S3): every byte arrives in order for whole blobs and ranges that cross
 * buffer boundaries, an empty blob is an empty body, and a client that goes away mid-download
 * neither stalls the server nor leaves the blob file open.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';

const MiB = 1024 * 1024;
/** Five send buffers and a bit: several read/write turns and a short last one. */
const BIG = randomBytes(5 * MiB + 123);
const digestOf = (data: Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;
const BIG_DIGEST = digestOf(BIG);
const EMPTY_DIGEST = digestOf(Buffer.alloc(0));

/** Open file descriptors of this process whose target is a visible blob file of `hex`. */
async function openBlobFiles(hex: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.endsWith(`/${hex}`)) count++;
  }
  return count;
}

describe('blob downloads across send buffers', () => {
  let reg: TestRegistry;

  const get = async (digest: string, range?: string): Promise<{ status: number; headers: Headers; bytes: Buffer }> => {
    const res = await fetch(`${reg.url}/api/v1/blobs/${digest}`, { headers: { authorization: `Bearer ${reg.token}`, ...(range === undefined ? {} : { range }) } });
    return { status: res.status, headers: res.headers, bytes: Buffer.from(await res.arrayBuffer()) };
  };

  beforeAll(async () => {
    reg = await startTestRegistry('sqlite');
    for (const [digest, body] of [[BIG_DIGEST, BIG], [EMPTY_DIGEST, Buffer.alloc(0)]] as const) {
      const put = await fetch(`${reg.url}/api/v1/blobs/${digest}`, { method: 'PUT', headers: { authorization: `Bearer ${reg.token}`, 'content-type': 'application/octet-stream' }, body });
      expect(put.status).toBe(201);
    }
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('serves a multi-megabyte blob byte for byte', async () => {
    const reply = await get(BIG_DIGEST);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-length')).toBe(String(BIG.length));
    expect(reply.bytes.equals(BIG)).toBe(true);
  });

  it('serves a range that starts and ends inside different send buffers', async () => {
    const start = MiB - 7;
    const end = 3 * MiB + 11;
    const reply = await get(BIG_DIGEST, `bytes=${start}-${end}`);
    expect(reply.status).toBe(206);
    expect(reply.headers.get('content-range')).toBe(`bytes ${start}-${end}/${BIG.length}`);
    expect(reply.bytes.equals(BIG.subarray(start, end + 1))).toBe(true);
  });

  it('serves the tail of the blob from the middle of its last buffer', async () => {
    const reply = await get(BIG_DIGEST, `bytes=${5 * MiB + 100}-`);
    expect(reply.status).toBe(206);
    expect(reply.bytes.equals(BIG.subarray(5 * MiB + 100))).toBe(true);
  });

  it('serves an empty blob as an empty body', async () => {
    const reply = await get(EMPTY_DIGEST);
    expect(reply.status).toBe(200);
    expect(reply.headers.get('content-length')).toBe('0');
    expect(reply.bytes.length).toBe(0);
  });

  it('keeps serving, and closes the blob file, when a client goes away mid-download', async () => {
    const hex = BIG_DIGEST.slice('sha256:'.length);
    const url = new URL(`/api/v1/blobs/${BIG_DIGEST}`, reg.url);
    // Read one chunk, then cut the connection with most of the blob unsent.
    const received = await new Promise<number>((resolve, reject) => {
      const req = http.get(url, { headers: { authorization: `Bearer ${reg.token}` } }, (res) => {
        res.once('data', (chunk: Buffer) => {
          req.destroy();
          resolve(chunk.length);
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNRESET') reject(error);
      });
    });
    expect(received).toBeLessThan(BIG.length);
    // The server notices the closed socket, stops sending and closes its handle on the blob.
    if (reg.blobs.kind === 'file') {
      await expect.poll(() => openBlobFiles(hex), { timeout: 5000 }).toBe(0);
    }
    const again = await get(BIG_DIGEST);
    expect(again.bytes.equals(BIG)).toBe(true);
    if (reg.blobs.kind === 'file') expect(await openBlobFiles(hex)).toBe(0);
  });
});
