/**
 * RFC 6962 / RFC 9162 Merkle proof verification that runs unchanged in Node and in the browser:
 * it hashes through an async `sha256` function the caller passes in (`crypto.subtle.digest` in
 * both) and imports nothing, so the transparency-log explorer's island (`ui/islands/verify-log.ts`)
 * can be served with this module inlined. It is the async twin of `merkle.ts` — same rules,
 * including the three checks RFC 9162 leaves implicit (every hash is 32 bytes, `size1 = 0` is an
 * error, `size1 = size2` needs an empty proof and equal roots) — and returns a result with the
 * reason instead of throwing, because the browser shows each step's outcome.
 * Spec: reference/transparency-log.md §1.3–§1.5; RFC 9162 §2.1.3.2, §2.1.4.2.
 *
 * Keep this file free of imports: `island-script.ts` inlines it into the served script.
 */

/** SHA-256 of some bytes, resolved asynchronously (WebCrypto). */
export type Sha256 = (data: Uint8Array) => Promise<Uint8Array>;

/** The outcome of a check: ok, or the precise reason it failed. */
export type CheckResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const PORTABLE_HASH_SIZE = 32;
const PORTABLE_MAX_PROOF_HASHES = 64;
const PORTABLE_MAX_SIZE = (1n << 64n) - 1n;

/** `sha256` over WebCrypto's `subtle.digest` (what Node and browsers both have). */
export function webCryptoSha256(subtle: { digest(algorithm: string, data: Uint8Array): Promise<ArrayBuffer> }): Sha256 {
  return async (data) => new Uint8Array(await subtle.digest('SHA-256', data));
}

/** RFC 6962 leaf hash: SHA-256(0x00 ‖ leaf). */
export function portableLeafHash(sha256: Sha256, leaf: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(leaf.length + 1);
  input.set(leaf, 1);
  return sha256(input);
}

/** RFC 6962 interior node hash: SHA-256(0x01 ‖ left ‖ right). */
export function portableNodeHash(sha256: Sha256, left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  const input = new Uint8Array(1 + left.length + right.length);
  input[0] = 1;
  input.set(left, 1);
  input.set(right, 1 + left.length);
  return sha256(input);
}

/** Lowercase hex of bytes. */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const byte of bytes) out += byte.toString(16).padStart(2, '0');
  return out;
}

