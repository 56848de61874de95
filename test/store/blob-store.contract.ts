/**
 * The behaviour every `BlobStore` must show (STYLE.md §2: one contract suite per seam, looped over
 * every implementation — the directory store now, S3 later). Each test performs the failure it
 * names (wrong digest, hostile endless stream, aborted client, …) against a real store and checks
 * that nothing partial or mislabelled becomes visible.
 *
 * Codes this suite fixes where the interface leaves a choice:
 * - a malformed digest is INVALID_DIGEST; a malformed upload session id is BAD_REQUEST;
 * - committing a session that is still short is UPLOAD_INCOMPLETE and keeps the session (more
 *   bytes can still complete it), while a session with too many bytes is SIZE_MISMATCH and is
 *   removed, like one with the wrong digest (its bytes can never become valid).
 */
import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMPTY_SHA256, sha256Hex } from '../../src/domain/digest.js';
import type { ErrorCode } from '../../src/domain/errors.js';
import type { BlobStore } from '../../src/store/blob-store.js';

export interface BlobStoreFixture {
  readonly store: BlobStore;
  /** Closes the store and removes everything it stored. */
  cleanup(): Promise<void>;
}

const MiB = 1024 * 1024;
const LIMIT = 64 * MiB;

export function blobStoreContract(name: string, open: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture | undefined;
    let store: BlobStore;

    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });

    afterEach(async () => {
      await fixture?.cleanup();
      fixture = undefined;
    });

    describe('put, stat and read', () => {
      it('stores bytes under their digest and reads them back', async () => {
        const data = randomBytes(300_000);
        const sha256 = sha256Hex(data);
        const info = await store.put(Readable.from(chunk(data, 65_536)), { sha256, size: data.length, maxBytes: LIMIT });
        expect(info).toEqual({ sha256, size: data.length });
        expect(await store.stat(sha256)).toEqual({ sha256, size: data.length });
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
      });

      it('reassembles chunks of irregular sizes across internal buffer boundaries', async () => {
        const data = randomBytes(3 * MiB + 12_345);
        const sha256 = sha256Hex(data);
        const parts = [1, 7, 100_000, 2 * MiB + 3, 1, 65_536];
        await store.put(Readable.from(split(data, parts)), { sha256, maxBytes: LIMIT });
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
      });

      it('reports every byte it accepts through onBytes', async () => {
        const data = randomBytes(200_000);
        let counted = 0;
        await store.put(Readable.from(chunk(data, 30_000)), {
          sha256: sha256Hex(data),
          maxBytes: LIMIT,
          onBytes: (count) => (counted += count),
        });
        expect(counted).toBe(data.length);
      });

      it('reports an unknown blob as absent and refuses to read it', async () => {
        const sha256 = sha256Hex('never stored');
        expect(await store.stat(sha256)).toBeUndefined();
        await expectCode(store.read(sha256), 'BLOB_NOT_FOUND');
      });

      it('stores and serves the empty blob', async () => {
        const info = await store.put(Readable.from([]), { sha256: EMPTY_SHA256, size: 0, maxBytes: LIMIT });
        expect(info).toEqual({ sha256: EMPTY_SHA256, size: 0 });
        expect(await store.stat(EMPTY_SHA256)).toEqual({ sha256: EMPTY_SHA256, size: 0 });
        expect((await readAll(await store.read(EMPTY_SHA256))).length).toBe(0);
        await expectCode(store.read(EMPTY_SHA256, { start: 0, end: 0 }), 'RANGE_NOT_SATISFIABLE');
      });

      it('keeps an existing blob on a second put and drains the source', async () => {
        const data = randomBytes(100_000);
        const sha256 = sha256Hex(data);
        await store.put(Readable.from([data]), { sha256, maxBytes: LIMIT });
        const again = Readable.from(chunk(data, 10_000));
        expect(await store.put(again, { sha256, size: data.length, maxBytes: LIMIT })).toEqual({ sha256, size: data.length });
        expect(again.readableEnded).toBe(true);
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
      });

      it('rejects other bytes claiming the digest of an existing blob and keeps the original', async () => {
        const data = randomBytes(50_000);
        const sha256 = sha256Hex(data);
        await store.put(Readable.from([data]), { sha256, maxBytes: LIMIT });
        await expectCode(store.put(Readable.from([randomBytes(50_000)]), { sha256, maxBytes: LIMIT }), 'DIGEST_MISMATCH');
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
      });

      it('accepts concurrent puts of the same blob', async () => {
        const data = randomBytes(2 * MiB);
        const sha256 = sha256Hex(data);
        const puts = [1, 2, 3].map(() => store.put(Readable.from(chunk(data, 65_536)), { sha256, maxBytes: LIMIT }));
        expect(await Promise.all(puts)).toEqual([1, 2, 3].map(() => ({ sha256, size: data.length })));
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
      });
    });

    describe('range reads', () => {
      const data = randomBytes(1000);
      const sha256 = sha256Hex(data);

      beforeEach(async () => {
        await store.put(Readable.from([data]), { sha256, maxBytes: LIMIT });
      });

      it.each([
        ['the first byte', 0, 0, 0, 1],
        ['a middle slice', 10, 19, 10, 20],
        ['the last byte', 999, 999, 999, 1000],
        ['the whole blob', 0, 999, 0, 1000],
        ['a range whose end is past the size, clamped', 990, 5000, 990, 1000],
      ])('serves %s', async (_label, start, end, from, to) => {
        expect(fingerprint(await readAll(await store.read(sha256, { start, end })))).toEqual(fingerprint(data.subarray(from, to)));
      });

      it.each([
        ['starts at the size', 1000, 1000],
        ['starts past the size', 5000, 6000],
        ['ends before it starts', 5, 4],
      ])('refuses a range that %s', async (_label, start, end) => {
        await expectCode(store.read(sha256, { start, end }), 'RANGE_NOT_SATISFIABLE');
      });
    });

    describe('hostile or failed puts leave nothing visible', () => {
      it('rejects bytes that do not hash to the expected digest', async () => {
        const data = randomBytes(100_000);
        const claimed = sha256Hex('something else');
        await expectCode(store.put(Readable.from([data]), { sha256: claimed, maxBytes: LIMIT }), 'DIGEST_MISMATCH');
        expect(await store.stat(claimed)).toBeUndefined();
        expect(await store.stat(sha256Hex(data))).toBeUndefined();
      });

      it.each([
        ['more bytes than declared', 99_999],
        ['fewer bytes than declared', 100_001],
      ])('rejects %s', async (_label, size) => {
        const data = randomBytes(100_000);
        const sha256 = sha256Hex(data);
        await expectCode(store.put(Readable.from(chunk(data, 10_000)), { sha256, size, maxBytes: LIMIT }), 'SIZE_MISMATCH');
        expect(await store.stat(sha256)).toBeUndefined();
      });

      it('stops reading an endless stream as soon as it passes maxBytes', async () => {
        const endless = endlessSource();
        const sha256 = sha256Hex('whatever');
        await expectCode(store.put(endless.source, { sha256, maxBytes: 4 * MiB }), 'FILE_TOO_LARGE');
        expect(endless.source.destroyed).toBe(true);
        expect(endless.produced()).toBeLessThan(64);
        const produced = endless.produced();
        await new Promise((resolve) => setTimeout(resolve, 50));
        expect(endless.produced()).toBe(produced);
        expect(await store.stat(sha256)).toBeUndefined();
      });

      it('stops reading an endless stream as soon as it passes the declared size', async () => {
        const endless = endlessSource();
        const sha256 = sha256Hex('whatever');
        await expectCode(store.put(endless.source, { sha256, size: 3 * MiB, maxBytes: LIMIT }), 'SIZE_MISMATCH');
        expect(endless.source.destroyed).toBe(true);
        expect(endless.produced()).toBeLessThan(64);
      });

      it('refuses a declared size above maxBytes', async () => {
        const endless = endlessSource();
        await expectCode(
          store.put(endless.source, { sha256: sha256Hex('x'), size: 2 * MiB, maxBytes: MiB }),
          'FILE_TOO_LARGE',
        );
        expect(endless.produced()).toBeLessThan(64);
      });

      it('reports a source that errors midway as CLIENT_ABORTED', async () => {
        const data = randomBytes(3 * MiB);
        const sha256 = sha256Hex(data);
        const source = new PassThrough();
        source.write(data.subarray(0, MiB));
        let seen = 0;
        const put = store.put(source, {
          sha256,
          size: data.length,
          maxBytes: LIMIT,
          onBytes: (count) => {
            seen += count;
            if (seen >= MiB) source.destroy(new Error('connection reset by peer'));
          },
        });
        await expectCode(put, 'CLIENT_ABORTED');
        expect(await store.stat(sha256)).toBeUndefined();
      });
    });

    describe('resumable upload sessions', () => {
      const data = randomBytes(2 * MiB + 777);
      const sha256 = sha256Hex(data);
      const totalSize = data.length;

      it('assembles a blob from several appends at the right offsets', async () => {
        const id = sessionId();
        await store.createUpload(id);
        expect(await store.uploadOffset(id)).toBe(0);
        const cuts = [0, 1, 700_000, MiB + 5, totalSize];
        for (let i = 0; i + 1 < cuts.length; i += 1) {
          const [from, to] = [cuts[i] ?? 0, cuts[i + 1] ?? 0];
          const offset = await store.appendUpload(id, Readable.from(chunk(data.subarray(from, to), 65_536)), {
            offset: from,
            totalSize,
          });
          expect(offset).toBe(to);
          expect(await store.uploadOffset(id)).toBe(to);
        }
        expect(await store.commitUpload(id, { sha256, size: totalSize })).toEqual({ sha256, size: totalSize });
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
        await expectCode(store.uploadOffset(id), 'UPLOAD_NOT_FOUND');
      });

      it('commits an empty session as the empty blob', async () => {
        const id = sessionId();
        await store.createUpload(id);
        expect(await store.commitUpload(id, { sha256: EMPTY_SHA256, size: 0 })).toEqual({ sha256: EMPTY_SHA256, size: 0 });
        expect(await store.stat(EMPTY_SHA256)).toEqual({ sha256: EMPTY_SHA256, size: 0 });
      });

      it('refuses an append at the wrong offset and names the expected one', async () => {
        const id = sessionId();
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([data.subarray(0, 1000)]), { offset: 0, totalSize });
        for (const offset of [0, 999, 1001]) {
          await expect(
            store.appendUpload(id, Readable.from([data.subarray(1000, 2000)]), { offset, totalSize }),
          ).rejects.toMatchObject({ code: 'UPLOAD_OFFSET_MISMATCH', details: { expected: 1000 } });
        }
        expect(await store.uploadOffset(id)).toBe(1000);
      });

      it('refuses to append past the declared total size and keeps what fit', async () => {
        const id = sessionId();
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([data.subarray(0, 1000)]), { offset: 0, totalSize: 1500 });
        await expectCode(
          store.appendUpload(id, Readable.from([data.subarray(1000, 2000)]), { offset: 1000, totalSize: 1500 }),
          'SIZE_MISMATCH',
        );
        expect(await store.uploadOffset(id)).toBe(1000);
      });

      it('keeps the acknowledged prefix of an aborted append so that the push can resume', async () => {
        const id = sessionId();
        await store.createUpload(id);
        const source = new PassThrough();
        source.write(data.subarray(0, MiB + 100));
        let seen = 0;
        const append = store.appendUpload(id, source, {
          offset: 0,
          totalSize,
          onBytes: (count) => {
            seen += count;
            if (seen >= MiB + 100) source.destroy(new Error('connection reset by peer'));
          },
        });
        await expectCode(append, 'CLIENT_ABORTED');
        const offset = await store.uploadOffset(id);
        expect(offset).toBeLessThanOrEqual(MiB + 100);
        await store.appendUpload(id, Readable.from(chunk(data.subarray(offset), 65_536)), { offset, totalSize });
        expect(await store.commitUpload(id, { sha256, size: totalSize })).toEqual({ sha256, size: totalSize });
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
      });

      it('refuses a second append to a session while one is in progress', async () => {
        const id = sessionId();
        await store.createUpload(id);
        const source = new PassThrough();
        let accepted!: () => void;
        const started = new Promise<void>((resolve) => (accepted = resolve));
        const first = store.appendUpload(id, source, { offset: 0, totalSize, onBytes: () => {
          accepted();
        } });
        source.write(data.subarray(0, 1000));
        await started;
        await expectCode(store.appendUpload(id, Readable.from([data.subarray(0, 1000)]), { offset: 0, totalSize }), 'CONFLICT');
        source.end(data.subarray(1000, 2000));
        expect(await first).toBe(2000);
        expect(await store.uploadOffset(id)).toBe(2000);
      });

      it('leaves the source to the caller when it refuses an append before reading', async () => {
        const id = sessionId();
        await store.createUpload(id);
        for (const [label, session, offset] of [
          ['wrong offset', id, 5],
          ['unknown session', sessionId(), 0],
        ] as const) {
          const source = new PassThrough();
          source.end(data.subarray(0, 10));
          await expect(store.appendUpload(session, source, { offset, totalSize }), label).rejects.toThrow();
          expect(source.destroyed, label).toBe(false);
          expect(fingerprint(await readAll(source))).toEqual(fingerprint(data.subarray(0, 10)));
        }
      });

      it('removes the session and shows nothing when the committed bytes have the wrong digest', async () => {
        const id = sessionId();
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([data]), { offset: 0, totalSize });
        const claimed = sha256Hex('not these bytes');
        await expectCode(store.commitUpload(id, { sha256: claimed, size: totalSize }), 'DIGEST_MISMATCH');
        await expectCode(store.uploadOffset(id), 'UPLOAD_NOT_FOUND');
        expect(await store.stat(claimed)).toBeUndefined();
        expect(await store.stat(sha256)).toBeUndefined();
      });

      it('removes the session when it holds more bytes than the commit expects', async () => {
        const id = sessionId();
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([data]), { offset: 0, totalSize });
        const shorter = data.subarray(0, 1000);
        await expectCode(store.commitUpload(id, { sha256: sha256Hex(shorter), size: 1000 }), 'SIZE_MISMATCH');
        await expectCode(store.uploadOffset(id), 'UPLOAD_NOT_FOUND');
        expect(await store.stat(sha256Hex(shorter))).toBeUndefined();
      });

      it('refuses to commit an incomplete session but keeps it for the rest of the bytes', async () => {
        const id = sessionId();
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([data.subarray(0, 1000)]), { offset: 0, totalSize });
        await expectCode(store.commitUpload(id, { sha256, size: totalSize }), 'UPLOAD_INCOMPLETE');
        expect(await store.stat(sha256)).toBeUndefined();
        expect(await store.uploadOffset(id)).toBe(1000);
        await store.appendUpload(id, Readable.from([data.subarray(1000)]), { offset: 1000, totalSize });
        expect(await store.commitUpload(id, { sha256, size: totalSize })).toEqual({ sha256, size: totalSize });
      });

      it('commits a session whose blob already exists and removes the session', async () => {
        await store.put(Readable.from([data]), { sha256, maxBytes: LIMIT });
        const id = sessionId();
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([data]), { offset: 0, totalSize });
        expect(await store.commitUpload(id, { sha256, size: totalSize })).toEqual({ sha256, size: totalSize });
        await expectCode(store.uploadOffset(id), 'UPLOAD_NOT_FOUND');
        expect(fingerprint(await readAll(await store.read(sha256)))).toEqual(fingerprint(data));
      });

      it('aborts a session, idempotently', async () => {
        const id = sessionId();
        await store.createUpload(id);
        await store.appendUpload(id, Readable.from([data.subarray(0, 1000)]), { offset: 0, totalSize });
        await store.abortUpload(id);
        await store.abortUpload(id);
        await expectCode(store.uploadOffset(id), 'UPLOAD_NOT_FOUND');
        await expectCode(store.appendUpload(id, Readable.from([data]), { offset: 0, totalSize }), 'UPLOAD_NOT_FOUND');
        await expectCode(store.commitUpload(id, { sha256, size: totalSize }), 'UPLOAD_NOT_FOUND');
      });

      it('refuses to create a session that already exists', async () => {
        const id = sessionId();
        await store.createUpload(id);
        await expectCode(store.createUpload(id), 'CONFLICT');
      });

      it('reports unknown sessions as UPLOAD_NOT_FOUND', async () => {
        await expectCode(store.uploadOffset(sessionId()), 'UPLOAD_NOT_FOUND');
      });
    });

    describe('hostile names', () => {
      const valid = sha256Hex('valid');
      const badDigests = ['', '../x', `../${valid.slice(3)}`, valid.toUpperCase(), `sha256:${valid}`, valid.slice(1), `${valid}\n`];
      const badSessions = ['', '../x', '../../../../../../etc/passwd', 'short', 'a'.repeat(65), 'abcdefgh/ijklmnop', 'abcdefghijklmnop\0', 'abcdefghijklmnop.'];

      it.each(badDigests)('rejects the digest %j everywhere', async (bad) => {
        await expectCode(store.stat(bad), 'INVALID_DIGEST');
        await expectCode(store.read(bad), 'INVALID_DIGEST');
        await expectCode(store.put(Readable.from([Buffer.from('x')]), { sha256: bad, maxBytes: LIMIT }), 'INVALID_DIGEST');
        const id = sessionId();
        await store.createUpload(id);
        await expectCode(store.commitUpload(id, { sha256: bad, size: 0 }), 'INVALID_DIGEST');
      });

      it.each(badSessions)('rejects the session id %j everywhere', async (bad) => {
        const options = { offset: 0, totalSize: 1 };
        await expectCode(store.createUpload(bad), 'BAD_REQUEST');
        await expectCode(store.uploadOffset(bad), 'BAD_REQUEST');
        await expectCode(store.appendUpload(bad, Readable.from([Buffer.from('x')]), options), 'BAD_REQUEST');
        await expectCode(store.commitUpload(bad, { sha256: EMPTY_SHA256, size: 0 }), 'BAD_REQUEST');
        await expectCode(store.abortUpload(bad), 'BAD_REQUEST');
      });
    });
  });
}

