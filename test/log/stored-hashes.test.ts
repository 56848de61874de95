/**
 * The stored-hash tree (src/log/stored-hashes.ts): the dense id numbering, the hashes each append
 * completes, and roots and proofs read from stored hashes only. Equivalence with the in-memory
 * RFC 6962 functions is checked for every size 1..300; each proof costs one batched read.
 */
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  consistencyProofOf,
  hashLeaf,
  inclusionProofOf,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/log/merkle.js';
import {
  appendStoredHashes,
  consistencyProof,
  inclusionProof,
  MAX_STORED_TREE_SIZE,
  newStoredHashes,
  splitStoredHashIndex,
  storedHashCount,
  storedHashIndex,
  treeRoot,
  type StoredHashReader,
} from '../../src/log/stored-hashes.js';

const SIZE = 300;
const leafHashes = Array.from({ length: SIZE }, (_, i) => hashLeaf(Buffer.from(`event ${i}`)));

/** Deterministic pseudo-random integer in [0, max) so failures reproduce. */
function pick(seed: string, max: number): number {
  return Number.parseInt(createHash('sha256').update(seed).digest('hex').slice(0, 12), 16) % max;
}

interface Table {
  readonly hashes: Map<number, Buffer>;
  readonly reads: (readonly number[])[];
  readonly read: StoredHashReader;
}

/** An in-memory stored-hash table that records every batch read. */
function memoryTable(): Table {
  const hashes = new Map<number, Buffer>();
  const reads: (readonly number[])[] = [];
  const read: StoredHashReader = (ids) => {
    reads.push(ids);
    return Promise.resolve(
      ids.map((id) => {
        const hash = hashes.get(id);
        if (hash === undefined) throw new Error(`stored hash ${id} is missing`);
        return hash;
      }),
    );
  };
  return { hashes, reads, read };
}

