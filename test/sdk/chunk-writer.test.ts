/**
 * The pull's file writer (`src/io/chunk-writer.ts`): the chunks it is given land in the file in
 * order at their offsets, the digest covers exactly those bytes, and a failing write surfaces.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ChunkWriter } from '../../src/io/chunk-writer.js';

describe('ChunkWriter', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'custody-chunk-writer-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes chunks of every size in order and hashes exactly them', async () => {
    // Sizes below, at and across the megabyte batch, as an HTTP response yields them.
    const sizes = [1, 65_536, 1024 * 1024 - 3, 7, 2 * 1024 * 1024 + 5, 0, 65_536, 333];
    const chunks = sizes.map((n) => randomBytes(n));
    const expected = Buffer.concat(chunks);
    const file = path.join(dir, 'out');
    const handle = await open(file, 'wx');
    const hash = createHash('sha256');
    const writer = new ChunkWriter(handle, hash);
    for (const chunk of chunks) await writer.push(chunk);
    await writer.flush();
    await handle.close();
    expect(writer.end).toBe(expected.length);
    expect((await readFile(file)).equals(expected)).toBe(true);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(expected).digest('hex'));
  });

  it('reports a write that fails', async () => {
    const file = path.join(dir, 'read-only');
    await writeFile(file, '');
    const handle = await open(file, 'r');
    const writer = new ChunkWriter(handle, createHash('sha256'));
    try {
      let failure: unknown;
      try {
        for (let i = 0; i < 3; i++) await writer.push(randomBytes(1024 * 1024));
        await writer.flush();
      } catch (error) {
        failure = error;
      }
      expect((failure as NodeJS.ErrnoException | undefined)?.code).toBe('EBADF');
    } finally {
      await handle.close();
    }
  });
});
