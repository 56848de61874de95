/**
 * The streaming tree `admin verify-store` rebuilds a log with: the stored hashes it yields and
 * its roots must be exactly those of the stored-hash tree and of the in-memory reference.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FrontierTree } from '../../src/log/frontier-tree.js';
import { EMPTY_ROOT, hashLeaf, rootOf } from '../../src/log/merkle.js';
import { appendStoredHashes, storedHashCount, type StoredHash } from '../../src/log/stored-hashes.js';

function leafHashes(n: number): Buffer[] {
  return Array.from({ length: n }, (_, i) => hashLeaf(createHash('sha256').update(`leaf ${i}`).digest()));
}

describe('FrontierTree', () => {
  it('has the empty-tree root before any leaf', async () => {
    expect((await new FrontierTree().root()).equals(EMPTY_ROOT)).toBe(true);
  });

  it('yields the same stored hashes and roots as the full stored tree, in uneven batches', async () => {
    const leaves = leafHashes(300);
    const all = new Map<number, Buffer>();
    const reference: StoredHash[] = [];
    for (let i = 0; i < leaves.length; i++) {
      for (const h of await appendStoredHashes(i, [leaves[i] as Buffer], (ids) => Promise.resolve(ids.map((id) => all.get(id) as Buffer)))) {
        all.set(h.id, h.hash);
        reference.push(h);
      }
    }
    const tree = new FrontierTree();
    const yielded: StoredHash[] = [];
    for (const [start, end] of [[0, 1], [1, 7], [7, 8], [8, 64], [64, 65], [65, 200], [200, 300]] as const) {
      yielded.push(...(await tree.append(leaves.slice(start, end))));
      expect(tree.size).toBe(end);
      expect((await tree.root()).equals(rootOf(leaves.slice(0, end)))).toBe(true);
    }
    expect(yielded.length).toBe(storedHashCount(300));
    expect(yielded.map((h) => [h.id, h.hash.toString('hex')])).toEqual(reference.map((h) => [h.id, h.hash.toString('hex')]));
  });

  it('changes the root when one leaf changes', async () => {
    const leaves = leafHashes(10);
    const tree = new FrontierTree();
    await tree.append(leaves);
    const edited = new FrontierTree();
    await edited.append([...leaves.slice(0, 4), hashLeaf(Buffer.from('other')), ...leaves.slice(5)]);
    expect((await edited.root()).equals(await tree.root())).toBe(false);
  });
});
