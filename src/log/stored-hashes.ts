/**
 * Tree arithmetic for a database-backed log, in the spirit of Go's sumdb/tlog: every complete
 * (perfect) subtree hash is stored exactly once when it becomes complete and never changes, so
 * roots and proofs for any tree size are assembled from a handful of stored hashes instead of
 * rehashing leaves. This module is pure: storage is a batch reader the caller supplies.
 *
 * Numbering. The hash of the perfect subtree at `level` (height; 0 = leaf) and `index` (position
 * among nodes of that level) gets the dense id `storedHashIndex(level, index)`: ids follow the
 * order in which the hashes become complete while leaves are appended (leaf 0, leaf 1, their
 * parent, leaf 2, …), so they can be an integer primary key of one append-only table and a log
 * of n leaves holds exactly ids 0 … storedHashCount(n) - 1. Ids stay below 2^53 because sizes
 * are capped at MAX_STORED_TREE_SIZE = 2^52 leaves.
 *
 * Tree shape and proofs: RFC 6962 §2.1, https://www.rfc-editor.org/rfc/rfc6962#section-2.1
 * (the PATH/PROOF leaf ranges come from `merkle.ts`; here each range is assembled from the
 * perfect subtrees it splits into, all fetched in one read).
 */
import { CustodyError } from '../domain/errors.js';
import { consistencyProofRanges, EMPTY_ROOT, HASH_SIZE, hashChildren, inclusionProofRanges, type LeafRange } from './merkle.js';

/** Largest tree size whose stored-hash ids are all exact JavaScript integers. */
export const MAX_STORED_TREE_SIZE = 2 ** 52;

/** Batch reader of stored hashes: one hash per id, in order; it must throw if one is missing. */
export type StoredHashReader = (ids: readonly number[]) => Promise<Buffer[]>;

/** A stored hash together with its id and tree coordinates. */
export interface StoredHash {
  readonly id: number;
  readonly level: number;
  readonly index: number;
  readonly hash: Buffer;
}

/** A perfect subtree: 2^level leaves starting at leaf index·2^level. */
interface Node {
  readonly level: number;
  readonly index: number;
}

/**
 * Dense id of the stored hash at (`level`, `index`). It is stored right after the leaf hash of
 * its last leaf m = (index+1)·2^level − 1 and the `level − 1` parents completed before it, and
 * 2m − popcount(m) hashes precede leaf m, hence id = 2m − popcount(m) + level.
 */
export function storedHashIndex(level: number, index: number): number {
  if (!Number.isSafeInteger(level) || level < 0 || !Number.isSafeInteger(index) || index < 0) {
    throw new CustodyError('BAD_REQUEST', `invalid stored hash coordinates (${level}, ${index})`);
  }
  const lastLeaf = (index + 1) * 2 ** level - 1;
  if (lastLeaf >= MAX_STORED_TREE_SIZE) {
    throw new CustodyError('BAD_REQUEST', `stored hash (${level}, ${index}) is beyond ${MAX_STORED_TREE_SIZE} leaves`);
  }
  return storedHashCount(lastLeaf) + level;
}

/** Inverse of `storedHashIndex`: the tree coordinates of a stored hash id. */
export function splitStoredHashIndex(id: number): { level: number; index: number } {
  if (!Number.isSafeInteger(id) || id < 0 || id >= storedHashCount(MAX_STORED_TREE_SIZE)) {
    throw new CustodyError('BAD_REQUEST', `invalid stored hash id ${id}`);
  }
  // Find the leaf m whose append stored this id: the largest m with storedHashCount(m) <= id.
  // 2m − 53 < storedHashCount(m) <= 2m, so m lies in [id/2 − 1, id/2 + 27]: a few dozen steps.
  let leaf = Math.max(0, Math.floor(id / 2) - 1);
  while (storedHashCount(leaf + 1) <= id) leaf += 1;
  const level = id - storedHashCount(leaf);
  return { level, index: Math.floor((leaf + 1) / 2 ** level) - 1 };
}

/** Number of hashes a log of `size` leaves has stored: 2·size − popcount(size). */
export function storedHashCount(size: number): number {
  checkSize(size, 'tree size');
  return 2 * size - popcount(size);
}

/**
 * The hashes that become complete when leaf `leafIndex` is appended to a log of `leafIndex`
 * leaves: the leaf itself and every parent it completes, in id order. Reads the left siblings in
 * one batch (none for an even index).
 */
export async function newStoredHashes(leafIndex: number, leafHash: Uint8Array, read: StoredHashReader): Promise<StoredHash[]> {
  return appendStoredHashes(leafIndex, [leafHash], read);
}

/**
 * The hashes that become complete when `leafHashes` are appended to a log of `size` leaves, in
 * id order. One read of the old hashes the batch needs (a subset of the old tree's frontier).
 */
