/**
 * URL paths of the C2SP tlog-tiles read API, relative to the log prefix:
 * `tile/<L>/<N>[.p/<W>]` for hash tiles and `tile/entries/<N>[.p/<W>]` for entry bundles, with
 * N in zero-padded 3-digit groups, all but the last prefixed by `x` (1234067 → `x001/x234/067`).
 * https://c2sp.org/tlog-tiles ("Merkle Tree" and "Log Entries" sections).
 *
 * Parsing accepts only the canonical spelling (no leading zeros in L or W, no leading `x000`
 * group), so every tile has exactly one path and a cache cannot be filled with aliases. Indexes
 * are BigInt: the format allows up to 18 digits, beyond JavaScript's exact integers.
 */
import { CustodyError } from '../domain/errors.js';
import { TILE_WIDTH } from './tiles.js';

/** Highest tile level tlog-tiles allows. */
export const MAX_TILE_LEVEL = 63;

/** Highest tile index with at most six 3-digit groups (the limit Tessera accepts). */
export const MAX_TILE_INDEX = 10n ** 18n - 1n;

/** A parsed path; `width` is TILE_WIDTH for a full tile, 1–255 for a partial one. */
export type TilePath =
  | { readonly kind: 'hashes'; readonly level: number; readonly index: bigint; readonly width: number }
  | { readonly kind: 'entries'; readonly index: bigint; readonly width: number };

const PATH = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/){0,5}[0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/;

/** Path of hash tile (`level`, `index`); `width` omitted or 256 means the full tile. */
export function tilePath(level: number, index: bigint | number, width?: number): string {
  if (!Number.isSafeInteger(level) || level < 0 || level > MAX_TILE_LEVEL) {
    throw new CustodyError('BAD_REQUEST', `tile level must be an integer in [0, ${MAX_TILE_LEVEL}], got ${level}`);
  }
  return `tile/${level}/${encodeIndex(index)}${widthSuffix(width)}`;
}

/** Path of entry bundle `index`; `width` omitted or 256 means the full bundle. */
export function entriesPath(index: bigint | number, width?: number): string {
  return `tile/entries/${encodeIndex(index)}${widthSuffix(width)}`;
}

/** Path of the entry bundle that holds entry `entryIndex` in a tree of `treeSize` entries. */
export function entriesPathForEntry(entryIndex: bigint | number, treeSize: bigint | number): string {
  const entry = toBigInt(entryIndex, 'entry index');
  const size = toBigInt(treeSize, 'tree size');
  if (entry >= size) throw new CustodyError('BAD_REQUEST', `entry ${entry} is not in a tree of size ${size}`);
  const bundle = entry / BigInt(TILE_WIDTH);
  const available = size - bundle * BigInt(TILE_WIDTH);
  return entriesPath(bundle, available >= BigInt(TILE_WIDTH) ? undefined : Number(available));
}

/** Parses a tile or entry-bundle path; anything not in canonical form is BAD_REQUEST. */
export function parseTilePath(path: string): TilePath {
  const match = PATH.exec(path);
  if (match === null) throw malformed(path);
  const [, levelText = '', indexText = '', widthText] = match;
  if (indexText.startsWith('x000/')) throw malformed(path);
  const index = BigInt(indexText.replaceAll('x', '').replaceAll('/', ''));
  const width = widthText === undefined ? TILE_WIDTH : Number(widthText);
  if (widthText !== undefined && width >= TILE_WIDTH) throw malformed(path); // a full tile has no .p/
  if (levelText === 'entries') return { kind: 'entries', index, width };
  const level = Number(levelText);
  if (level > MAX_TILE_LEVEL) throw malformed(path);
  return { kind: 'hashes', level, index, width };
}

/** N as 3-digit groups, every group but the last prefixed with `x`. */
function encodeIndex(value: bigint | number): string {
  const index = toBigInt(value, 'tile index');
  if (index > MAX_TILE_INDEX) throw new CustodyError('BAD_REQUEST', `tile index ${index} has more than 18 digits`);
  const digits = index.toString();
  const padded = digits.padStart(Math.ceil(digits.length / 3) * 3, '0');
  const groups = padded.match(/[0-9]{3}/g) ?? [];
  return groups.map((group, i) => (i < groups.length - 1 ? `x${group}` : group)).join('/');
}

/** `.p/<W>` for a partial tile, nothing for a full one. */
function widthSuffix(width: number | undefined): string {
  if (width === undefined || width === TILE_WIDTH) return '';
  if (!Number.isSafeInteger(width) || width < 1 || width > TILE_WIDTH) {
    throw new CustodyError('BAD_REQUEST', `tile width must be an integer in [1, ${TILE_WIDTH}], got ${width}`);
  }
  return `.p/${width}`;
}

function toBigInt(value: bigint | number, what: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new CustodyError('BAD_REQUEST', `${what} must be a non-negative integer, got ${value}`);
    return BigInt(value);
  }
  if (value < 0n) throw new CustodyError('BAD_REQUEST', `${what} must be non-negative`);
  return value;
}

function malformed(path: string): CustodyError {
  return new CustodyError('BAD_REQUEST', 'malformed tlog-tiles path', { details: { path: path.slice(0, 200) } });
}
