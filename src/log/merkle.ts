/**
 * The Merkle tree of the transparency log: RFC 6962 hashing, RFC 9162 proof verification and
 * RFC 6962 proof generation over an in-memory leaf list. Everything here is pure and synchronous;
 * the database-backed tree lives in `stored-hashes.ts`.
 *
 * - Hashing: RFC 6962 §2.1 (= RFC 9162 §2.1.1), https://www.rfc-editor.org/rfc/rfc6962#section-2.1
 * - Verification: RFC 9162 §2.1.3.2 and §2.1.4.2, https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2
 *   plus the rules the RFC leaves implicit (reference/transparency-log.md §1.5): every hash that
 *   is hashed or checked against a computed root is exactly 32 bytes, `size1 = 0` is an error,
 *   `size1 = size2` needs an empty proof and byte-equal roots.
 *
 * Proofs are attacker-controlled. Indexes are BigInt inside the verifiers (never 32-bit bit
 * operators: real logs already pass 2^31 entries), sizes are capped at 2^64 - 1 and proofs at 64
 * hashes before any loop runs, so every loop is bounded by 64 iterations whatever the input.
 */
import { hash as oneShotHash } from 'node:crypto';
import { CustodyError } from '../domain/errors.js';

/** Bytes in a SHA-256 digest, the only hash this log uses. */
export const HASH_SIZE = 32;

/** A proof never needs more hashes than the height of a 2^64-leaf tree. */
export const MAX_PROOF_HASHES = 64;

const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const MAX_SIZE = (1n << 64n) - 1n;

/** Root of the empty tree, MTH({}) = SHA-256() (RFC 6962 §2.1). */
export const EMPTY_ROOT: Buffer = sha256(Buffer.alloc(0));

/** Leaf hash SHA-256(0x00 ‖ data); the prefix stops a node from posing as a leaf (RFC 6962 §2.1). */
export function hashLeaf(data: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + data.length);
  input[0] = LEAF_PREFIX;
  input.set(data, 1);
  return sha256(input);
}

/** Interior node hash SHA-256(0x01 ‖ left ‖ right) (RFC 6962 §2.1); raw concatenation, any lengths. */
export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  const input = Buffer.allocUnsafe(1 + left.length + right.length);
  input[0] = NODE_PREFIX;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/** One-shot `crypto.hash` costs a third less than `createHash` per call, which counts here. */
function sha256(input: Buffer): Buffer {
  return oneShotHash('sha256', input, 'buffer');
}

// ---------------------------------------------------------------------------------------------
// Verification (RFC 9162 §2.1.3.2, §2.1.4.2)
// ---------------------------------------------------------------------------------------------

/**
 * Checks that `leafHash` is the leaf at `index` of the tree of `size` leaves whose root is `root`.
 * Returns normally on success; throws `CustodyError('VERIFICATION_FAILED')` naming the reason.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  index: bigint | number,
  size: bigint | number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  checkProofLength(proof, 'inclusion');
  checkHash(leafHash, 'leaf hash');
  checkHash(root, 'root');
  proof.forEach((hash, i) => {
    checkHash(hash, `inclusion proof hash ${i}`);
  });
  const leafIndex = toTreeInteger(index, 'leaf index');
  const treeSize = toTreeInteger(size, 'tree size');
  if (leafIndex >= treeSize) fail(`leaf index ${leafIndex} is not below tree size ${treeSize}`);

  const shape = pathShape(leafIndex, treeSize - 1n);
  if (proof.length !== shape.length) {
    fail(`inclusion proof has ${proof.length} hashes; leaf ${leafIndex} of a tree of size ${treeSize} needs ${shape.length}`);
  }
  let computed: Uint8Array = leafHash;
  shape.forEach((siblingOnLeft, i) => {
    const sibling = proof[i] as Uint8Array;
    computed = siblingOnLeft ? hashChildren(sibling, computed) : hashChildren(computed, sibling);
  });
  if (!equalBytes(computed, root)) fail(`inclusion proof for leaf ${leafIndex} does not lead to the root of the tree of size ${treeSize}`);
}

/**
 * Checks that the tree of `size1` leaves with root `root1` is a prefix of the tree of `size2`
 * leaves with root `root2`. Returns normally on success; throws `CustodyError('VERIFICATION_FAILED')`.
 * A proof from the empty tree is rejected: callers that accept "0 → N" must special-case it.
 * Equal sizes need an empty proof and byte-equal roots.
 */
