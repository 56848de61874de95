/**
 * The Merkle core (src/log/merkle.ts): RFC 6962 hashing, RFC 9162 verification with the extra
 * rules of reference/transparency-log.md §1.5, and in-memory proof generation. Every generated
 * proof of small trees verifies; every tampering is rejected; hostile sizes, indexes and proof
 * lengths fail fast with VERIFICATION_FAILED; indexes beyond 2^32 work (no 32-bit arithmetic).
 * The upstream vectors are in test/interop/tlog-merkle.interop.test.ts.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import {
  consistencyProofOf,
  EMPTY_ROOT,
  hashChildren,
  hashLeaf,
  HASH_SIZE,
  inclusionProofOf,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/log/merkle.js';

const leaves = Array.from({ length: 64 }, (_, i) => hashLeaf(Buffer.from(`entry ${i}`)));
const hash = (label: string): Buffer => createHash('sha256').update(label).digest();

/** The error a verifier threw, or undefined when it accepted. */
function failureOf(verify: () => void): CustodyError | undefined {
  try {
    verify();
    return undefined;
  } catch (error) {
    if (error instanceof CustodyError) return error;
    throw error;
  }
}

function expectRejected(verify: () => void, reason?: RegExp): void {
  const error = failureOf(verify);
  expect(error?.code).toBe('VERIFICATION_FAILED');
  if (reason !== undefined) expect(error?.message).toMatch(reason);
}

/** A copy with one bit of one byte flipped. */
function flipBit(bytes: Uint8Array, byte: number): Buffer {
  const copy = Buffer.from(bytes);
  copy[byte] = (copy[byte] ?? 0) ^ 0x10;
  return copy;
}

