/**
 * An RFC 6962 tree rebuilt from its leaf hashes in one streaming pass, holding only its frontier
 * (the at most 53 maximal perfect subtrees of the leaves so far) in memory. Appending yields the
 * stored hashes the batch completes (same ids as `stored-hashes.ts`), so an auditor can compare a
 * database's stored tree with the one its leaves imply, and `root()` gives MTH at any size reached.
 * RFC 6962 §2.1: https://www.rfc-editor.org/rfc/rfc6962#section-2.1
 */
import { CustodyError } from '../domain/errors.js';
import { appendStoredHashes, storedHashIndex, treeRoot, type StoredHash, type StoredHashReader } from './stored-hashes.js';

export class FrontierTree {
  #size = 0;
  /** Stored hashes by id: after each append, exactly the frontier of the current size. */
  readonly #frontier = new Map<number, Buffer>();
  readonly #read: StoredHashReader = (ids) =>
    Promise.resolve(
      ids.map((id) => {
        const hash = this.#frontier.get(id);
        if (hash === undefined) throw new CustodyError('INTERNAL', `frontier hash ${id} is not held`);
        return hash;
      }),
    );

  /** Leaves appended so far. */
  get size(): number {
    return this.#size;
  }

  /** Appends leaf hashes; returns every stored hash they complete, in id order. */
  async append(leafHashes: readonly Uint8Array[]): Promise<StoredHash[]> {
    const created = await appendStoredHashes(this.#size, leafHashes, this.#read);
    this.#size += leafHashes.length;
    for (const hash of created) this.#frontier.set(hash.id, hash.hash);
    const keep = new Set(frontierIds(this.#size));
    for (const id of this.#frontier.keys()) if (!keep.has(id)) this.#frontier.delete(id);
    return created;
  }

  /** MTH of the leaves appended so far (the empty-tree hash before any). */
  root(): Promise<Buffer> {
    return treeRoot(this.#size, this.#read);
  }
}

/** Ids of the maximal perfect subtrees of [0, size), left to right: one per set bit of size. */
function frontierIds(size: number): number[] {
  const ids: number[] = [];
  let start = 0;
  for (let level = 52; level >= 0; level--) {
    const width = 2 ** level;
    if (size - start >= width) {
      ids.push(storedHashIndex(level, start / width));
      start += width;
    }
  }
  return ids;
}
