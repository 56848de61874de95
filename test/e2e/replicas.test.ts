/**
 * Two `custody serve` replicas on one PostgreSQL database and one S3 bucket behave as one registry
 * (issue 7 §3 acceptance; SPEC §3 "Scale-out", §9 upload sessions, §10 "race / TOCTOU"):
 * - a push interrupted on replica A resumes on replica B, which receives only the missing bytes
 *   (raw session calls, and the SDK's `push` picking up the session A left);
 * - racing promotions through both replicas give one winning decision per race: with
 *   `expectCurrent` the loser gets 409 ALIAS_MOVED and logs nothing; without it the loser is
 *   decided after the winner and sees the winner's placement;
 * - 100 concurrent mixed writes through both replicas leave one gap-free log whose receipts and
 *   checkpoints verify, that `custody log verify --full` accepts through either replica and
 *   `custody admin verify-store` accepts once the replicas are stopped (last, so it covers
 *   everything the suite wrote).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { verifyCheckpoint } from '../../src/log/checkpoint.js';
import { hashLeaf, rootOf, verifyConsistency, verifyInclusion } from '../../src/log/merkle.js';
import { parseVerifierKey, type Verifier } from '../../src/log/signed-note.js';
import { scanModel } from '../../src/sdk/local-model.js';
import { attest, createPrincipal, pushModel, scanPredicate, type PushedVersion, type Seed } from '../support/promotion-fixtures.js';
import { startReplicaSet, type Replica, type ReplicaReply, type ReplicaSet } from '../support/replicas.js';
import { listBucketKeys, testS3Client } from '../support/s3-storage.js';
import { setUpStagingSeed } from '../support/staging-seed.js';
import { uploadBytesReceived } from '../support/test-files.js';
import { makeKey, signBundle, VULNS } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;
interface Receipt { logIndex: number; leafHash: string; treeSize: number; inclusionProof: string[]; checkpoint: string }
interface Entry { index: number; leafHash: string; leaf: string; event: Json }

const MIB = 1024 * 1024;
/** Above the SDK's 8 MiB session threshold, so `push` goes through an upload session. */
const BIG = 12 * MIB + 17;
/** What A receives before the push is interrupted. */
const SENT_TO_A = 5 * MIB + 3;
const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const sha256 = (b: Buffer | string): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;

let set: ReplicaSet;
let A: Replica;
let B: Replica;
let verifier: Verifier;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'custody-replicas-'));
  set = await startReplicaSet({ count: 2 });
  [A, B] = [set.replica(0), set.replica(1)];
  const keys = await Promise.all([A, B].map(async (r) => (await r.fetch('/api/v1/log/key')).json() as Promise<{ verifierKey: string }>));
  expect(keys[1]).toEqual(keys[0]);
  verifier = parseVerifierKey(keys[0]?.verifierKey ?? '');
}, 60_000);

afterAll(async () => {
  await set.stop();
  await rm(work, { recursive: true, force: true });
});

/** PATCHes `bytes` (the blob's bytes from `start`) into a session; returns the reply. */
function patch(r: Replica, id: string, bytes: Buffer, start: number, total: number): Promise<ReplicaReply> {
  return r
    .fetch(`/api/v1/uploads/${id}`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-range': `bytes ${start}-${start + bytes.length - 1}/${total}` },
      body: bytes,
    })
    .then(async (res) => ({ status: res.status, body: (await res.json()) as Json, headers: res.headers }));
}

/** A model directory: one big random file and a small config. */
async function bigModel(name: string): Promise<{ dir: string; weights: Buffer; digest: string }> {
  const dir = path.join(work, name);
  await mkdir(dir, { recursive: true });
  const weights = randomBytes(BIG);
  await writeFile(path.join(dir, 'weights.bin'), weights);
  await writeFile(path.join(dir, 'config.json'), `{"model": "${name}"}`);
  return { dir, weights, digest: sha256(weights) };
}

