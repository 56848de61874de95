/**
 * The WebCrypto checkpoint verifier behind the log explorer's browser island
 * (src/log/portable-checkpoint.ts): a checkpoint signed by the server's signer (signed-note.ts)
 * verifies against its verifier key and yields origin, size and root; a changed root, size or
 * signature, another origin, or a note with no signature by the pinned key fails with a reason;
 * the published checkpoints of ../shared/interop/tlog/signed-notes.json verify (witness
 * cosignatures by unknown keys are ignored) and every malformed note there is refused; the bad
 * verifier keys there are refused.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatCheckpoint } from '../../src/log/checkpoint.js';
import { ed25519RawPublicKey, formatVerifierKey, signNote } from '../../src/log/signed-note.js';
import { parseVerifierKeyPortable, verifyCheckpointNote, type Ed25519Subtle, type PortableVerifierKey } from '../../src/log/portable-checkpoint.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const vectors = JSON.parse(readFileSync(path.join(repoRoot, '../shared/interop/tlog/signed-notes.json'), 'utf8')) as {
  open_vectors: { id: string; verifier_keys: string[]; note: string; want: { valid: boolean } }[];
  bad_verifier_keys: { vkey: string; why: string }[];
};
const subtle = globalThis.crypto.subtle as unknown as Ed25519Subtle;

async function keyOf(vkey: string): Promise<PortableVerifierKey> {
  const key = await parseVerifierKeyPortable(subtle, vkey);
  if ('error' in key) throw new Error(key.error);
  return key;
}

function serverCheckpoint(origin: string, size: number, root: Buffer): { note: string; vkey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { note: signNote(formatCheckpoint({ origin, size, rootHash: root }), { name: origin, privateKey }), vkey: formatVerifierKey(origin, ed25519RawPublicKey(publicKey)) };
}

describe('checkpoint verification over WebCrypto', () => {
  const root = Buffer.alloc(32, 7);

  it('verifies a checkpoint the server signed and reads origin, size and root', async () => {
    const { note, vkey } = serverCheckpoint('custody.test/log', 42, root);
    const result = await verifyCheckpointNote(subtle, note, await keyOf(vkey));
    expect(result).toEqual({ ok: true, checkpoint: { origin: 'custody.test/log', size: 42n, root: new Uint8Array(root) } });
  });

  it('fails on a changed root, a changed size, a changed signature, another key and another origin', async () => {
    const { note, vkey } = serverCheckpoint('custody.test/log', 42, root);
    const key = await keyOf(vkey);
    const otherRoot = note.replace(root.toString('base64'), Buffer.alloc(32, 8).toString('base64'));
    await expect(verifyCheckpointNote(subtle, otherRoot, key)).resolves.toMatchObject({ ok: false, reason: expect.stringContaining('does not verify') as unknown });
    await expect(verifyCheckpointNote(subtle, note.replace('\n42\n', '\n43\n'), key)).resolves.toMatchObject({ ok: false });
    const sigStart = note.lastIndexOf(' ') + 1;
    const flipped = note.slice(0, sigStart + 10) + (note[sigStart + 10] === 'A' ? 'B' : 'A') + note.slice(sigStart + 11);
    await expect(verifyCheckpointNote(subtle, flipped, key)).resolves.toMatchObject({ ok: false });
    const other = serverCheckpoint('custody.test/log', 42, root);
    await expect(verifyCheckpointNote(subtle, note, await keyOf(other.vkey))).resolves.toMatchObject({ ok: false, reason: expect.stringContaining('no signature by the pinned key') as unknown });
    // Signed by the pinned key, but the checkpoint names another log.
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    const misnamed = signNote(formatCheckpoint({ origin: 'elsewhere.test/log', size: 42, rootHash: root }), { name: 'custody.test/log', privateKey });
    const pinned = await keyOf(formatVerifierKey('custody.test/log', ed25519RawPublicKey(publicKey)));
    await expect(verifyCheckpointNote(subtle, misnamed, pinned)).resolves.toMatchObject({ ok: false, reason: expect.stringContaining('is not the pinned log') as unknown });
  });

  it('verifies the published checkpoints, ignoring cosignatures by unknown keys, and refuses every malformed note', async () => {
    let checked = 0;
    for (const vector of vectors.open_vectors) {
      const [vkey] = vector.verifier_keys;
      if (vkey === undefined) continue;
      const result = await verifyCheckpointNote(subtle, vector.note, await keyOf(vkey));
      if (!vector.want.valid) {
        expect(result.ok, vector.id).toBe(false);
      } else if (vector.id === 'sigsum-checkpoint-deterministic' || vector.id.startsWith('rekor-v2')) {
        expect(result.ok, vector.id).toBe(true);
      } else if (vector.id.startsWith('sum.golang.org')) {
        // Valid signature, but sumdb's origin is not its key name: a pinned-origin verifier refuses it.
        expect(result, vector.id).toMatchObject({ ok: false, reason: expect.stringContaining('is not the pinned log') as unknown });
      } else {
        // A valid note that is not a checkpoint.
        expect(result, vector.id).toMatchObject({ ok: false });
      }
      checked++;
    }
    expect(checked).toBeGreaterThan(10);
  });

  it('refuses the bad verifier keys', async () => {
    for (const bad of vectors.bad_verifier_keys) {
      await expect(parseVerifierKeyPortable(subtle, bad.vkey), bad.why).resolves.toHaveProperty('error');
    }
    await expect(parseVerifierKeyPortable(subtle, 'no-plus-signs')).resolves.toHaveProperty('error');
  });
});