export function verifyConsistency(
  size1: bigint | number,
  size2: bigint | number,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  checkProofLength(proof, 'consistency');
  const first = toTreeInteger(size1, 'first tree size');
  const second = toTreeInteger(size2, 'second tree size');
  if (second < first) fail(`second tree size ${second} is smaller than first tree size ${first}`);
  // Must come before the loop: with fn = size1 - 1 = -1 the RFC's "while LSB(fn)" never ends.
  if (first === 0n) fail('no consistency proof exists from the empty tree');
  if (first === second) {
    // Nothing is hashed here, only compared, which is why (as in transparency-dev/merkle and its
    // probe "sizes-are-equal-one-and-proof-is-empty") the 32-byte rule is not applied to them.
    if (proof.length !== 0) fail(`consistency proof between equal sizes must be empty, got ${proof.length} hashes`);
    if (!equalBytes(root1, root2)) fail(`two different roots for the same tree size ${first}`);
    return;
  }
  checkHash(root1, 'first root');
  checkHash(root2, 'second root');
  proof.forEach((hash, i) => {
    checkHash(hash, `consistency proof hash ${i}`);
  });
  if (proof.length === 0) fail(`empty consistency proof from size ${first} to ${second}`);

  // RFC 9162 §2.1.4.2 steps 2–4: a power-of-two first tree is itself a node of the second one.
  const firstIsNode = (first & (first - 1n)) === 0n;
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  const shape = pathShape(fn, sn);
  const expected = shape.length + (firstIsNode ? 0 : 1);
  if (proof.length !== expected) {
    fail(`consistency proof has ${proof.length} hashes; sizes ${first} → ${second} need ${expected}`);
  }
  const path = firstIsNode ? [root1, ...proof] : proof;
  let firstRoot = path[0] as Uint8Array;
  let secondRoot = firstRoot;
  shape.forEach((siblingOnLeft, i) => {
    const sibling = path[i + 1] as Uint8Array;
    if (siblingOnLeft) {
      firstRoot = hashChildren(sibling, firstRoot);
      secondRoot = hashChildren(sibling, secondRoot);
    } else {
      secondRoot = hashChildren(secondRoot, sibling);
    }
  });
  if (!equalBytes(firstRoot, root1)) fail(`consistency proof does not lead to the root of the tree of size ${first}`);
  if (!equalBytes(secondRoot, root2)) fail(`consistency proof does not lead to the root of the tree of size ${second}`);
}

/**
 * The side of each sibling on the way from node `fn` up to the root of a tree whose last node at
 * the same level is `sn` (true = the proof hash goes on the left). This is the index arithmetic
 * of the RFC 9162 loops, run before any hashing so a proof of the wrong length fails with a
 * precise reason. Every step shifts `sn` right at least once, so it ends within 64 steps.
 */