export async function appendStoredHashes(size: number, leafHashes: readonly Uint8Array[], read: StoredHashReader): Promise<StoredHash[]> {
  checkSize(size, 'tree size');
  checkSize(size + leafHashes.length, 'new tree size');
  leafHashes.forEach((hash, i) => {
    if (hash.length !== HASH_SIZE) throw new CustodyError('BAD_REQUEST', `leaf hash ${i} must be ${HASH_SIZE} bytes`);
  });
  const stored = storedHashCount(size);
  const needed = new Set<number>();
  for (let leaf = size; leaf < size + leafHashes.length; leaf++) {
    for (const sibling of leftSiblings(leaf)) {
      const id = idOf(sibling);
      if (id < stored) needed.add(id);
    }
  }
  const known = await readHashMap([...needed], read);
  const created: StoredHash[] = [];
  const remember = (node: Node, hash: Buffer): void => {
    const entry = toStoredHash(node, hash);
    created.push(entry);
    known.set(entry.id, hash);
  };
  leafHashes.forEach((leafHash, offset) => {
    const leaf = size + offset;
    let hash: Buffer = Buffer.from(leafHash);
    remember({ level: 0, index: leaf }, hash);
    for (const sibling of leftSiblings(leaf)) {
      const left = known.get(idOf(sibling));
      if (left === undefined) throw new CustodyError('INTERNAL', `stored hash (${sibling.level}, ${sibling.index}) was not read`);
      hash = hashChildren(left, hash);
      remember({ level: sibling.level + 1, index: Math.floor(sibling.index / 2) }, hash);
    }
  });
  return created;
}

/** Root of the tree of `size` leaves: the perfect subtrees of `size`, folded right to left. */
export async function treeRoot(size: number, read: StoredHashReader): Promise<Buffer> {
  checkSize(size, 'tree size');
  if (size === 0) return Buffer.from(EMPTY_ROOT);
  const hashes = await readHashMap(perfectSubtrees(0, size).map(idOf), read);
  return rangeHash(0, size, hashes);
}

/** RFC 6962 PATH(index, D[size]) from stored hashes, leaf end first, with one read. */
export async function inclusionProof(index: number, size: number, read: StoredHashReader): Promise<Buffer[]> {
  checkSize(size, 'tree size');
  return proofFromRanges(inclusionProofRanges(index, size), read);
}

/** RFC 6962 PROOF(size1, D[size2]) from stored hashes, leaf end first, with one read. */
export async function consistencyProof(size1: number, size2: number, read: StoredHashReader): Promise<Buffer[]> {
  checkSize(size2, 'second tree size');
  return proofFromRanges(consistencyProofRanges(size1, size2), read);
}

/** Hashes of RFC 6962 subtree ranges, fetched with a single read of their perfect subtrees. */
async function proofFromRanges(ranges: readonly LeafRange[], read: StoredHashReader): Promise<Buffer[]> {
  const ids = new Set<number>();
  for (const [lo, hi] of ranges) for (const node of perfectSubtrees(lo, hi)) ids.add(idOf(node));
  const hashes = await readHashMap([...ids], read);
  return ranges.map(([lo, hi]) => rangeHash(lo, hi, hashes));
}

/**
 * MTH(D[lo:hi]) for a range that is a node of the RFC 6962 tree (lo aligned to a power of two
 * ≥ hi − lo): its perfect subtrees come largest first, and the tree nests them to the right.
 */
function rangeHash(lo: number, hi: number, hashes: ReadonlyMap<number, Buffer>): Buffer {
  const parts = perfectSubtrees(lo, hi).map((node) => hashes.get(idOf(node)) as Buffer);
  let hash = parts[parts.length - 1] as Buffer;
  for (let i = parts.length - 2; i >= 0; i--) hash = hashChildren(parts[i] as Buffer, hash);
  return hash;
}

/** Splits [lo, hi) into maximal aligned perfect subtrees, left to right. */
function perfectSubtrees(lo: number, hi: number): Node[] {
  const nodes: Node[] = [];
  let start = lo;
  while (start < hi) {
    let level = 0;
    while (start % 2 ** (level + 1) === 0 && start + 2 ** (level + 1) <= hi) level += 1;
    nodes.push({ level, index: start / 2 ** level });
    start += 2 ** level;
  }
  return nodes;
}

/** Left siblings that appending `leaf` combines with, lowest first: one per trailing 1 bit. */
function leftSiblings(leaf: number): Node[] {
  const siblings: Node[] = [];
  for (let level = 0, n = leaf; n % 2 === 1; level += 1, n = Math.floor(n / 2)) {
    siblings.push({ level, index: n - 1 });
  }
  return siblings;
}

/** Calls the reader once and refuses an answer of the wrong shape (storage is not trusted). */
async function readHashMap(ids: readonly number[], read: StoredHashReader): Promise<Map<number, Buffer>> {
  const map = new Map<number, Buffer>();
  if (ids.length === 0) return map;
  const hashes = await read(ids);
  if (!Array.isArray(hashes) || hashes.length !== ids.length) {
    throw new CustodyError('INTERNAL', `stored hash reader returned ${Array.isArray(hashes) ? hashes.length : 'no'} hashes for ${ids.length} ids`);
  }
  ids.forEach((id, i) => {
    const hash = hashes[i];
    if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
      throw new CustodyError('INTERNAL', `stored hash ${id} is not a ${HASH_SIZE}-byte hash`);
    }
    map.set(id, Buffer.from(hash.buffer, hash.byteOffset, hash.byteLength));
  });
  return map;
}

function idOf(node: Node): number {
  return storedHashIndex(node.level, node.index);
}

function toStoredHash(node: Node, hash: Buffer): StoredHash {
  return { id: idOf(node), level: node.level, index: node.index, hash };
}

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0 || size > MAX_STORED_TREE_SIZE) {
    throw new CustodyError('BAD_REQUEST', `${what} must be an integer in [0, 2^52], got ${size}`);
  }
}

/** Set bits of a non-negative integer below 2^53, by halving (no 32-bit bit operators). */
function popcount(n: number): number {
  let count = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}
