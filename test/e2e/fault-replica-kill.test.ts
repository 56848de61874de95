/**
 * Fault: a replica killed with kill -9 mid-upload or mid-promotion leaves nothing partial and the
 * other replica serves on (issue 7 §4). Two `custody serve` replicas share one PostgreSQL
 * database and one S3 bucket (`replicas.ts`).
 * - Mid-upload: A dies while a CLI push streams a large file into it and while a single-shot PUT
 *   is half sent. Nothing is registered or visible; B reports the session's offset (the bytes A
 *   stored stay) and the push through B sends only the rest and pulls back byte for byte; the
 *   abandoned PUT leaves no blob.
 * - Mid-promotion: A dies at staggered moments while a promotion request is in flight. Seen
 *   through B, the decision and the alias move are both there or neither is, never one without
 *   the other; B then promotes. The log stays one sequence that `log verify --full` and
 *   `admin verify-store` accept.
 * (`replicas.test.ts` covers a session A finished writing before it was killed.)
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attest, pushModel, scanPredicate, type PushedVersion, type Seed } from '../support/promotion-fixtures.js';
import { expectCliOk } from '../support/registry.js';
import { startReplicaSet, type Replica, type ReplicaSet } from '../support/replicas.js';
import { listBucketKeys, listOpenMultipartUploads, testS3Client } from '../support/s3-storage.js';
import { startStalledPut } from '../support/stalled-put.js';
import { setUpStagingSeed } from '../support/staging-seed.js';
import { MiB, sha256File, uploadBytesReceived, writeBigFile } from '../support/test-files.js';
import { VULNS } from '../support/trust-fixtures.js';
import { sleep } from '../support/wait-for.js';

type Json = Record<string, unknown>;

const BIG_MIB = 48;
/** A is killed once it has received this much of the big file. */
const KILL_AFTER_BYTES = 16 * MiB;
/** A single-shot PUT announcing this many bytes, of which only `PUT_SENT` arrive. */
const PUT_BYTES = 20 * MiB;
/** Past the S3 store's first 8 MiB part: the PUT has an open multipart upload at its final key. */
const PUT_SENT = 12 * MiB;
/** Kill moments, as fractions of a promotion's measured duration. */
const KILL_AT = [0.1, 0.3, 0.5, 0.7, 0.9, 1.1, 1.5] as const;

let set: ReplicaSet;
let A: Replica;
let B: Replica;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(path.join(tmpdir(), 'custody-fault-replicas-'));
  set = await startReplicaSet({ count: 2 });
  [A, B] = [set.replica(0), set.replica(1)];
}, 60_000);

afterAll(async () => {
  await set.stop();
  await rm(work, { recursive: true, force: true });
});

describe('a replica killed with kill -9 mid-upload', () => {
  it('leaves no version and no blob; B resumes the session from what A stored and finishes the push; an abandoned PUT leaves nothing', async () => {
    const dir = path.join(work, 'big');
    await mkdir(dir);
    await writeBigFile(path.join(dir, 'weights.bin'), BIG_MIB);
    await writeFile(path.join(dir, 'config.json'), '{"model": "big"}');
    const bigHex = await sha256File(path.join(dir, 'weights.bin'));
    const size = BIG_MIB * MiB;
    const putBody = randomBytes(PUT_BYTES);
    const putHex = createHash('sha256').update(putBody).digest('hex');
    const xdg = { XDG_CONFIG_HOME: path.join(work, 'xdg') };

    const base = await uploadBytesReceived(A.url);
    const socket = await startStalledPut(A.url, set.token, putBody, PUT_SENT);
    try {
      while ((await uploadBytesReceived(A.url)) - base < PUT_SENT) await sleep(5);
      const aBefore = await uploadBytesReceived(A.url);
      const pushing = set.cli(0, ['push', dir, '--model', 'faults/big', '--json'], xdg);
      while ((await uploadBytesReceived(A.url)) - aBefore < KILL_AFTER_BYTES) await sleep(5);
      await A.kill9();
      const cut = await pushing;
      expect(cut.code, cut.stderr).toBe(1);
      expect((JSON.parse(cut.stdout) as { error?: { code?: string } }).error?.code).toBe('CONNECTION_FAILED');
    } finally {
      socket.destroy();
    }

    // Seen through B: nothing registered, nothing visible, the session's stored bytes kept.
    expect((await B.json('GET', '/api/v1/models/faults/big/versions')).body['code']).toBe('MODEL_NOT_FOUND');
    for (const hex of [bigHex, putHex]) expect((await B.fetch(`/api/v1/blobs/sha256:${hex}`, { method: 'HEAD' })).status).toBe(404);
    const s3 = testS3Client();
    try {
      // At most the small config file, complete before the kill; nothing of the big one.
      const configKey = `blobs/sha256/${await sha256File(path.join(dir, 'config.json'))}`;
      // The PUT's first part is in S3, in a multipart upload that was never completed.
      expect(await listOpenMultipartUploads(s3, set.bucket)).toContain(`blobs/sha256/${putHex}`);
      const visible = await listBucketKeys(s3, set.bucket, 'blobs/');
      expect(visible.filter((key) => key !== configKey)).toEqual([]);
      const configBytes = visible.includes(configKey) ? 0 : Buffer.byteLength('{"model": "big"}');
      const clientB = B.client();
      let offset: number;
      try {
        const session = await clientB.createUpload(`sha256:${bigHex}`, size);
        expect(session.exists).toBe(false);
        offset = session.offset;
        expect(offset).toBeGreaterThan(0);
        expect(offset).toBeLessThan(size);
      } finally {
        clientB.close();
      }

      const bBefore = await uploadBytesReceived(B.url);
      expect(expectCliOk(await set.cli(1, ['push', dir, '--model', 'faults/big', '--json'], xdg))).toMatchObject({ model: 'faults/big', number: 1, created: true });
      expect((await uploadBytesReceived(B.url)) - bBefore).toBe(size - offset + configBytes);
      const pulled = path.join(work, 'big-pulled');
      expectCliOk(await set.cli(1, ['pull', 'faults/big@v1', '-o', pulled, '--json'], xdg));
      expect(await sha256File(path.join(pulled, 'weights.bin'))).toBe(bigHex);
      // The abandoned PUT never became a blob.
      expect((await listBucketKeys(s3, set.bucket, 'blobs/')).filter((key) => key.endsWith(putHex))).toEqual([]);
      expect((await B.fetch(`/api/v1/blobs/sha256:${putHex}`, { method: 'HEAD' })).status).toBe(404);
      expect(await listBucketKeys(s3, set.bucket, `uploads/`)).toEqual([]);
    } finally {
      s3.destroy();
    }
    await A.restart();
  }, 90_000);
});