describe('storedHashIndex', () => {
  it('numbers hashes in the order they become complete', () => {
    // leaf 0, leaf 1, (1,0), leaf 2, leaf 3, (1,1), (2,0), leaf 4
    const order: [number, number][] = [[0, 0], [0, 1], [1, 0], [0, 2], [0, 3], [1, 1], [2, 0], [0, 4]];
    expect(order.map(([level, index]) => storedHashIndex(level, index))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('splitStoredHashIndex inverts it, for small ids and ids near 2^53', () => {
    for (let id = 0; id < 5_000; id++) {
      const { level, index } = splitStoredHashIndex(id);
      expect(storedHashIndex(level, index)).toBe(id);
    }
    for (const [level, index] of [[0, MAX_STORED_TREE_SIZE - 1], [51, 1], [52, 0], [13, 2 ** 38 + 12345], [0, 2 ** 40 + 7]] as const) {
      expect(splitStoredHashIndex(storedHashIndex(level, index))).toEqual({ level, index });
    }
  });

  it('a log of n leaves holds exactly ids 0 .. storedHashCount(n) − 1', () => {
    expect([0, 1, 2, 3, 4, 5, 8].map(storedHashCount)).toEqual([0, 1, 3, 4, 7, 8, 15]);
    expect(storedHashCount(MAX_STORED_TREE_SIZE)).toBe(2 ** 53 - 1);
  });

  it('rejects coordinates whose ids would not be exact integers, and malformed ones', () => {
    for (const call of [
      () => storedHashIndex(0, MAX_STORED_TREE_SIZE),
      () => storedHashIndex(53, 0),
      () => storedHashIndex(-1, 0),
      () => storedHashIndex(0, 1.5),
      () => splitStoredHashIndex(2 ** 53),
      () => splitStoredHashIndex(-1),
      () => storedHashCount(MAX_STORED_TREE_SIZE + 1),
    ]) {
      expect(call).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
  });
});

describe('newStoredHashes', () => {
  it('returns the leaf and every parent it completes, with consecutive ids, reading only left siblings', async () => {
    const table = memoryTable();
    for (let i = 0; i < 64; i++) {
      table.reads.length = 0;
      const created = await newStoredHashes(i, leafHashes[i] as Buffer, table.read);
      const trailingOnes = i.toString(2).length - i.toString(2).replace(/1+$/, '').length;
      expect(created.map((h) => h.id)).toEqual(Array.from({ length: 1 + trailingOnes }, (_, k) => storedHashCount(i) + k));
      expect(created.map((h) => h.level)).toEqual(Array.from({ length: 1 + trailingOnes }, (_, k) => k));
      expect(created[0]?.hash.equals(leafHashes[i] as Buffer)).toBe(true);
      // the newest one is the root of the perfect subtree that leaf i completes
      const last = created[created.length - 1];
      const span = 2 ** (last?.level ?? 0);
      expect(last?.hash.equals(rootOf(leafHashes.slice(i + 1 - span, i + 1)))).toBe(true);
      expect(table.reads).toHaveLength(trailingOnes === 0 ? 0 : 1);
      expect(table.reads[0] ?? []).toHaveLength(trailingOnes);
      for (const { id, hash } of created) table.hashes.set(id, hash);
    }
    expect(table.hashes.size).toBe(storedHashCount(64));
  });

  it('a missing hash is the reader’s error; a wrong answer from storage is INTERNAL', async () => {
    const empty = memoryTable();
    await expect(newStoredHashes(1, leafHashes[1] as Buffer, empty.read)).rejects.toThrow(/missing/);
    await expect(newStoredHashes(1, leafHashes[1] as Buffer, () => Promise.resolve([]))).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(newStoredHashes(1, leafHashes[1] as Buffer, () => Promise.resolve([Buffer.alloc(31)]))).rejects.toMatchObject({
      code: 'INTERNAL',
    });
    await expect(newStoredHashes(0, Buffer.alloc(16), empty.read)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('appendStoredHashes', () => {
  it('a batch stores exactly what one-by-one appends store, with at most one read per batch', async () => {
    const single = memoryTable();
    for (let i = 0; i < SIZE; i++) for (const { id, hash } of await newStoredHashes(i, leafHashes[i] as Buffer, single.read)) single.hashes.set(id, hash);

    const batched = memoryTable();
    let size = 0;
    for (let round = 0; size < SIZE; round++) {
      const count = Math.min(SIZE - size, 1 + pick(`batch ${round}`, 40));
      batched.reads.length = 0;
      const created = await appendStoredHashes(size, leafHashes.slice(size, size + count), batched.read);
      expect(batched.reads.length).toBeLessThanOrEqual(1);
      expect(created.map((h) => h.id)).toEqual(Array.from({ length: storedHashCount(size + count) - storedHashCount(size) }, (_, k) => storedHashCount(size) + k));
      for (const { id, hash } of created) batched.hashes.set(id, hash);
      size += count;
    }
    expect([...batched.hashes].sort(([a], [b]) => a - b)).toEqual([...single.hashes].sort(([a], [b]) => a - b));
  });
});

describe('roots and proofs from stored hashes equal the in-memory RFC 6962 ones', () => {
  const table = memoryTable();
  beforeAll(async () => {
    for (let i = 0; i < SIZE; i++) {
      for (const { id, hash } of await newStoredHashes(i, leafHashes[i] as Buffer, table.read)) table.hashes.set(id, hash);
    }
  });

  it(`treeRoot for every size 0..${SIZE}, in one read each`, async () => {
    for (let size = 0; size <= SIZE; size++) {
      table.reads.length = 0;
      expect((await treeRoot(size, table.read)).equals(rootOf(leafHashes.slice(0, size))), `size ${size}`).toBe(true);
      expect(table.reads.length).toBeLessThanOrEqual(1);
    }
  });

  it(`inclusionProof for every size 1..${SIZE} at the edges and random indexes, one read each, and they verify`, async () => {
    for (let size = 1; size <= SIZE; size++) {
      const leaves = leafHashes.slice(0, size);
      const root = rootOf(leaves);
      const indexes = new Set([0, size - 1, pick(`a${size}`, size), pick(`b${size}`, size), pick(`c${size}`, size)]);
      for (const index of indexes) {
        table.reads.length = 0;
        const proof = await inclusionProof(index, size, table.read);
        expect(table.reads.length).toBeLessThanOrEqual(1);
        expect(proof, `leaf ${index} of ${size}`).toEqual(inclusionProofOf(leaves, index));
        verifyInclusion(leafHashes[index] as Buffer, index, size, proof, root);
      }
    }
  });

  it(`consistencyProof for every size2 1..${SIZE} from random and edge sizes, one read each, and they verify`, async () => {
    for (let size2 = 1; size2 <= SIZE; size2++) {
      const root2 = rootOf(leafHashes.slice(0, size2));
      const sizes1 = new Set([1, size2, Math.max(1, size2 - 1), 1 + pick(`x${size2}`, size2), 1 + pick(`y${size2}`, size2)]);
      for (const size1 of sizes1) {
        table.reads.length = 0;
        const proof = await consistencyProof(size1, size2, table.read);
        expect(table.reads.length).toBeLessThanOrEqual(1);
        expect(proof, `${size1} → ${size2}`).toEqual(consistencyProofOf(leafHashes, size1, size2));
        verifyConsistency(size1, size2, proof, rootOf(leafHashes.slice(0, size1)), root2);
      }
    }
  });

  it('rejects impossible requests with BAD_REQUEST', async () => {
    for (const call of [
      () => inclusionProof(5, 5, table.read),
      () => inclusionProof(-1, 5, table.read),
      () => inclusionProof(0, 0, table.read),
      () => inclusionProof(0.5, 5, table.read),
      () => consistencyProof(0, 5, table.read),
      () => consistencyProof(6, 5, table.read),
      () => treeRoot(-1, table.read),
      () => treeRoot(MAX_STORED_TREE_SIZE + 1, table.read),
    ]) {
      await expect(call()).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
  });
});

describe('cost at scale', () => {
  /** Answers any id with a placeholder: only the number of lookups is under test here. */
  const counting = (): { read: StoredHashReader; calls: number[] } => {
    const calls: number[] = [];
    return {
      calls,
      read: (ids) => {
        calls.push(ids.length);
        return Promise.resolve(ids.map(() => Buffer.alloc(32)));
      },
    };
  };

  it('proofs at 1,000,000 and 2^40 + 3 entries take one read of a few dozen hashes', async () => {
    for (const size of [1_000_000, 2 ** 40 + 3]) {
      const inclusion = counting();
      await inclusionProof(123_456, size, inclusion.read);
      expect(inclusion.calls).toHaveLength(1);
      expect(inclusion.calls[0]).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)));

      const consistency = counting();
      await consistencyProof(654_321, size, consistency.read);
      expect(consistency.calls).toHaveLength(1);
      expect(consistency.calls[0]).toBeLessThanOrEqual(2 * Math.ceil(Math.log2(size)));
    }
  });
});
