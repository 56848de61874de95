/**
 * The portable (WebCrypto) Merkle verifier behind the log explorer's browser island
 * (src/log/portable-merkle.ts): it gives the expected answer on all 196 transparency-dev/merkle
 * probes (inclusion and consistency, each under a timeout so a loop fails instead of hanging),
 * accepts every proof the server's generator makes for small trees, and agrees with the Node
 * verifier on tampering.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { consistencyProofOf, hashLeaf, inclusionProofOf, rootOf } from '../../src/log/merkle.js';
import { bytesToHex, hexToBytes, portableLeafHash, verifyConsistencyWith, verifyInclusionWith, webCryptoSha256 } from '../../src/log/portable-merkle.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const probes = JSON.parse(readFileSync(path.join(repoRoot, '../shared/interop/tlog/transparency-dev-merkle-probes.json'), 'utf8')) as {
  inclusion: { id: string; leafIdx: number; treeSize: number; root: string; leafHash: string; proof: string[] | null; wantErr: boolean }[];
  consistency: { id: string; size1: number; size2: number; root1: string; root2: string; proof: string[] | null; wantErr: boolean }[];
};
const sha256 = webCryptoSha256(globalThis.crypto.subtle);
const b64 = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'base64'));

/** Resolves the check, or fails the test if it takes more than a second (a verifier that loops). */
async function bounded<T>(check: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(new Error('verifier did not finish'));
    }, 1000);
  });
  try {
    return await Promise.race([check, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

describe('portable RFC 6962 verification over WebCrypto', () => {
  it('answers every transparency-dev/merkle inclusion probe as expected', async () => {
    expect(probes.inclusion).toHaveLength(98);
    for (const probe of probes.inclusion) {
      const result = await bounded(
        verifyInclusionWith(sha256, { leafHash: b64(probe.leafHash), index: probe.leafIdx, size: probe.treeSize, proof: (probe.proof ?? []).map(b64), root: b64(probe.root) }),
      );
      expect(result.ok, probe.id).toBe(!probe.wantErr);
    }
  });

  it('answers every transparency-dev/merkle consistency probe as expected, including size1 = 0 without looping', async () => {
    expect(probes.consistency).toHaveLength(98);
    for (const probe of probes.consistency) {
      const result = await bounded(
        verifyConsistencyWith(sha256, { size1: probe.size1, root1: b64(probe.root1), size2: probe.size2, root2: b64(probe.root2), proof: (probe.proof ?? []).map(b64) }),
      );
      expect(result.ok, probe.id).toBe(!probe.wantErr);
    }
  });

  it('accepts the server generator’s proofs for trees up to 20 leaves and rejects a flipped bit with the reason', async () => {
    const leaves = Array.from({ length: 20 }, (_, i) => hashLeaf(Buffer.from(`entry ${i}`)));
    for (let size = 1; size <= leaves.length; size++) {
      const tree = leaves.slice(0, size);
      const root = rootOf(tree);
      for (let index = 0; index < size; index++) {
        const proof = inclusionProofOf(tree, index);
        await expect(verifyInclusionWith(sha256, { leafHash: tree[index] as Buffer, index, size, proof, root })).resolves.toEqual({ ok: true });
      }
      for (let size1 = 1; size1 < size; size1++) {
        const proof = consistencyProofOf(tree, size1, size);
        await expect(verifyConsistencyWith(sha256, { size1, root1: rootOf(tree.slice(0, size1)), size2: size, root2: root, proof })).resolves.toEqual({ ok: true });
      }
    }
    const tree = leaves.slice(0, 13);
    const proof = inclusionProofOf(tree, 5).map((h) => Buffer.from(h));
    const victim = proof[1] as Buffer;
    victim[0] = (victim[0] ?? 0) ^ 1;
    const tampered = await verifyInclusionWith(sha256, { leafHash: tree[5] as Buffer, index: 5, size: 13, proof, root: rootOf(tree) });
    expect(tampered).toMatchObject({ ok: false, reason: expect.stringContaining('not to the root of the tree of size 13') as unknown });
  });

  it('hashes leaves as SHA-256(0x00 ‖ leaf) like the server, and converts hex both ways', async () => {
    const leaf = new TextEncoder().encode('{"type":"x"}');
    expect(bytesToHex(await portableLeafHash(sha256, leaf))).toBe(hashLeaf(leaf).toString('hex'));
    expect(bytesToHex(hexToBytes('00ff10') ?? new Uint8Array())).toBe('00ff10');
    expect(hexToBytes('0g')).toBeUndefined();
    expect(hexToBytes('abc')).toBeUndefined();
  });
});
