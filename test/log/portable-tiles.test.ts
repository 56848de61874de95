/**
 * The browser's tile reader (`src/log/portable-tiles.ts`) agrees with the server's tile paths and
 * entry bundles (`tile-path.ts`, `tiles.ts`, https://c2sp.org/tlog-tiles), and refuses a
 * malformed bundle with an error value instead of throwing.
 */
import { describe, expect, it } from 'vitest';
import { entriesPathForEntry, tilePath } from '../../src/log/tile-path.js';
import { encodeEntryBundle, TILE_WIDTH } from '../../src/log/tiles.js';
import { portableEntryTiles, portableSplitBundle, portableTileIndex, PORTABLE_TILE_WIDTH } from '../../src/log/portable-tiles.js';

describe('portable tlog-tiles reading', () => {
  it('spells every tile index and entry position as the server does', () => {
    expect(PORTABLE_TILE_WIDTH).toBe(TILE_WIDTH);
    for (const index of [0n, 1n, 999n, 1000n, 1234067n, 10n ** 17n + 5n, 10n ** 18n - 1n]) expect(`tile/0/${portableTileIndex(index)}`).toBe(tilePath(0, index));
    for (const [entry, size] of [[0n, 1n], [5n, 6n], [255n, 256n], [255n, 300n], [256n, 257n], [1000n, 1024n], [70_000n, 70_001n], [123_456_789n, 123_456_790n]] as const) {
      const tiles = portableEntryTiles(entry, size);
      if ('error' in tiles) throw new Error(tiles.error);
      expect(tiles.bundle).toBe(entriesPathForEntry(entry, size));
      const tileIndex = entry / 256n;
      const available = size - tileIndex * 256n;
      expect(tiles.hashTile).toBe(tilePath(0, tileIndex, available >= 256n ? undefined : Number(available)));
      expect(tiles.offset).toBe(Number(entry % 256n));
      expect(tiles.width).toBe(Number(available >= 256n ? 256n : available));
    }
    expect(portableEntryTiles(5n, 5n)).toEqual({ error: 'entry 5 is not in a tree of size 5' });
  });

  it('splits the bundles the server encodes, and returns an error for a truncated or overfull one', () => {
    const entries = [Buffer.from(''), Buffer.from('{"type":"x"}'), Buffer.alloc(300, 7), Buffer.from('é')];
    const bundle = encodeEntryBundle(entries);
    const split = portableSplitBundle(new Uint8Array(bundle));
    if ('error' in split) throw new Error(split.error);
    expect(split.map((e) => Buffer.from(e).toString('hex'))).toEqual(entries.map((e) => e.toString('hex')));
    expect(portableSplitBundle(new Uint8Array(bundle.subarray(0, bundle.length - 1)))).toEqual({ error: 'the entry bundle ends inside entry 3' });
    expect(portableSplitBundle(new Uint8Array([0]))).toEqual({ error: 'the entry bundle ends inside the length of entry 0' });
    expect(portableSplitBundle(new Uint8Array(257 * 2))).toEqual({ error: 'the entry bundle holds more than 256 entries' });
  });
});
