/**
 * The tlog-tiles read API bytes and paths (src/log/tiles.ts, src/log/tile-path.ts): tiles built
 * from stored hashes, stored hashes recomputed from tiles (so a tile client gets the same roots
 * and proofs), entry bundles, and canonical path encoding. The published vectors, including the
 * 70,000-entry worked example, are in test/interop/tlog-merkle.interop.test.ts.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { hashLeaf, rootOf } from '../../src/log/merkle.js';
import { consistencyProof, inclusionProof, newStoredHashes, treeRoot, type StoredHashReader } from '../../src/log/stored-hashes.js';
import { entriesPath, entriesPathForEntry, parseTilePath, tilePath } from '../../src/log/tile-path.js';
import {
  decodeEntryBundle,
  encodeEntryBundle,
  MAX_ENTRY_SIZE,
  tileHashes,
  tileHashReader,
  tileWidthAt,
  type Tile,
} from '../../src/log/tiles.js';

// Large enough for full and partial tiles at level 0 and a partial tile at level 1 (256 leaves each).
const SIZE = 256 * 3 + 40;
const leafHashes = Array.from({ length: SIZE }, (_, i) => hashLeaf(Buffer.from(`record ${i}`)));
const table = new Map<number, Buffer>();
const read: StoredHashReader = (ids) =>
  Promise.resolve(
    ids.map((id) => {
      const hash = table.get(id);
      if (hash === undefined) throw new Error(`stored hash ${id} is missing`);
      return hash;
    }),
  );

beforeAll(async () => {
  for (let i = 0; i < SIZE; i++) for (const { id, hash } of await newStoredHashes(i, leafHashes[i] as Buffer, read)) table.set(id, hash);
});

/** Every tile a tile client would fetch for a tree of `size` leaves (full and partial). */
async function tilesOf(size: number): Promise<Tile[]> {
  const tiles: Tile[] = [];
  for (let level = 0; tileWidthAt(level, 0, size) > 0; level++) {
    for (let index = 0; tileWidthAt(level, index, size) > 0; index++) {
      tiles.push({ level, index, hashes: await tileHashes(level, index, tileWidthAt(level, index, size), read) });
    }
  }
  return tiles;
}