/** A fresh, valid upload session id. */
export function sessionId(): string {
  return randomBytes(18).toString('base64url');
}

export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<void> {
  await expect(promise).rejects.toMatchObject({ code });
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of stream as AsyncIterable<Buffer>) parts.push(part);
  return Buffer.concat(parts);
}

/** Size and digest of some bytes: compared instead of the bytes, which vitest diffs slowly. */
export function fingerprint(data: Uint8Array): { readonly size: number; readonly sha256: string } {
  return { size: data.length, sha256: sha256Hex(data) };
}

/** Splits `data` into chunks of `size` bytes. */
export function chunk(data: Buffer, size: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += size) parts.push(data.subarray(offset, offset + size));
  return parts;
}

/** Splits `data` into chunks of the given sizes, repeated until it is used up. */
function split(data: Buffer, sizes: readonly number[]): Buffer[] {
  const parts: Buffer[] = [];
  let offset = 0;
  for (let i = 0; offset < data.length; i += 1) {
    const size = sizes[i % sizes.length] ?? 1;
    parts.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return parts;
}

/** A stream of 1 MiB chunks that never ends, counting how many chunks it produced. */
function endlessSource(): { readonly source: Readable; produced(): number } {
  let produced = 0;
  const block = Buffer.alloc(MiB, 7);
  function* forever(): Generator<Buffer> {
    for (;;) {
      produced += 1;
      yield Buffer.from(block);
    }
  }
  return { source: Readable.from(forever()), produced: () => produced };
}