function pathShape(fn: bigint, sn: bigint): boolean[] {
  const shape: boolean[] = [];
  while (sn !== 0n) {
    const siblingOnLeft = (fn & 1n) === 1n || fn === sn;
    shape.push(siblingOnLeft);
    if (siblingOnLeft && (fn & 1n) === 0n) {
      // fn is the last node of its level and has no right sibling: climb until it is a right child.
      while (fn !== 0n && (fn & 1n) === 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return shape;
}

/** Bounds the proof before anything loops over it. */
function checkProofLength(proof: readonly Uint8Array[], kind: string): void {
  if (!Array.isArray(proof)) fail(`${kind} proof must be a list of hashes`);
  if (proof.length > MAX_PROOF_HASHES) fail(`${kind} proof has ${proof.length} hashes, more than ${MAX_PROOF_HASHES}`);
}

/** A hash of any other length is hostile input, not a hash (an empty root decodes to 0 bytes). */
function checkHash(hash: Uint8Array, what: string): void {
  if (!(hash instanceof Uint8Array) || hash.length !== HASH_SIZE) {
    fail(`${what} must be ${HASH_SIZE} bytes, got ${hash instanceof Uint8Array ? hash.length : typeof hash}`);
  }
}

/** Accepts a BigInt or a safe integer in [0, 2^64 - 1]; anything else is a failed verification. */
function toTreeInteger(value: bigint | number, what: string): bigint {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) fail(`${what} must be a non-negative integer, got ${value}`);
    return BigInt(value);
  }
  if (typeof value !== 'bigint' || value < 0n || value > MAX_SIZE) fail(`${what} must be an integer in [0, 2^64 - 1]`);
  return value;
}

/** Roots are public, so a plain comparison is fine; this only avoids Buffer-vs-Uint8Array quirks. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
}

function fail(reason: string): never {
  throw new CustodyError('VERIFICATION_FAILED', reason);
}

// ---------------------------------------------------------------------------------------------
// Generation over an in-memory leaf list (RFC 6962 §2.1, §2.1.1 PATH, §2.1.2 PROOF)
// ---------------------------------------------------------------------------------------------

/** MTH(D[n]) over leaf hashes; the reference the stored-hash tree is tested against. */
export function rootOf(leafHashes: readonly Uint8Array[]): Buffer {
  if (leafHashes.length === 0) return Buffer.from(EMPTY_ROOT);
  return subtreeRoot(leafHashes, 0, leafHashes.length);
}

/** PATH(index, D[n]): the inclusion proof of leaf `index`, leaf end first. */
export function inclusionProofOf(leafHashes: readonly Uint8Array[], index: number): Buffer[] {
  return inclusionProofRanges(index, leafHashes.length).map(([lo, hi]) => subtreeRoot(leafHashes, lo, hi));
}

/** PROOF(size1, D[size2]): the consistency proof between the first `size1` and `size2` leaves. */
export function consistencyProofOf(leafHashes: readonly Uint8Array[], size1: number, size2: number): Buffer[] {
  if (size2 > leafHashes.length) throw new CustodyError('BAD_REQUEST', `tree size ${size2} exceeds the ${leafHashes.length} leaves given`);
  return consistencyProofRanges(size1, size2).map(([lo, hi]) => subtreeRoot(leafHashes, lo, hi));
}

/** Leaves D[start:end] whose MTH is one hash of a proof. */
export type LeafRange = readonly [start: number, end: number];

/**
 * The leaf ranges whose MTHs make up PATH(index, D[size]), leaf end first. Shared by the
 * in-memory and the stored-hash generators so that both walk the RFC 6962 recursion identically.
 */
export function inclusionProofRanges(index: number, size: number): LeafRange[] {
  if (!Number.isSafeInteger(size) || !Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new CustodyError('BAD_REQUEST', `leaf index ${index} is outside a tree of size ${size}`);
  }
  const ranges: LeafRange[] = [];
  let lo = 0;
  let hi = size;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
    }
  }
  return ranges.reverse();
}

/** The leaf ranges whose MTHs make up PROOF(size1, D[size2]) (RFC 6962 SUBPROOF), leaf end first. */
export function consistencyProofRanges(size1: number, size2: number): LeafRange[] {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 1 || size1 > size2) {
    throw new CustodyError('BAD_REQUEST', `no consistency proof from size ${size1} to ${size2}`);
  }
  const ranges: LeafRange[] = [];
  let lo = 0;
  let hi = size2;
  let complete = true; // SUBPROOF's b: the old tree is still the whole left part of [lo, hi)
  while (size1 !== hi) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (size1 <= lo + k) {
      ranges.push([lo + k, hi]);
      hi = lo + k;
    } else {
      ranges.push([lo, lo + k]);
      lo += k;
      complete = false;
    }
  }
  if (!complete) ranges.push([lo, hi]);
  return ranges.reverse();
}

/** MTH(D[lo:hi]) for hi > lo. */
function subtreeRoot(leafHashes: readonly Uint8Array[], lo: number, hi: number): Buffer {
  if (hi - lo === 1) return Buffer.from(leafHashes[lo] as Uint8Array);
  const k = largestPowerOfTwoBelow(hi - lo);
  return hashChildren(subtreeRoot(leafHashes, lo, lo + k), subtreeRoot(leafHashes, lo + k, hi));
}

/** The k of RFC 6962: the largest power of two strictly below n (n ≥ 2), without 32-bit shifts. */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