/** Bytes of an even-length hex string, or undefined when it is not hex. */
export function hexToBytes(hex: string): Uint8Array | undefined {
  if (typeof hex !== 'string' || hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Byte equality (roots and hashes are public: no constant-time need). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** An inclusion proof to check: `leafHash` is leaf `index` of the tree of `size` whose root is `root`. */
export interface InclusionClaim {
  readonly leafHash: Uint8Array;
  readonly index: bigint | number;
  readonly size: bigint | number;
  readonly proof: readonly Uint8Array[];
  readonly root: Uint8Array;
}

/** Checks an inclusion proof (RFC 9162 §2.1.3.2) by recomputing every node hash with `sha256`. */
export async function verifyInclusionWith(sha256: Sha256, claim: InclusionClaim): Promise<CheckResult> {
  const bad = proofProblem(claim.proof, 'inclusion') ?? hashProblem(claim.leafHash, 'leaf hash') ?? hashProblem(claim.root, 'root');
  if (bad !== undefined) return failed(bad);
  const index = treeInteger(claim.index);
  const size = treeInteger(claim.size);
  if (index === undefined || size === undefined) return failed('leaf index and tree size must be integers in [0, 2^64 - 1]');
  if (index >= size) return failed(`leaf index ${index} is not below tree size ${size}`);
  const shape = pathShape(index, size - 1n);
  if (claim.proof.length !== shape.length) return failed(`inclusion proof has ${claim.proof.length} hashes; leaf ${index} of a tree of size ${size} needs ${shape.length}`);
  let computed = claim.leafHash;
  for (let i = 0; i < shape.length; i++) {
    const sibling = claim.proof[i] as Uint8Array;
    computed = shape[i] === true ? await portableNodeHash(sha256, sibling, computed) : await portableNodeHash(sha256, computed, sibling);
  }
  if (!bytesEqual(computed, claim.root)) return failed(`the proof for leaf ${index} leads to ${bytesToHex(computed)}, not to the root of the tree of size ${size}`);
  return { ok: true };
}

/** A consistency proof to check: the tree (`size1`, `root1`) is a prefix of (`size2`, `root2`). */
export interface ConsistencyClaim {
  readonly size1: bigint | number;
  readonly root1: Uint8Array;
  readonly size2: bigint | number;
  readonly root2: Uint8Array;
  readonly proof: readonly Uint8Array[];
}

/** Checks a consistency proof (RFC 9162 §2.1.4.2 with the §1.5 rules around the loop). */
export async function verifyConsistencyWith(sha256: Sha256, claim: ConsistencyClaim): Promise<CheckResult> {
  const tooLong = proofProblem(claim.proof, 'consistency');
  if (tooLong !== undefined) return failed(tooLong);
  const first = treeInteger(claim.size1);
  const second = treeInteger(claim.size2);
  if (first === undefined || second === undefined) return failed('tree sizes must be integers in [0, 2^64 - 1]');
  if (second < first) return failed(`the second tree (${second}) is smaller than the first (${first})`);
  // Before any loop: with size1 = 0, "while LSB(fn)" never ends on fn = -1.
  if (first === 0n) return failed('no consistency proof exists from the empty tree');
  if (first === second) {
    if (claim.proof.length !== 0) return failed(`a consistency proof between equal sizes must be empty, got ${claim.proof.length} hashes`);
    return bytesEqual(claim.root1, claim.root2) ? { ok: true } : failed(`two different roots for the same tree size ${first}`);
  }
  const bad = hashProblem(claim.root1, 'first root') ?? hashProblem(claim.root2, 'second root');
  if (bad !== undefined) return failed(bad);
  if (claim.proof.length === 0) return failed(`empty consistency proof from size ${first} to ${second}`);
  const firstIsNode = (first & (first - 1n)) === 0n;
  let fn = first - 1n;
  let sn = second - 1n;
  while ((fn & 1n) === 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  const shape = pathShape(fn, sn);
  const expected = shape.length + (firstIsNode ? 0 : 1);
  if (claim.proof.length !== expected) return failed(`consistency proof has ${claim.proof.length} hashes; sizes ${first} → ${second} need ${expected}`);
  const path = firstIsNode ? [claim.root1, ...claim.proof] : claim.proof;
  let firstRoot = path[0] as Uint8Array;
  let secondRoot = firstRoot;
  for (let i = 0; i < shape.length; i++) {
    const sibling = path[i + 1] as Uint8Array;
    if (shape[i] === true) {
      firstRoot = await portableNodeHash(sha256, sibling, firstRoot);
      secondRoot = await portableNodeHash(sha256, sibling, secondRoot);
    } else {
      secondRoot = await portableNodeHash(sha256, secondRoot, sibling);
    }
  }
  if (!bytesEqual(firstRoot, claim.root1)) return failed(`the proof does not lead to the root of the tree of size ${first}`);
  if (!bytesEqual(secondRoot, claim.root2)) return failed(`the proof does not lead to the root of the tree of size ${second}`);
  return { ok: true };
}

/** Sibling sides from node `fn` up to the root (true = sibling on the left); ends within 64 steps. */
function pathShape(fn: bigint, sn: bigint): boolean[] {
  const shape: boolean[] = [];
  while (sn !== 0n) {
    const siblingOnLeft = (fn & 1n) === 1n || fn === sn;
    shape.push(siblingOnLeft);
    if (siblingOnLeft && (fn & 1n) === 0n) {
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

function proofProblem(proof: readonly Uint8Array[], kind: string): string | undefined {
  if (!Array.isArray(proof)) return `${kind} proof must be a list of hashes`;
  if (proof.length > PORTABLE_MAX_PROOF_HASHES) return `${kind} proof has ${proof.length} hashes, more than ${PORTABLE_MAX_PROOF_HASHES}`;
  for (let i = 0; i < proof.length; i++) {
    const problem = hashProblem(proof[i], `${kind} proof hash ${i}`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

function hashProblem(hash: unknown, what: string): string | undefined {
  if (!(hash instanceof Uint8Array) || hash.length !== PORTABLE_HASH_SIZE) {
    return `${what} must be ${PORTABLE_HASH_SIZE} bytes, got ${hash instanceof Uint8Array ? hash.length : typeof hash}`;
  }
  return undefined;
}

function treeInteger(value: bigint | number): bigint | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : undefined;
  return typeof value === 'bigint' && value >= 0n && value <= PORTABLE_MAX_SIZE ? value : undefined;
}

function failed(reason: string): CheckResult {
  return { ok: false, reason };
}