describe('a replica killed with kill -9 mid-promotion', () => {
  let seed: Seed;
  let counter = 0;

  beforeAll(async () => {
    if (!A.running()) await A.restart();
    // The shipped staging policy without requireFrom: each round brings its own version.
    seed = await setUpStagingSeed(A.asTestRegistry());
  }, 60_000);

  async function promotable(): Promise<PushedVersion> {
    const reg = B.asTestRegistry();
    const version = await pushModel(reg, `faults/promoted-${String(++counter)}`, seed.keys.training);
    await attest(reg, version, seed.keys.scanner, VULNS, scanPredicate('clean'));
    return version;
  }

  function promote(r: Replica, version: PushedVersion): Promise<{ status: number; body: Json }> {
    return r.json('POST', `/api/v1/models/${version.model}/environments/staging/promotions`, { version: version.digest }, seed.principals.ci);
  }

  /** What B sees of the version in staging: logged decisions, stored decisions and the alias. */
  async function seenThroughB(version: PushedVersion): Promise<{ logged: Json[]; decisions: Json[]; alias: Json | undefined }> {
    const audit = await B.json('GET', `/api/v1/audit?type=promotion.decided&model=${encodeURIComponent(version.model)}&limit=100`);
    const logged = (audit.body['items'] as { index: number; event: Json }[]).map((i) => ({ ...i.event, index: i.index }));
    const decisions = (await B.json('GET', `/api/v1/models/${version.model}/versions/${version.digest}/decisions`)).body['items'] as Json[];
    const environments = (await B.json('GET', `/api/v1/models/${version.model}/environments`)).body['environments'] as Json[];
    const alias = environments.find((e) => e['environment'] === 'staging' && e['version'] !== null && e['version'] !== undefined);
    return { logged, decisions, alias };
  }

  it('leaves the decision and the alias move both in place or both absent, and B promotes after it', async () => {
    // How long one promotion takes on a freshly started A, to spread the kills over it.
    const warm = await promotable();
    await A.restart();
    const started = Date.now();
    expect((await promote(A, warm)).body).toMatchObject({ outcome: 'allow' });
    const duration = Math.max(5, Date.now() - started);

    const outcomes: string[] = [];
    for (const fraction of KILL_AT) {
      const version = await promotable();
      const inFlight = promote(A, version).catch((error: unknown): { status: number; body: Json } => ({ status: 0, body: { error: String(error) } }));
      await sleep(Math.floor(duration * fraction));
      await A.kill9();
      const answered = await inFlight;

      const seen = await seenThroughB(version);
      if (seen.alias === undefined) {
        // Neither: no decision stored or logged, and A never answered with one.
        outcomes.push('neither');
        expect(seen.logged).toEqual([]);
        expect(seen.decisions).toEqual([]);
        expect(answered.status, JSON.stringify(answered.body)).toBe(0);
      } else {
        // Both: one logged decision, stored, named by the alias.
        outcomes.push('both');
        expect(seen.logged).toHaveLength(1);
        const decisionId = seen.logged[0]?.['decision'];
        expect(seen.decisions.map((d) => d['id'])).toEqual([decisionId]);
        expect(seen.alias).toMatchObject({ version: version.digest, decision: decisionId, logIndex: seen.logged[0]?.['index'] });
        if (answered.status === 200) expect(answered.body['id']).toBe(decisionId);
        else expect(answered.status, JSON.stringify(answered.body)).toBe(0);
      }

      // B serves on: it decides, and the alias names B's decision.
      const byB = await promote(B, version);
      expect(byB.status, JSON.stringify(byB.body)).toBe(200);
      expect(byB.body).toMatchObject({ outcome: 'allow', version: version.digest });
      expect((await seenThroughB(version)).alias).toMatchObject({ version: version.digest, decision: byB.body['id'] });
      await A.restart();
    }
    // The earliest kills come before anything is decided: the "neither" side was exercised.
    expect(outcomes, `kills after ${KILL_AT.map((f) => Math.floor(f * duration)).join(', ')} ms`).toContain('neither');

    const verified = expectCliOk(await set.cli(1, ['log', 'verify', '--full', '--json'], { XDG_CONFIG_HOME: path.join(work, 'xdg') }));
    expect(verified).toMatchObject({ verified: true });
    await A.stop();
    await B.stop();
    const store = await set.verifyStore({ json: true });
    expect(expectCliOk(store)).toMatchObject({ problems: [] });
  }, 90_000);
});