describe('hash tiles', () => {
  it('a level-0 tile is the leaf hashes; a level-1 tile is the roots of 256-leaf blocks', async () => {
    expect((await tileHashes(0, 0, 256, read)).equals(Buffer.concat(leafHashes.slice(0, 256)))).toBe(true);
    expect((await tileHashes(0, 3, 40, read)).equals(Buffer.concat(leafHashes.slice(768, 808)))).toBe(true);
    const level1 = await tileHashes(1, 0, 3, read);
    expect(level1).toHaveLength(96);
    for (let i = 0; i < 3; i++) expect(level1.subarray(i * 32, (i + 1) * 32).equals(rootOf(leafHashes.slice(i * 256, (i + 1) * 256)))).toBe(true);
  });

  it('reads a tile with one batched read', async () => {
    const calls: number[] = [];
    await tileHashes(0, 1, 256, (ids) => {
      calls.push(ids.length);
      return read(ids);
    });
    expect(calls).toEqual([256]);
  });

  it('tileWidthAt gives the C2SP worked example for size 70,000', () => {
    const size = 70_000;
    expect([tileWidthAt(0, 272, size), tileWidthAt(0, 273, size), tileWidthAt(0, 274, size)]).toEqual([256, 112, 0]);
    expect([tileWidthAt(1, 0, size), tileWidthAt(1, 1, size), tileWidthAt(1, 2, size)]).toEqual([256, 17, 0]);
    expect([tileWidthAt(2, 0, size), tileWidthAt(3, 0, size), tileWidthAt(63, 0, size)]).toEqual([1, 0, 0]);
  });

  it('rejects widths outside 1..256 and a wrong answer from storage', async () => {
    await expect(tileHashes(0, 0, 0, read)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(tileHashes(0, 0, 257, read)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(tileHashes(-1, 0, 1, read)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(tileHashes(0, 0, 2, () => Promise.resolve([Buffer.alloc(32)]))).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});

describe('tileHashReader: roots and proofs from tiles alone', () => {
  it('the partial tiles of every size 1..808 give the same root as the stored hashes', async () => {
    const all = await tilesOf(SIZE);
    for (let size = 1; size <= SIZE; size++) {
      // the right edge of the tree: the last (possibly partial) tile at each level, cut to `size`
      const edge = all.flatMap((tile) => {
        const width = tileWidthAt(tile.level, tile.index, size);
        const isLast = width > 0 && tileWidthAt(tile.level, tile.index + 1, size) === 0;
        return isLast ? [{ ...tile, hashes: tile.hashes.subarray(0, width * 32) }] : [];
      });
      expect((await treeRoot(size, tileHashReader(edge))).equals(await treeRoot(size, read)), `size ${size}`).toBe(true);
    }
  });

  it('the tiles of a tree give every inclusion and consistency proof the stored hashes give', async () => {
    const fromTiles = tileHashReader(await tilesOf(SIZE));
    for (const index of [0, 1, 255, 256, 511, 700, SIZE - 1]) {
      expect(await inclusionProof(index, SIZE, fromTiles)).toEqual(await inclusionProof(index, SIZE, read));
    }
    for (const size1 of [1, 2, 255, 256, 257, 512, 777, SIZE]) {
      expect(await consistencyProof(size1, SIZE, fromTiles)).toEqual(await consistencyProof(size1, SIZE, read));
    }
  });

  it('says NOT_FOUND for a hash no tile covers, and refuses malformed tiles', async () => {
    const onlyFirst = tileHashReader([{ level: 0, index: 0, hashes: await tileHashes(0, 0, 16, read) }]);
    await expect(treeRoot(16, onlyFirst)).resolves.toEqual(rootOf(leafHashes.slice(0, 16)));
    await expect(treeRoot(17, onlyFirst)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(treeRoot(300, onlyFirst)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(() => tileHashReader([{ level: 0, index: 0, hashes: Buffer.alloc(33) }])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => tileHashReader([{ level: 0, index: 0, hashes: Buffer.alloc(0) }])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => tileHashReader([{ level: 0, index: 0, hashes: Buffer.alloc(257 * 32) }])).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});

describe('entry bundles', () => {
  it('round-trips entries of every size from 0 to 65,535 bytes', () => {
    const entries = [Buffer.alloc(0), Buffer.from('{"v":1}'), Buffer.alloc(300, 7), Buffer.alloc(MAX_ENTRY_SIZE, 1)];
    const bytes = encodeEntryBundle(entries);
    expect(bytes.subarray(0, 2).toString('hex')).toBe('0000');
    expect(bytes.subarray(2, 4).toString('hex')).toBe('0007');
    expect(bytes.length).toBe(entries.reduce((sum, e) => sum + 2 + e.length, 0));
    const decoded = decodeEntryBundle(bytes);
    expect(decoded.map((entry) => entry.length)).toEqual(entries.map((entry) => entry.length));
    decoded.forEach((entry, i) => {
      expect(entry.equals(entries[i] as Buffer)).toBe(true);
    });
    expect(decodeEntryBundle(new Uint8Array(0))).toEqual([]);
  });

  it('refuses an entry over 65,535 bytes and more than 256 entries', () => {
    expect(() => encodeEntryBundle([Buffer.alloc(MAX_ENTRY_SIZE + 1)])).toThrow(/at most 65535/);
    expect(() => encodeEntryBundle(Array.from({ length: 257 }, () => Buffer.alloc(0)))).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => decodeEntryBundle(Buffer.alloc(257 * 2))).toThrow(expect.objectContaining({ code: 'VERIFICATION_FAILED' }));
  });

  it('rejects a bundle cut anywhere inside a record', () => {
    const bytes = encodeEntryBundle([Buffer.from('first'), Buffer.from('second entry')]);
    const boundaries = new Set([0, 7, bytes.length]);
    for (let cut = 1; cut < bytes.length; cut++) {
      if (boundaries.has(cut)) continue;
      expect(() => decodeEntryBundle(bytes.subarray(0, cut)), `cut at ${cut}`).toThrow(expect.objectContaining({ code: 'VERIFICATION_FAILED' }));
    }
    expect(decodeEntryBundle(bytes.subarray(0, 7)).map(String)).toEqual(['first']);
  });
});

describe('tile paths', () => {
  it('round-trips levels 0..63, indexes up to 18 digits and every width', () => {
    const indexes = [0n, 1n, 999n, 1000n, 1234067n, 2n ** 53n + 1n, 10n ** 18n - 1n];
    for (const level of [0, 1, 9, 10, 63]) {
      for (const index of indexes) {
        for (const width of [1, 17, 255, 256]) {
          const path = tilePath(level, index, width);
          expect(parseTilePath(path)).toEqual({ kind: 'hashes', level, index, width });
        }
      }
    }
    for (const index of indexes) expect(parseTilePath(entriesPath(index, 5))).toEqual({ kind: 'entries', index, width: 5 });
    expect(tilePath(2, 1234067)).toBe('tile/2/x001/x234/067');
    expect(tilePath(2, 1234067, 256)).toBe('tile/2/x001/x234/067');
    expect(parseTilePath('tile/entries/x001/000')).toEqual({ kind: 'entries', index: 1000n, width: 256 });
  });

  it('accepts only the canonical spelling of a path', () => {
    for (const path of [
      'tile/00/000', // leading zero in the level
      'tile/01/000',
      'tile/0/x000/001', // leading zero group
      'tile/0/000.p/0',
      'tile/0/000.p/007', // leading zero in the width
      'tile/0/000.p/256', // a full tile has no .p/
      'tile/entries/000.p/256',
      'tile/0/00',
      'tile/0/0001',
      '/tile/0/000',
      'tile/0/000/',
      'tile/0/000.p/1/',
      'tile/entries',
      'tile/data/000',
      'tile/8/0/000', // Go sumdb's older layout
      'tile/0/X001/000',
      'tile/0/x001/x002/x003/x004/x005/x006/007',
    ]) {
      expect(() => parseTilePath(path), path).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });

  it('refuses to encode what cannot be parsed back', () => {
    for (const call of [
      () => tilePath(64, 0),
      () => tilePath(-1, 0),
      () => tilePath(0, -1),
      () => tilePath(0, 10n ** 18n),
      () => tilePath(0, 0, 0),
      () => tilePath(0, 0, 257),
      () => tilePath(0, 0.5),
      () => entriesPath(0, 1.5),
      () => entriesPathForEntry(5, 5),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });

  it('finds the bundle of an entry: full once 256 entries exist, else partial', () => {
    expect(entriesPathForEntry(0, 1)).toBe('tile/entries/000.p/1');
    expect(entriesPathForEntry(255, 256)).toBe('tile/entries/000');
    expect(entriesPathForEntry(69_999, 70_000)).toBe('tile/entries/273.p/112');
    expect(entriesPathForEntry(2n ** 62n, 2n ** 63n)).toBe(`tile/entries/${tilePath(0, 2n ** 54n).slice('tile/0/'.length)}`);
  });
});
