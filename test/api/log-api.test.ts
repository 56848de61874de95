/**
 * The transparency log through real HTTP on both metadata stores: bootstrap and pushes append
 * events in the same transaction as their change, refusals are logged, every write returns a
 * receipt whose proof verifies against a checkpoint signed by the served log key, and the C2SP
 * tiles and JSON proof endpoints agree with each other.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/crypto/canonical-json.js';
import { verifyCheckpoint } from '../../src/log/checkpoint.js';
import { hashLeaf, verifyConsistency, verifyInclusion } from '../../src/log/merkle.js';
import { parseVerifierKey } from '../../src/log/signed-note.js';
import { decodeEntryBundle } from '../../src/log/tiles.js';
import { BACKENDS, runCli, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { verifyFromSpec } from '../support/spec-checkpoint-verifier.js';

const hex = (b: string): Buffer => Buffer.from(b, 'hex');

describe.each(BACKENDS)('transparency log on %s', (backend) => {
  let reg: TestRegistry;
  let verifierKey: string;

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the test states the shape it expects
  async function json<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const res = await fetch(`${reg.url}${path}`, init);
    return { status: res.status, body: (await res.json()) as T };
  }

  async function register(files: { path: string; size: number; digest: string }[], model = 'team/m'): Promise<{ status: number; body: Record<string, unknown> }> {
    return json(`/api/v1/models/${model}/versions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${reg.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ files }),
    });
  }

  async function putBlob(content: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const res = await fetch(`${reg.url}/api/v1/blobs/${digest}`, { method: 'PUT', headers: { authorization: `Bearer ${reg.token}` }, body: content });
    expect(res.status).toBe(201);
    return digest;
  }

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    verifierKey = (await json<{ verifierKey: string }>('/api/v1/log/key')).body.verifierKey;
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('logs the bootstrap as principal.created, binding.granted and token.created without the secret', async () => {
    const types: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { status, body } = await json<{ leaf: string; leafHash: string; event: { type: string } }>(`/api/v1/log/entries/${i}`);
      expect(status).toBe(200);
      expect(body.leafHash).toBe(hashLeaf(Buffer.from(body.leaf, 'utf8')).toString('hex'));
      expect(body.leaf).toBe(canonicalJson(body.event));
      expect(body.leaf).not.toContain(reg.token);
      types.push(body.event.type);
    }
    expect(types).toEqual(['principal.created', 'binding.granted', 'token.created']);
  });

  it('returns a receipt with every push whose proof verifies against a checkpoint signed by the log key', async () => {
    const digest = await putBlob(Buffer.from('weights v1'));
    const { status, body } = await register([{ path: 'w.bin', size: 10, digest }]);
    expect(status).toBe(201);
    const receipt = body.receipt as { logIndex: number; leafHash: string; treeSize: number; inclusionProof: string[]; checkpoint: string };
    const checkpoint = verifyCheckpoint(receipt.checkpoint, parseVerifierKey(verifierKey));
    expect(Number(checkpoint.size)).toBe(receipt.treeSize);
    verifyInclusion(hex(receipt.leafHash), receipt.logIndex, receipt.treeSize, receipt.inclusionProof.map(hex), checkpoint.rootHash);

    const entry = await json<{ event: Record<string, unknown>; leafHash: string }>(`/api/v1/log/entries/${receipt.logIndex}`);
    expect(entry.body.leafHash).toBe(receipt.leafHash);
    expect(entry.body.event).toMatchObject({ type: 'version.registered', model: 'team/m', number: 1, digest: body.digest, actor: { principal: 'admin' } });

    const again = await register([{ path: 'w.bin', size: 10, digest }]);
    expect(again.status).toBe(200);
    expect(again.body.receipt).toBeNull();
  });

  it('logs a refused push as version.rejected and nothing else', async () => {
    const before = verifyCheckpoint((await (await fetch(`${reg.url}/log/checkpoint`)).text()), parseVerifierKey(verifierKey));
    const ghost = `sha256:${'77'.repeat(32)}`;
    const refused = await register([{ path: 'x.bin', size: 3, digest: ghost }], 'team/refused');
    expect(refused.status).toBe(422);
    const after = verifyCheckpoint((await (await fetch(`${reg.url}/log/checkpoint`)).text()), parseVerifierKey(verifierKey));
    expect(after.size).toBe(before.size + 1n);
    const last = await json<{ event: Record<string, unknown> }>(`/api/v1/log/entries/${Number(after.size) - 1}`);
    expect(last.body.event).toMatchObject({ type: 'version.rejected', model: 'team/refused', code: 'BLOB_MISSING' });
    const versions = await fetch(`${reg.url}/api/v1/models/team/refused/versions`, { headers: { authorization: `Bearer ${reg.token}` } });
    expect(versions.status).toBe(404);
  });

  it('serves checkpoints that a verifier written from the C2SP spec accepts with the key `custody log key` prints', async () => {
    const printed = await runCli(['log', 'key'], { CUSTODY_SERVER: reg.url });
    expect(printed.code, printed.stderr).toBe(0);
    const vkey = printed.stdout.trim();
    expect(vkey).toBe(verifierKey);
    const note = await (await fetch(`${reg.url}/log/checkpoint`)).text();
    const independent = verifyFromSpec(note, vkey);
    expect(independent.origin).toBe('custody.local/log');
    expect(independent.root.equals(verifyCheckpoint(note, parseVerifierKey(vkey)).rootHash)).toBe(true);
    expect(() => verifyFromSpec(note.replace(/\n[0-9]+\n/, '\n999\n'), vkey)).toThrow(/no valid signature/);
  });

  it('serves C2SP tiles and entry bundles that agree with the entries and the checkpoint', async () => {
    const note = await (await fetch(`${reg.url}/log/checkpoint`)).text();
    const checkpoint = verifyCheckpoint(note, parseVerifierKey(verifierKey));
    const size = Number(checkpoint.size);
    const tile = Buffer.from(await (await fetch(`${reg.url}/log/tile/0/000.p/${size}`)).arrayBuffer());
    expect(tile.length).toBe(32 * size);
    const bundle = decodeEntryBundle(Buffer.from(await (await fetch(`${reg.url}/log/tile/entries/000.p/${size}`)).arrayBuffer()));
    expect(bundle).toHaveLength(size);
    bundle.forEach((leaf, i) => {
      expect(hashLeaf(leaf).equals(tile.subarray(i * 32, (i + 1) * 32))).toBe(true);
    });
    expect((await fetch(`${reg.url}/log/tile/0/000.p/${size + 1}`)).status).toBe(404);
    expect((await fetch(`${reg.url}/log/tile/0/001`)).status).toBe(404);
    expect((await fetch(`${reg.url}/log/tile/0/x/000`)).status).toBe(404);
  });

  it('lists events newest first in the audit feed, filtered by model, type and time, only with a token', async () => {
    const auth = { headers: { authorization: `Bearer ${reg.token}` } };
    const all = await json<{ items: { index: number; event: { type: string; model?: string; time: string } }[] }>('/api/v1/audit', auth);
    expect(all.status).toBe(200);
    const indexes = all.body.items.map((i) => i.index);
    expect(indexes).toEqual([...indexes].sort((a, b) => b - a));
    expect(all.body.items.at(-1)?.event.type).toBe('principal.created');

    const registered = await json<{ items: { event: { type: string; model?: string } }[] }>('/api/v1/audit?type=version.registered&model=team/m', auth);
    expect(registered.body.items.length).toBeGreaterThan(0);
    for (const item of registered.body.items) expect(item.event).toMatchObject({ type: 'version.registered', model: 'team/m' });

    const newest = all.body.items[0];
    if (newest === undefined) throw new Error('empty audit feed');
    const since = await json<{ items: { index: number }[] }>(`/api/v1/audit?since=${encodeURIComponent(newest.event.time)}`, auth);
    expect(since.body.items.map((i) => i.index)).toContain(newest.index);
    expect(since.body.items.length).toBeLessThan(all.body.items.length);

    const page = await json<{ items: { index: number }[]; nextBefore: number | null }>('/api/v1/audit?limit=2', auth);
    expect(page.body.items).toHaveLength(2);
    const next = await json<{ items: { index: number }[] }>(`/api/v1/audit?limit=2&before=${String(page.body.nextBefore)}`, auth);
    expect(next.body.items[0]?.index).toBe((page.body.items[1]?.index ?? 0) - 1);

    expect((await fetch(`${reg.url}/api/v1/audit`)).status).toBe(401);
    expect((await fetch(`${reg.url}/api/v1/audit?type=no.such`, auth)).status).toBe(400);
  });

  it('proves inclusion by leaf hash and consistency between stored checkpoints', async () => {
    const first = await json<{ leafHash: string }>('/api/v1/log/entries/0');
    const proof = await json<{ index: number; treeSize: number; proof: string[]; checkpoint: string }>(`/api/v1/log/proof/inclusion?leafHash=${first.body.leafHash}`);
    expect(proof.status).toBe(200);
    const latest = verifyCheckpoint(proof.body.checkpoint, parseVerifierKey(verifierKey));
    verifyInclusion(hex(first.body.leafHash), proof.body.index, proof.body.treeSize, proof.body.proof.map(hex), latest.rootHash);

    // Bootstrap signed a checkpoint of size 3; the latest one must extend it.
    const old = await json<{ checkpoint: string }>('/api/v1/log/proof/inclusion?index=0&size=3');
    const oldCheckpoint = verifyCheckpoint(old.body.checkpoint, parseVerifierKey(verifierKey));
    const consistency = await json<{ from: number; to: number; proof: string[] }>('/api/v1/log/proof/consistency?from=3');
    verifyConsistency(3, consistency.body.to, consistency.body.proof.map(hex), oldCheckpoint.rootHash, latest.rootHash);
    expect((await fetch(`${reg.url}/api/v1/log/proof/consistency?from=0`)).status).toBe(400);
    expect((await fetch(`${reg.url}/api/v1/log/proof/inclusion?index=999999`)).status).toBe(404);
  });
});