describe('a push interrupted on replica A resumes on replica B', () => {
  // The suites after this one need A: bring it back even when a test failed while it was down.
  afterEach(async () => {
    if (!A.running()) await A.restart();
  });

  it('B continues the session of a killed A from the offset it reads from the shared stores, receives only the rest, and the pulled model is identical', async () => {
    const { dir, weights, digest } = await bigModel('raw-resume');
    const [aBefore, bBefore] = [await uploadBytesReceived(A.url), await uploadBytesReceived(B.url)];

    const opened = await A.json('POST', '/api/v1/uploads', { digest, size: BIG });
    expect(opened.status, JSON.stringify(opened.body)).toBe(201);
    const id = String(opened.body['id']);
    const first = await patch(A, id, weights.subarray(0, SENT_TO_A), 0, BIG);
    expect([first.status, first.body['offset']]).toEqual([200, SENT_TO_A]);

    expect((await uploadBytesReceived(A.url)) - aBefore).toBe(SENT_TO_A);
    // A dies (kill -9): B knows where the session stands without ever having seen it.
    await A.kill9();
    const status = await B.json('GET', `/api/v1/uploads/${id}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ id, digest, size: BIG, offset: SENT_TO_A, exists: false });
    expect(status.headers.get('upload-offset')).toBe(String(SENT_TO_A));
    // Re-opening the session for the same blob on B resumes it, and B refuses a restart from 0.
    expect(await B.json('POST', '/api/v1/uploads', { digest, size: BIG })).toMatchObject({ status: 200, body: { id, offset: SENT_TO_A } });
    const restart = await patch(B, id, weights.subarray(0, MIB), 0, BIG);
    expect([restart.status, restart.body['code']]).toEqual([409, 'UPLOAD_OFFSET_MISMATCH']);

    const offset = Number(status.body['offset']);
    const rest = weights.subarray(offset);
    const finished = await patch(B, id, rest, offset, BIG);
    expect([finished.status, finished.body['offset']]).toEqual([200, BIG]);
    expect(await B.json('POST', `/api/v1/uploads/${id}/commit`, { digest })).toMatchObject({ status: 201, body: { digest, size: BIG } });

    // B received only what was left.
    expect((await uploadBytesReceived(B.url)) - bBefore).toBe(BIG - SENT_TO_A);
    expect(rest.length).toBe(BIG - SENT_TO_A);
    // The session's parts are gone from the bucket; the blob is there once, under its address.
    const s3 = testS3Client();
    try {
      expect(await listBucketKeys(s3, set.bucket, `uploads/${id}/`)).toEqual([]);
      expect(await listBucketKeys(s3, set.bucket, `blobs/sha256/${digest.slice('sha256:'.length)}`)).toHaveLength(1);
    } finally {
      s3.destroy();
    }

    // Register on B (the config goes up in one PUT) and pull through A, restarted: byte for byte.
    await A.restart();
    const local = await scanModel(dir);
    const config = local.files.find((f) => f.path === 'config.json');
    if (config === undefined) throw new Error('no config.json');
    const clientB = B.client();
    const clientA = A.client();
    try {
      await clientB.putBlob(config);
      const registered = await clientB.registerVersion('replicas/raw-resume', { files: local.files.map((f) => ({ path: f.path, size: f.size, digest: `sha256:${f.sha256}` })) });
      expect(registered.created).toBe(true);
      expect(registered.version.digest).toBe(local.digest);
      const out = path.join(work, 'raw-resume-pulled');
      await clientA.pull(`replicas/raw-resume@${local.digest}`, { output: out });
      expect((await readFile(path.join(out, 'weights.bin'))).equals(weights)).toBe(true);
      expect(await readFile(path.join(out, 'config.json'), 'utf8')).toBe('{"model": "raw-resume"}');
    } finally {
      clientA.close();
      clientB.close();
    }
  });

  it("the SDK's push through B picks up the session A left and sends only the missing bytes", async () => {
    const { dir, weights, digest } = await bigModel('sdk-resume');
    const clientA = A.client();
    const clientB = B.client();
    try {
      const opened = await clientA.createUpload(digest, BIG);
      if (opened.id === null) throw new Error('no session');
      expect((await patch(A, opened.id, weights.subarray(0, SENT_TO_A), 0, BIG)).body['offset']).toBe(SENT_TO_A);

      const bBefore = await uploadBytesReceived(B.url);
      const configSize = Buffer.byteLength('{"model": "sdk-resume"}');
      const pushed = await clientB.push(dir, { model: 'replicas/sdk-resume' });
      expect(pushed.created).toBe(true);
      expect(pushed.uploadedFiles).toBe(2);
      expect(pushed.uploadedBytes).toBe(BIG - SENT_TO_A + configSize);
      expect((await uploadBytesReceived(B.url)) - bBefore).toBe(BIG - SENT_TO_A + configSize);
      // The session A opened is the one B finished: it no longer exists on either replica.
      for (const r of [A, B]) expect((await r.json('GET', `/api/v1/uploads/${opened.id}`)).status).toBe(404);

      const out = path.join(work, 'sdk-resume-pulled');
      await clientA.pull(`replicas/sdk-resume@${pushed.version.digest}`, { output: out });
      expect((await readFile(path.join(out, 'weights.bin'))).equals(weights)).toBe(true);
    } finally {
      clientA.close();
      clientB.close();
    }
  });
});

describe('racing promotions through both replicas', () => {
  let seed: Seed;
  let counter = 0;

  beforeAll(async () => {
    // The shipped staging policy without requireFrom (each race brings its own versions).
    seed = await setUpStagingSeed(A.asTestRegistry());
  });

  /** A fresh model with `count` promotable versions (training provenance and a clean scan). */
  async function promotable(count: number): Promise<PushedVersion[]> {
    const reg = A.asTestRegistry();
    const model = `races/model-${++counter}`;
    const versions: PushedVersion[] = [];
    for (let i = 0; i < count; i++) {
      const version = await pushModel(reg, model, seed.keys.training);
      await attest(reg, version, seed.keys.scanner, VULNS, scanPredicate('clean'));
      versions.push(version);
    }
    return versions;
  }

  function promote(r: Replica, version: PushedVersion, expectCurrent?: string): Promise<ReplicaReply> {
    const body = { version: version.digest, ...(expectCurrent === undefined ? {} : { expectCurrent }) };
    return r.json('POST', `/api/v1/models/${version.model}/environments/staging/promotions`, body, seed.principals.ci);
  }

  /** Sends the promotions at once (both are on the wire before either replica answers). */
  function race(...requests: (() => Promise<ReplicaReply>)[]): Promise<ReplicaReply[]> {
    return Promise.all(requests.map((send) => send()));
  }

  async function logSize(): Promise<number> {
    return Number(verifyCheckpoint(await (await A.fetch('/log/checkpoint')).text(), verifier).size);
  }

  async function decisionsLogged(model: string): Promise<(Json & { index: number })[]> {
    const reply = await B.json('GET', `/api/v1/audit?type=promotion.decided&model=${encodeURIComponent(model)}&limit=1000`);
    return (reply.body['items'] as { index: number; event: Json }[]).map((i) => ({ ...i.event, index: i.index })).sort((x, y) => x.index - y.index);
  }

  async function staging(model: string): Promise<Json> {
    const reply = await A.json('GET', `/api/v1/models/${model}/environments`);
    const found = (reply.body['environments'] as Json[]).find((e) => e['environment'] === 'staging');
    if (found === undefined) throw new Error('no staging');
    return found;
  }

  it('with expectCurrent, one replica decides and moves the alias, the other answers 409 ALIAS_MOVED and logs nothing (5 races)', async () => {
    for (let round = 0; round < 5; round++) {
      const [version] = await promotable(1);
      if (version === undefined) throw new Error('unreachable');
      const sizeBefore = await logSize();
      const replies = await race(() => promote(A, version, 'none'), () => promote(B, version, 'none'));
      const won = replies.filter((r) => r.status === 200);
      const lost = replies.filter((r) => r.status !== 200);
      expect(won, JSON.stringify(replies.map((r) => [r.status, r.body['code']]))).toHaveLength(1);
      expect(lost.map((r) => [r.status, r.body['code']])).toEqual([[409, 'ALIAS_MOVED']]);
      const winner = won[0]?.body ?? {};
      expect(winner).toMatchObject({ outcome: 'allow', version: version.digest, environment: 'staging' });

      const logged = await decisionsLogged(version.model);
      expect(logged.map((e) => [e.index, e['decision'], e['outcome'], e['previous']])).toEqual([[winner['logIndex'], winner['id'], 'allow', null]]);
      expect(await staging(version.model)).toMatchObject({ version: version.digest, decision: winner['id'], logIndex: winner['logIndex'] });
      // The refused request appended nothing at all.
      expect(await logSize()).toBe(sizeBefore + 1);
    }
  });

  it('with expectCurrent and two different versions, exactly one lands and the alias holds the winner (3 races)', async () => {
    for (let round = 0; round < 3; round++) {
      const [v1, v2] = await promotable(2);
      if (v1 === undefined || v2 === undefined) throw new Error('unreachable');
      const sizeBefore = await logSize();
      const replies = await race(() => promote(A, v1, 'none'), () => promote(B, v2, 'none'));
      const won = replies.filter((r) => r.status === 200);
      expect(won).toHaveLength(1);
      expect(replies.filter((r) => r.status === 409).map((r) => r.body['code'])).toEqual(['ALIAS_MOVED']);
      const winner = won[0]?.body ?? {};
      expect((await decisionsLogged(v1.model)).map((e) => [e['decision'], e['version'], e['previous']])).toEqual([[winner['id'], winner['version'], null]]);
      expect(await staging(v1.model)).toMatchObject({ version: winner['version'], decision: winner['id'] });
      expect(await logSize()).toBe(sizeBefore + 1);
    }
  });

  it('without expectCurrent, both are decided one after the other: the second re-evaluates against the placement the first made (3 races)', async () => {
    for (let round = 0; round < 3; round++) {
      const [version] = await promotable(1);
      if (version === undefined) throw new Error('unreachable');
      const replies = await race(() => promote(A, version), () => promote(B, version));
      for (const r of replies) expect(r.status, JSON.stringify(r.body)).toBe(200);
      const [first, second] = replies.map((r) => r.body).sort((x, y) => Number(x['logIndex']) - Number(y['logIndex']));
      if (first === undefined || second === undefined) throw new Error('unreachable');
      // One decision moved the alias (from nothing); the other saw it already there.
      const logged = await decisionsLogged(version.model);
      expect(logged.map((e) => [e.index, e['decision'], e['outcome'], e['previous']])).toEqual([
        [first['logIndex'], first['id'], 'allow', null],
        [second['logIndex'], second['id'], 'allow', version.digest],
      ]);
      expect(logged.filter((e) => e['previous'] !== version.digest)).toHaveLength(1);
      // The alias holds the version once; the later decision, having placed it again, is the one it names.
      expect(await staging(version.model)).toMatchObject({ version: version.digest, decision: second['id'], logIndex: second['logIndex'] });
    }
  });
});

describe('100 concurrent mixed writes through both replicas', () => {
  /** Every receipt a write returned, and which replica returned it. */
  const receipts: { replica: string; what: string; receipt: Receipt }[] = [];
  const outcomes: { what: string; status: number }[] = [];
  let before = 0;
  let after = 0;
  let entries: Entry[] = [];
  const newTokens: string[] = [];
  let revokedTokens: string[] = [];

  beforeAll(async () => {
    const reg = A.asTestRegistry();
    const signer = makeKey('burst-signer');
    const burstType = 'https://custody.dev/test/burst/v1';
    expect((await A.json('POST', '/api/v1/keys', { name: signer.name, publicKey: signer.publicKeyPem, predicateTypes: [burstType] })).status).toBe(201);
    await createPrincipal(reg, 'burst-bot', 'user', [{ role: 'viewer' }]);
    // Tokens to revoke, each used once on each replica first (so neither can rely on a stale view).
    const toRevoke = await Promise.all(Array.from({ length: 10 }, () => A.json('POST', '/api/v1/tokens', { principal: 'burst-bot' })));
    revokedTokens = toRevoke.map((t) => String(t.body['token']));
    for (const t of revokedTokens) for (const r of [A, B]) expect((await r.json('GET', '/api/v1/whoami', undefined, t)).status).toBe(200);
    const attested = await pushModel(reg, 'burst/attested', null);
    const againDir = path.join(work, 'burst-again');
    await mkdir(againDir, { recursive: true });
    await writeFile(path.join(againDir, 'w.bin'), 'the same bytes every time');
    const seedClient = A.client();
    await seedClient.push(againDir, { model: 'burst/again' });
    seedClient.close();
    const pushDirs = await Promise.all(
      Array.from({ length: 30 }, async (_, i) => {
        const dir = path.join(work, `burst-${i}`);
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'w.bin'), randomBytes(1024 + i));
        return dir;
      }),
    );
    before = Number(verifyCheckpoint(await (await A.fetch('/log/checkpoint')).text(), verifier).size);

    const on = (i: number): Replica => (i % 2 === 0 ? A : B);
    const keep = (what: string, r: Replica, status: number, body: Json): void => {
      outcomes.push({ what, status });
      const receipt = body['receipt'] as Receipt | null | undefined;
      if (receipt !== undefined && receipt !== null) receipts.push({ replica: r.name, what, receipt });
    };
    const ops: (() => Promise<void>)[] = [
      // 30 pushes through the SDK: half to models of their own, half contending for one model's version numbers.
      ...pushDirs.map((dir, i) => async () => {
        const client = on(i).client();
        try {
          const pushed = await client.push(dir, { model: i % 2 === 0 ? `burst/own-${i}` : 'burst/shared' });
          keep('push', on(i), pushed.created ? 201 : 200, pushed.version);
        } finally {
          client.close();
        }
      }),
      // 10 re-pushes of a registered model: idempotent, nothing logged.
      ...Array.from({ length: 10 }, (_, i) => async () => {
        const client = on(i).client();
        try {
          const pushed = await client.push(againDir, { model: 'burst/again' });
          keep('re-push', on(i), pushed.created ? 201 : 200, pushed.version);
        } finally {
          client.close();
        }
      }),
      // 10 registrations of a blob nobody uploaded: refused (422) and logged as version.rejected.
      ...Array.from({ length: 10 }, (_, i) => async () => {
        const ghost = sha256(`never uploaded ${i}`);
        const reply = await on(i).json('POST', `/api/v1/models/burst/refused-${i}/versions`, { files: [{ path: 'x.bin', size: 3, digest: ghost }] });
        keep('refused', on(i), reply.status, reply.body);
      }),
      ...Array.from({ length: 10 }, (_, i) => async () => {
        const key = makeKey(`burst-key-${i}`);
        const reply = await on(i).json('POST', '/api/v1/keys', { name: key.name, publicKey: key.publicKeyPem, predicateTypes: [burstType] });
        keep('key', on(i), reply.status, reply.body);
      }),
      ...Array.from({ length: 10 }, (_, i) => async () => {
        const bundle = signBundle(signer, attested.digest, burstType, { run: i });
        const reply = await on(i).json('POST', `/api/v1/models/burst/attested/versions/${attested.digest}/attestations`, { bundle });
        keep('attestation', on(i), reply.status, reply.body);
      }),
      ...Array.from({ length: 10 }, (_, i) => async () => {
        const reply = await on(i).json('POST', '/api/v1/tokens', { principal: 'burst-bot', name: `burst-${i}` });
        keep('token', on(i), reply.status, reply.body);
        newTokens.push(String(reply.body['token']));
      }),
      ...toRevoke.map((t, i) => async () => {
        const reply = await on(i + 1).json('POST', `/api/v1/tokens/${String(t.body['id'])}/revoke`);
        keep('revoke', on(i + 1), reply.status, reply.body);
      }),
      ...Array.from({ length: 10 }, (_, i) => async () => {
        const reply = await on(i + 1).json('POST', '/api/v1/principals', { name: `burst-principal-${i}`, kind: 'service' });
        keep('principal', on(i + 1), reply.status, reply.body);
      }),
    ];
    expect(ops).toHaveLength(100);
    await Promise.all(ops.map((op) => op()));

    after = Number(verifyCheckpoint(await (await B.fetch('/log/checkpoint')).text(), verifier).size);
    const read = await Promise.all(
      Array.from({ length: after }, async (_, i) => {
        const reply = await (i % 2 === 0 ? A : B).json('GET', `/api/v1/log/entries/${i}`);
        expect(reply.status).toBe(200);
        return reply.body as unknown as Entry;
      }),
    );
    entries = read;
  }, 60_000);

  it('answers every write as its kind says', () => {
    const statuses = (what: string): number[] => outcomes.filter((o) => o.what === what).map((o) => o.status);
    expect(statuses('push')).toEqual(Array.from({ length: 30 }, () => 201));
    expect(statuses('re-push')).toEqual(Array.from({ length: 10 }, () => 200));
    expect(statuses('refused')).toEqual(Array.from({ length: 10 }, () => 422));
    for (const what of ['key', 'attestation', 'token', 'principal']) expect(statuses(what)).toEqual(Array.from({ length: 10 }, () => 201));
    expect(statuses('revoke')).toEqual(Array.from({ length: 10 }, () => 200));
  });

  it('logs one gap-free sequence 0..N-1 holding exactly the burst\'s events, the same through either replica', async () => {
    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: after }, (_, i) => i));
    for (const e of entries) expect(e.leafHash).toBe(hashLeaf(Buffer.from(e.leaf, 'utf8')).toString('hex'));
    expect(new Set(entries.map((e) => e.leafHash)).size).toBe(entries.length);
    const burst = entries.slice(before).map((e) => String(e.event['type']));
    const count = (type: string): number => burst.filter((t) => t === type).length;
    expect(burst).toHaveLength(90);
    expect([count('version.registered'), count('version.rejected'), count('key.added'), count('attestation.added'), count('token.created'), count('token.revoked'), count('principal.created')]).toEqual([
      30, 10, 10, 10, 10, 10, 10,
    ]);
    const shared = entries.slice(before).filter((e) => e.event['type'] === 'version.registered' && e.event['model'] === 'burst/shared');
    expect(shared.map((e) => e.event['number']).sort((x, y) => Number(x) - Number(y))).toEqual(Array.from({ length: 15 }, (_, i) => i + 1));
    // Nothing past the end on either replica, and both serve the same entries.
    for (const r of [A, B]) expect((await r.json('GET', `/api/v1/log/entries/${after}`)).status).toBe(404);
    const sample = await Promise.all(entries.slice(before).map((e, i) => (i % 2 === 0 ? B : A).json('GET', `/api/v1/log/entries/${e.index}`)));
    sample.forEach((s, i) => { expect(s.body).toEqual(entries[before + i]); });
    const root = rootOf(entries.map((e) => hex(e.leafHash)));
    const head = verifyCheckpoint(await (await A.fetch('/log/checkpoint')).text(), verifier);
    expect(Number(head.size)).toBe(after);
    expect(root.equals(head.rootHash)).toBe(true);
  });

  it('gives every logged write a receipt that proves inclusion against its checkpoint, at the entry of its event', () => {
    expect(receipts).toHaveLength(80);
    expect(new Set(receipts.map((r) => r.replica))).toEqual(new Set(['A', 'B']));
    for (const { receipt } of receipts) {
      const checkpoint = verifyCheckpoint(receipt.checkpoint, verifier);
      expect(Number(checkpoint.size)).toBe(receipt.treeSize);
      verifyInclusion(hex(receipt.leafHash), receipt.logIndex, receipt.treeSize, receipt.inclusionProof.map(hex), checkpoint.rootHash);
      expect(entries[receipt.logIndex]?.leafHash).toBe(receipt.leafHash);
    }
    expect(new Set(receipts.map((r) => r.receipt.logIndex)).size).toBe(receipts.length);
    // The replicas' appends interleave in the log: the writes really were concurrent.
    const order = [...receipts].sort((x, y) => x.receipt.logIndex - y.receipt.logIndex).map((r) => r.replica);
    expect(order.filter((name, i) => i > 0 && name !== order[i - 1]).length).toBeGreaterThanOrEqual(10);
  });

  it('hands out checkpoints on A and B that are all consistent with one another', async () => {
    const checkpoints = receipts.map((r) => ({ replica: r.replica, checkpoint: verifyCheckpoint(r.receipt.checkpoint, verifier) })).sort((x, y) => Number(x.checkpoint.size - y.checkpoint.size));
    let proofs = 0;
    for (let i = 1; i < checkpoints.length; i++) {
      const [prev, next] = [checkpoints[i - 1], checkpoints[i]];
      if (prev === undefined || next === undefined) throw new Error('unreachable');
      const [from, to] = [Number(prev.checkpoint.size), Number(next.checkpoint.size)];
      if (from === to) {
        expect(next.checkpoint.rootHash.equals(prev.checkpoint.rootHash)).toBe(true);
        continue;
      }
      // Asked of the replica that did not sign the newer one.
      const reply = await (next.replica === 'A' ? B : A).json('GET', `/api/v1/log/proof/consistency?from=${from}&to=${to}`);
      verifyConsistency(from, to, (reply.body['proof'] as string[]).map(hex), prev.checkpoint.rootHash, next.checkpoint.rootHash);
      proofs++;
    }
    expect(proofs).toBeGreaterThan(10);
  });

  it('applies every token change on both replicas', async () => {
    for (const r of [A, B]) {
      for (const t of revokedTokens) expect((await r.json('GET', '/api/v1/whoami', undefined, t)).status).toBe(401);
      for (const t of newTokens) expect((await r.json('GET', '/api/v1/whoami', undefined, t)).body['name']).toBe('burst-bot');
    }
  });

  it('passes `custody log verify --full` through each replica, then `custody admin verify-store` with the replicas stopped', async () => {
    for (const index of [0, 1]) {
      const result = await set.cli(index, ['--json', 'log', 'verify', '--full']);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ verified: true, size: after, entriesVerified: after });
    }
    await Promise.all(set.replicas.map((r) => r.stop()));
    const verified = await set.verifyStore({ json: true });
    expect(verified.code, verified.stderr + verified.stdout).toBe(0);
    expect(JSON.parse(verified.stdout)).toMatchObject({ problems: [], counts: { logEntries: after, checkpointSize: after } });
  });
});
