/**
 * The C2SP tlog-tiles read paths and entry bundles (https://c2sp.org/tlog-tiles), with no imports,
 * so the browser island (`ui/islands/verify-log.ts`) can read an entry from the log's tiles with
 * the same code the Node tests run. The server-side `tile-path.ts` and `tiles.ts` are the
 * authority (they also parse, and throw CustodyErrors); `test/log/portable-tiles.test.ts` checks
 * the two agree. Everything here returns an error value instead of throwing: its input comes
 * from a server the browser does not trust.
 */

/** Entries (and hashes) per full tile. */
export const PORTABLE_TILE_WIDTH = 256;

/** `N` as tlog-tiles spells it: 3-digit groups, all but the last prefixed by `x` (1234067 → `x001/x234/067`). */
export function portableTileIndex(index: bigint): string {
  const digits = index.toString();
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups: string[] = [];
  for (let i = 0; i < padded.length; i += 3) groups.push(padded.slice(i, i + 3));
  return groups.map((g, i) => (i === groups.length - 1 ? g : `x${g}`)).join('/');
}

/** Where entry `entryIndex` of a tree of `treeSize` entries is read from: its level-0 hash tile, its entry bundle, and its position in both. */
export interface EntryTiles {
  /** `tile/0/<N>[.p/<W>]`. */
  readonly hashTile: string;
  /** `tile/entries/<N>[.p/<W>]`. */
  readonly bundle: string;
  /** The entry's position in the bundle and in the tile. */
  readonly offset: number;
  /** How many entries (and hashes) the bundle and tile hold at this tree size. */
  readonly width: number;
}

/** The tiles holding entry `entryIndex` in a tree of `treeSize` entries, or an error when it is not in the tree. */
export function portableEntryTiles(entryIndex: bigint, treeSize: bigint): EntryTiles | { readonly error: string } {
  if (entryIndex < 0n || entryIndex >= treeSize) return { error: `entry ${entryIndex} is not in a tree of size ${treeSize}` };
  const width = BigInt(PORTABLE_TILE_WIDTH);
  const tile = entryIndex / width;
  const available = treeSize - tile * width;
  const partial = available < width ? `.p/${available}` : '';
  const n = portableTileIndex(tile);
  return { hashTile: `tile/0/${n}${partial}`, bundle: `tile/entries/${n}${partial}`, offset: Number(entryIndex % width), width: Number(available < width ? available : width) };
}

/** Splits entry bundle bytes (`uint16 big-endian length ‖ bytes`, repeated) into entries; a truncated record or too many is an error. */
export function portableSplitBundle(bytes: Uint8Array): Uint8Array[] | { readonly error: string } {
  const entries: Uint8Array[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (entries.length === PORTABLE_TILE_WIDTH) return { error: `the entry bundle holds more than ${PORTABLE_TILE_WIDTH} entries` };
    if (offset + 2 > bytes.length) return { error: `the entry bundle ends inside the length of entry ${entries.length}` };
    const length = ((bytes[offset] ?? 0) << 8) | (bytes[offset + 1] ?? 0);
    offset += 2;
    if (offset + length > bytes.length) return { error: `the entry bundle ends inside entry ${entries.length}` };
    entries.push(bytes.slice(offset, offset + length));
    offset += length;
  }
  return entries;
}