describe('hashing', () => {
  it('separates leaves from nodes with the 0x00/0x01 prefixes', () => {
    const data = Buffer.concat([leaves[0] as Buffer, leaves[1] as Buffer]);
    expect(hashLeaf(data).equals(hashChildren(leaves[0] as Buffer, leaves[1] as Buffer))).toBe(false);
    expect(hashLeaf(data).equals(createHash('sha256').update(Buffer.concat([Buffer.of(0), data])).digest())).toBe(true);
  });

  it('the empty root is SHA-256 of nothing, and rootOf([]) cannot alter it', () => {
    expect(EMPTY_ROOT.toString('hex')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    rootOf([]).fill(0);
    expect(rootOf([]).equals(EMPTY_ROOT)).toBe(true);
    expect(HASH_SIZE).toBe(32);
  });

  it('the root of one leaf is the leaf hash, of two leaves their parent', () => {
    expect(rootOf(leaves.slice(0, 1)).equals(leaves[0] as Buffer)).toBe(true);
    expect(rootOf(leaves.slice(0, 2)).equals(hashChildren(leaves[0] as Buffer, leaves[1] as Buffer))).toBe(true);
  });
});

describe('inclusion proofs', () => {
  it('every leaf of every tree of 1..64 leaves has a proof that verifies, as number and as BigInt', () => {
    for (let size = 1; size <= 64; size++) {
      const root = rootOf(leaves.slice(0, size));
      for (let index = 0; index < size; index++) {
        const proof = inclusionProofOf(leaves.slice(0, size), index);
        verifyInclusion(leaves[index] as Buffer, index, size, proof, root);
        verifyInclusion(leaves[index] as Buffer, BigInt(index), BigInt(size), proof, root);
      }
    }
  });

  it('rejects every tampering: a flipped bit in any proof hash, the leaf or the root; another index; another size', () => {
    const size = 13;
    const root = rootOf(leaves.slice(0, size));
    for (let index = 0; index < size; index++) {
      const leaf = leaves[index] as Buffer;
      const proof = inclusionProofOf(leaves.slice(0, size), index);
      proof.forEach((_, i) => {
        expectRejected(() => { verifyInclusion(leaf, index, size, proof.map((p, j) => (i === j ? flipBit(p, 7) : p)), root); });
      });
      expectRejected(() => { verifyInclusion(flipBit(leaf, 0), index, size, proof, root); }, /does not lead to the root/);
      expectRejected(() => { verifyInclusion(leaf, index, size, proof, flipBit(root, 31)); }, /does not lead to the root/);
      expectRejected(() => { verifyInclusion(leaf, (index + 1) % size, size, proof, root); });
      // A size only means something with its root (a checkpoint signs both): the proof must not
      // pass for the tree one entry larger or smaller. (With the *same* root, a size whose path has
      // the same shape recomputes the same root; no verifier can tell, nor needs to.)
      expectRejected(() => { verifyInclusion(leaf, index, size + 1, proof, rootOf(leaves.slice(0, size + 1))); });
      if (index < size - 1) expectRejected(() => { verifyInclusion(leaf, index, size - 1, proof, rootOf(leaves.slice(0, size - 1))); });
      expectRejected(() => { verifyInclusion(leaf, index, size * 2, proof, root); }, /needs/);
    }
  });

  it('says how many hashes a proof of the wrong length should have had', () => {
    const proof = inclusionProofOf(leaves.slice(0, 8), 0);
    const root = rootOf(leaves.slice(0, 8));
    expectRejected(() => { verifyInclusion(leaves[0] as Buffer, 0, 8, proof.slice(0, 2), root); }, /has 2 hashes; leaf 0 of a tree of size 8 needs 3/);
    expectRejected(() => { verifyInclusion(leaves[0] as Buffer, 0, 8, [...proof, root], root); }, /has 4 hashes.*needs 3/);
  });

  it('rejects hashes that are not 32 bytes, including an empty leaf and root', () => {
    const root = rootOf(leaves.slice(0, 2));
    const proof = inclusionProofOf(leaves.slice(0, 2), 0);
    expectRejected(() => { verifyInclusion(Buffer.alloc(0), 0, 1, [], Buffer.alloc(0)); }, /leaf hash must be 32 bytes, got 0/);
    expectRejected(() => { verifyInclusion(leaves[0] as Buffer, 0, 2, proof, root.subarray(0, 31)); }, /root must be 32 bytes/);
    expectRejected(() => { verifyInclusion(leaves[0] as Buffer, 0, 2, [Buffer.concat([proof[0] as Buffer, Buffer.of(0)])], root); }, /proof hash 0 must be 32 bytes/);
  });

  it('rejects hostile indexes and sizes: out of range, negative, fractional, NaN, beyond 2^64 − 1', () => {
    const leaf = leaves[0] as Buffer;
    expectRejected(() => { verifyInclusion(leaf, 1, 1, [], leaf); }, /not below tree size/);
    expectRejected(() => { verifyInclusion(leaf, 0, 0, [], EMPTY_ROOT); }, /not below tree size/);
    expectRejected(() => { verifyInclusion(leaf, 2n ** 64n - 1n, 1, [], leaf); }, /not below/);
    for (const bad of [-1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53]) {
      expectRejected(() => { verifyInclusion(leaf, bad, 1, [], leaf); }, /non-negative integer/);
      expectRejected(() => { verifyInclusion(leaf, 0, bad, [], leaf); }, /non-negative integer/);
    }
    expectRejected(() => { verifyInclusion(leaf, 0n, 2n ** 64n, [], leaf); }, /\[0, 2\^64 - 1\]/);
    expectRejected(() => { verifyInclusion(leaf, -1n, 1n, [], leaf); }, /\[0, 2\^64 - 1\]/);
  });

  it('refuses a proof of more than 64 hashes before hashing anything', () => {
    const huge = Array.from({ length: 1_000_000 }, () => leaves[0] as Buffer);
    expectRejected(() => { verifyInclusion(leaves[0] as Buffer, 0, 2n ** 64n - 1n, huge, leaves[0] as Buffer); }, /1000000 hashes, more than 64/);
    expectRejected(() => { verifyInclusion(leaves[0] as Buffer, 0, 2n ** 64n - 1n, huge.slice(0, 65), leaves[0] as Buffer); }, /more than 64/);
  });

  it('verifies indexes far beyond 2^32 (no 32-bit arithmetic): a leaf in a tree of 2^40 + 1 and one of 2^63', () => {
    // The last leaf of 2^40 + 1 leaves: its only sibling is the root of the first 2^40.
    const left = hash('first 2^40 leaves');
    const leaf = leaves[5] as Buffer;
    const root = hashChildren(left, leaf);
    verifyInclusion(leaf, 2 ** 40, 2 ** 40 + 1, [left], root);
    verifyInclusion(leaf, 2n ** 40n, 2n ** 40n + 1n, [left], root);
    expectRejected(() => { verifyInclusion(leaf, 0, 2 ** 40 + 1, [left], root); });

    // Perfect tree of 2^63 leaves: bit i of the index says whether sibling i is on the left.
    const index = 0x5a5a_5a5a_5a5a_5a5an & (2n ** 63n - 1n);
    const size = 2n ** 63n;
    const proof = Array.from({ length: 63 }, (_, i) => hash(`sibling ${i}`));
    let expected: Buffer = leaf;
    proof.forEach((sibling, i) => {
      expected = ((index >> BigInt(i)) & 1n) === 1n ? hashChildren(sibling, expected) : hashChildren(expected, sibling);
    });
    verifyInclusion(leaf, index, size, proof, expected);
    expectRejected(() => { verifyInclusion(leaf, index ^ (1n << 40n), size, proof, expected); }, /does not lead to the root/);
    expectRejected(() => { verifyInclusion(leaf, index & 0xffff_ffffn, size, proof, expected); }, /does not lead to the root/);
  });
});

describe('consistency proofs', () => {
  it('every pair 1 <= size1 <= size2 <= 64 has a proof that verifies', () => {
    const roots = Array.from({ length: 65 }, (_, n) => rootOf(leaves.slice(0, n)));
    for (let size2 = 1; size2 <= 64; size2++) {
      for (let size1 = 1; size1 <= size2; size1++) {
        const proof = consistencyProofOf(leaves, size1, size2);
        verifyConsistency(size1, size2, proof, roots[size1] as Buffer, roots[size2] as Buffer);
        verifyConsistency(BigInt(size1), BigInt(size2), proof, roots[size1] as Buffer, roots[size2] as Buffer);
      }
    }
  });

  it('rejects every tampering: a flipped bit in any proof hash or either root, swapped roots, other tree sizes', () => {
    const roots = Array.from({ length: 22 }, (_, n) => rootOf(leaves.slice(0, n)));
    const size2 = 21;
    for (let size1 = 1; size1 < size2; size1++) {
      const root1 = roots[size1] as Buffer;
      const root2 = roots[size2] as Buffer;
      const proof = consistencyProofOf(leaves, size1, size2);
      proof.forEach((_, i) => {
        expectRejected(() => { verifyConsistency(size1, size2, proof.map((p, j) => (i === j ? flipBit(p, 3) : p)), root1, root2); });
      });
      expectRejected(() => { verifyConsistency(size1, size2, proof, flipBit(root1, 0), root2); });
      expectRejected(() => { verifyConsistency(size1, size2, proof, root1, flipBit(root2, 0)); }, /root of the tree of size 21/);
      expectRejected(() => { verifyConsistency(size1, size2, proof, root2, root1); });
      if (size1 + 1 < size2) expectRejected(() => { verifyConsistency(size1 + 1, size2, proof, roots[size1 + 1] as Buffer, root2); });
      if (size1 > 1) expectRejected(() => { verifyConsistency(size1 - 1, size2, proof, roots[size1 - 1] as Buffer, root2); });
      expectRejected(() => { verifyConsistency(size1, size2 + 1, proof, root1, roots[size2 + 1] as Buffer); });
      expectRejected(() => { verifyConsistency(size1, size2 - 1, proof, root1, roots[size2 - 1] as Buffer); });
      expectRejected(() => { verifyConsistency(size1, size2, proof.slice(1), root1, root2); });
      expectRejected(() => { verifyConsistency(size1, size2, [...proof, root2], root1, root2); }, /hashes; sizes .* need /);
    }
  });

  it('detects a rewritten history: a tree of the same size with one other leaf is not an extension', () => {
    const forked = [...leaves];
    forked[3] = hashLeaf(Buffer.from('rewritten'));
    const proof = consistencyProofOf(forked, 10, 20);
    expectRejected(() => { verifyConsistency(10, 20, proof, rootOf(leaves.slice(0, 10)), rootOf(forked.slice(0, 20))); }, /size 10/);
  });

  it('size1 = 0 is an error before any loop, even 0 → 0 and with equal roots', () => {
    expectRejected(() => { verifyConsistency(0, 0, [], EMPTY_ROOT, EMPTY_ROOT); }, /empty tree/);
    expectRejected(() => { verifyConsistency(0, 5, [], EMPTY_ROOT, rootOf(leaves.slice(0, 5))); }, /empty tree/);
    expectRejected(() => { verifyConsistency(0n, 2n ** 64n - 1n, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT); }, /empty tree/);
  });

  it('equal sizes: an empty proof and equal roots pass; a non-empty proof or different roots fail', () => {
    const root = rootOf(leaves.slice(0, 7));
    verifyConsistency(7, 7, [], root, Buffer.from(root));
    expectRejected(() => { verifyConsistency(7, 7, [root], root, root); }, /must be empty/);
    expectRejected(() => { verifyConsistency(7, 7, [], root, rootOf(leaves.slice(0, 6))); }, /different roots/);
  });

  it('rejects a shrinking tree, an empty proof between different sizes and hashes that are not 32 bytes', () => {
    const root3 = rootOf(leaves.slice(0, 3));
    const root5 = rootOf(leaves.slice(0, 5));
    const proof = consistencyProofOf(leaves, 3, 5);
    expectRejected(() => { verifyConsistency(5, 3, proof, root5, root3); }, /smaller/);
    expectRejected(() => { verifyConsistency(3, 5, [], root3, root5); }, /empty consistency proof/);
    expectRejected(() => { verifyConsistency(3, 5, proof, root3.subarray(1), root5); }, /first root must be 32 bytes/);
    expectRejected(() => { verifyConsistency(3, 5, proof, root3, Buffer.alloc(0)); }, /second root must be 32 bytes/);
    expectRejected(() => { verifyConsistency(3, 5, [proof[0] as Buffer, Buffer.alloc(64)], root3, root5); }, /proof hash 1 must be 32 bytes/);
  });

  it('refuses more than 64 hashes and hostile sizes quickly', () => {
    const many = Array.from({ length: 65 }, () => EMPTY_ROOT);
    expectRejected(() => { verifyConsistency(1, 2n ** 64n - 1n, many, EMPTY_ROOT, EMPTY_ROOT); }, /more than 64/);
    expectRejected(() => { verifyConsistency(-1, 5, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT); }, /non-negative integer/);
    expectRejected(() => { verifyConsistency(1, 2n ** 64n, [EMPTY_ROOT], EMPTY_ROOT, EMPTY_ROOT); }, /\[0, 2\^64 - 1\]/);
    // The largest sizes: 64 hashes, all garbage, must end in a clean rejection.
    const started = performance.now();
    expectRejected(() => { verifyConsistency(2n ** 63n + 1n, 2n ** 64n - 1n, many.slice(0, 64), EMPTY_ROOT, EMPTY_ROOT); });
    expectRejected(() => { verifyConsistency(3n, 2n ** 64n - 1n, many.slice(0, 64), EMPTY_ROOT, EMPTY_ROOT); });
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('in-memory generation', () => {
  it('rejects impossible requests', () => {
    expect(() => inclusionProofOf(leaves.slice(0, 4), 4)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => inclusionProofOf([], 0)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => consistencyProofOf(leaves.slice(0, 4), 0, 4)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => consistencyProofOf(leaves.slice(0, 4), 3, 5)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    expect(() => consistencyProofOf(leaves.slice(0, 4), 4, 3)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });

  it('a consistency proof from a power of two leaves out the old root; others start with it', () => {
    expect(consistencyProofOf(leaves, 4, 8)).toHaveLength(1);
    expect(consistencyProofOf(leaves, 3, 8)[0]?.equals(leaves[2] as Buffer)).toBe(true);
    expect(consistencyProofOf(leaves, 8, 8)).toEqual([]);
  });
});
