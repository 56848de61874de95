/**
 * The bytes of the C2SP tlog-tiles read API: hash tiles built from (and read back into) stored
 * hashes, and entry bundles. https://c2sp.org/tlog-tiles
 *
 * A tile has height 8: hash i of tile N at tile level L is the stored hash at tree level 8·L,
 * index N·256 + i (the root of 256^L consecutive leaves). A full tile is 256 hashes = 8,192
 * bytes; a partial tile of width W is its first W hashes. An entry bundle is the concatenation
 * of `uint16 big-endian length ‖ entry` records, which caps an entry at 65,535 bytes.
 */
import { CustodyError } from '../domain/errors.js';
import { HASH_SIZE, hashChildren } from './merkle.js';
import { splitStoredHashIndex, storedHashIndex, type StoredHashReader } from './stored-hashes.js';

/** Tree levels covered by one tile. */
export const TILE_HEIGHT = 8;

/** Hashes in a full tile, and entries in a full bundle (2^TILE_HEIGHT). */
export const TILE_WIDTH = 256;

/** Largest entry an entry bundle can carry (its length prefix is a uint16). */
export const MAX_ENTRY_SIZE = 0xffff;

/** The hashes of one tile as served: `hashes` is `width` × 32 bytes. */
export interface Tile {
  readonly level: number;
  readonly index: number;
  readonly hashes: Uint8Array;
}

/** Bytes of tile (`level`, `index`) of width 1–256, read from stored hashes in one batch. */
export async function tileHashes(level: number, index: number, width: number, read: StoredHashReader): Promise<Buffer> {
  checkTileCoordinates(level, index, width);
  const ids = Array.from({ length: width }, (_, i) => storedHashIndex(level * TILE_HEIGHT, index * TILE_WIDTH + i));
  const hashes = await read(ids);
  if (!Array.isArray(hashes) || hashes.length !== width || hashes.some((hash) => hash.length !== HASH_SIZE)) {
    throw new CustodyError('INTERNAL', `stored hash reader returned a malformed answer for tile ${level}/${index}`);
  }
  return Buffer.concat(hashes, width * HASH_SIZE);
}

/**
 * How many hashes of tile (`level`, `index`) exist in a tree of `treeSize` leaves: 256 for a
 * full tile, 1–255 for the partial tile at the right edge, 0 when the tile does not exist yet.
 * At level 0 the same number is the width of entry bundle `index`.
 */
export function tileWidthAt(level: number, index: number, treeSize: number): number {
  checkTileCoordinates(level, index, TILE_WIDTH);
  if (!Number.isSafeInteger(treeSize) || treeSize < 0) throw new CustodyError('BAD_REQUEST', `invalid tree size ${treeSize}`);
  const hashesAtLevel = Math.floor(treeSize / TILE_WIDTH ** level);
  return Math.min(TILE_WIDTH, Math.max(0, hashesAtLevel - index * TILE_WIDTH));
}

/**
 * A stored-hash reader backed only by tiles, as a tile client has them: any stored hash whose
 * subtree lies inside the given tiles is recomputed from the tile's hashes. With the partial
 * tiles of a tree size it yields `treeRoot` for that size, and with the right full tiles any
 * proof. Throws NOT_FOUND for a hash the tiles do not cover.
 */
export function tileHashReader(tiles: readonly Tile[]): StoredHashReader {
  const byCoordinates = new Map<string, Uint8Array>();
  for (const tile of tiles) {
    const width = tile.hashes.length / HASH_SIZE;
    if (!Number.isInteger(width) || width < 1 || width > TILE_WIDTH) {
      throw new CustodyError('BAD_REQUEST', `tile ${tile.level}/${tile.index} is ${tile.hashes.length} bytes, not 1 to 256 hashes`);
    }
    checkTileCoordinates(tile.level, tile.index, width);
    byCoordinates.set(`${tile.level}/${tile.index}`, tile.hashes);
  }
  const hashAt = (id: number): Buffer => {
    const { level, index } = splitStoredHashIndex(id);
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const span = 2 ** (level % TILE_HEIGHT); // tile hashes under this node
    const first = index * span;
    const tile = byCoordinates.get(`${tileLevel}/${Math.floor(first / TILE_WIDTH)}`);
    const offset = (first % TILE_WIDTH) * HASH_SIZE;
    if (tile === undefined || tile.length < offset + span * HASH_SIZE) {
      throw new CustodyError('NOT_FOUND', `no tile covers stored hash (${level}, ${index})`);
    }
    let layer: Buffer[] = [];
    for (let i = 0; i < span; i++) layer.push(Buffer.from(tile.subarray(offset + i * HASH_SIZE, offset + (i + 1) * HASH_SIZE)));
    while (layer.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < layer.length; i += 2) next.push(hashChildren(layer[i] as Buffer, layer[i + 1] as Buffer));
      layer = next;
    }
    return layer[0] as Buffer;
  };
  return (ids) => Promise.resolve(ids.map(hashAt));
}

/** Entry bundle bytes: each entry as `uint16 big-endian length ‖ bytes`. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  if (entries.length > TILE_WIDTH) throw new CustodyError('BAD_REQUEST', `an entry bundle holds at most ${TILE_WIDTH} entries`);
  const parts: Uint8Array[] = [];
  entries.forEach((entry, i) => {
    if (entry.length > MAX_ENTRY_SIZE) {
      throw new CustodyError('BAD_REQUEST', `entry ${i} is ${entry.length} bytes; an entry bundle carries at most ${MAX_ENTRY_SIZE}`);
    }
    const prefix = Buffer.alloc(2);
    prefix.writeUInt16BE(entry.length);
    parts.push(prefix, entry);
  });
  return Buffer.concat(parts);
}

/** Splits entry bundle bytes back into entries; a truncated record or more than 256 is an error. */
export function decodeEntryBundle(bytes: Uint8Array): Buffer[] {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const entries: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (entries.length === TILE_WIDTH) throw new CustodyError('VERIFICATION_FAILED', `entry bundle holds more than ${TILE_WIDTH} entries`);
    if (offset + 2 > data.length) throw new CustodyError('VERIFICATION_FAILED', `entry bundle ends inside the length of entry ${entries.length}`);
    const length = data.readUInt16BE(offset);
    offset += 2;
    if (offset + length > data.length) throw new CustodyError('VERIFICATION_FAILED', `entry bundle ends inside entry ${entries.length}`);
    entries.push(Buffer.from(data.subarray(offset, offset + length)));
    offset += length;
  }
  return entries;
}

/** Tile coordinates whose stored hashes have exact integer ids. */
function checkTileCoordinates(level: number, index: number, width: number): void {
  if (!Number.isSafeInteger(level) || level < 0 || !Number.isSafeInteger(index) || index < 0) {
    throw new CustodyError('BAD_REQUEST', `invalid tile coordinates ${level}/${index}`);
  }
  if (!Number.isSafeInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new CustodyError('BAD_REQUEST', `tile width must be an integer in [1, ${TILE_WIDTH}], got ${width}`);
  }
}
