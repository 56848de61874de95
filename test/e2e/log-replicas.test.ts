/**
 * Two `custody serve` processes on one PostgreSQL database (issue 3 acceptance): registrations
 * and refusals sent concurrently through both replicas append to one gap-free log; every receipt
 * proves inclusion against a checkpoint signed by the shared log key, and every checkpoint either
 * replica hands out is consistent with the previous one.
 *
 * The log key lives in the data directory, so replica B gets a copy of replica A's key. Blobs
 * also live in the data directory: each registration uploads and registers through one replica.
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { verifyCheckpoint, type VerifiedCheckpoint } from '../../src/log/checkpoint.js';
import { hashLeaf, rootOf, verifyConsistency, verifyInclusion } from '../../src/log/merkle.js';
import { parseVerifierKey, type Verifier } from '../../src/log/signed-note.js';
import { createTestStorage, spawnServer, stopServer, type SpawnedServer, type TestStorage } from '../support/registry.js';

/** Registrations per replica, all sent at once. */
const REGISTRATIONS = 25;
/** Refused registrations (missing blob, logged as version.rejected) per replica. */
const REFUSALS = 4;

const hex = (b: string): Buffer => Buffer.from(b, 'hex');

interface Receipt {
  readonly logIndex: number;
  readonly leafHash: string;
  readonly treeSize: number;
  readonly inclusionProof: string[];
  readonly checkpoint: string;
}

interface Registered {
  readonly replica: string;
  readonly model: string;
  readonly number: number;
  readonly digest: string;
  readonly receipt: Receipt;
}

interface Entry {
  readonly index: number;
  readonly leafHash: string;
  readonly leaf: string;
  readonly event: { type: string; model?: string; number?: number; digest?: string; code?: string };
}

interface Replica {
  readonly name: string;
  readonly server: SpawnedServer;
}

describe('two server processes on one PostgreSQL', () => {
  const token = generateApiToken();
  let storage: TestStorage | undefined;
  let dataDirB: string | undefined;
  const replicas: Replica[] = [];
  let verifier: Verifier;
  const registered: Registered[] = [];
  const refusalStatuses: number[] = [];
  /** Every checkpoint note any client was handed, and who handed it out. */
  const notes: { replica: string; note: string }[] = [];
  const latest = new Map<string, VerifiedCheckpoint>();
  let entries: Entry[] = [];
  let finalSize = 0;

  const replica = (name: string): Replica => {
    const found = replicas.find((r) => r.name === name);
    if (found === undefined) throw new Error(`no replica ${name}`);
    return found;
  };

  async function request(r: Replica, urlPath: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Bearer ${token}`);
    return fetch(`${r.server.url}${urlPath}`, { ...init, headers });
  }

  // eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- the test states the shape it expects
  async function json<T>(r: Replica, urlPath: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const res = await request(r, urlPath, init);
    return { status: res.status, body: (await res.json()) as T };
  }

  async function putBlob(r: Replica, content: Buffer): Promise<string> {
    const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
    const res = await request(r, `/api/v1/blobs/${digest}`, { method: 'PUT', body: content });
    await res.arrayBuffer();
    if (res.status !== 201) throw new Error(`PUT blob on ${r.name}: ${res.status}`);
    return digest;
  }

  function register(r: Replica, model: string, files: { path: string; size: number; digest: string }[]) {
    return json<{ number?: number; digest?: string; receipt?: Receipt | null; error?: unknown }>(r, `/api/v1/models/${model}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ files }),
    });
  }

  async function latestCheckpoint(r: Replica): Promise<VerifiedCheckpoint> {
    const res = await request(r, '/log/checkpoint');
    expect(res.status).toBe(200);
    const note = await res.text();
    notes.push({ replica: r.name, note });
    return verifyCheckpoint(note, verifier);
  }

  beforeAll(async () => {
    storage = await createTestStorage('postgres');
    const a = await spawnServer({ dataDir: storage.dataDir, metadataSpec: storage.metadataSpec, blobs: storage.blobs, token });
    replicas.push({ name: 'A', server: a });

    // Replica B signs with the same log key: copy A's (created on its first start).
    dataDirB = await mkdtemp(path.join(tmpdir(), 'custody-test-replica-b-'));
    const keysB = path.join(dataDirB, 'keys');
    await mkdir(keysB, { mode: 0o700 });
    await chmod(keysB, 0o700);
    await copyFile(path.join(storage.dataDir, 'keys', 'log.key'), path.join(keysB, 'log.key'));
    await chmod(path.join(keysB, 'log.key'), 0o600);
    const b = await spawnServer({ dataDir: dataDirB, metadataSpec: storage.metadataSpec, blobs: storage.blobs, token });
    replicas.push({ name: 'B', server: b });

    const keys = await Promise.all(replicas.map((r) => json<{ origin: string; verifierKey: string }>(r, '/api/v1/log/key')));
    for (const k of keys) expect(k.status).toBe(200);
    expect(keys[1]?.body).toEqual(keys[0]?.body);
    verifier = parseVerifierKey(keys[0]?.body.verifierKey ?? '');

    // Upload every blob first, so the registrations themselves overlap as much as possible.
    const jobs = await Promise.all(
      replicas.flatMap((r) =>
        Array.from({ length: REGISTRATIONS }, async (_, i) => {
          const content = Buffer.from(`replica ${r.name} weights ${i}`);
          const digest = await putBlob(r, content);
          // Half share one model across both replicas (contended version numbers), half have their own.
          const model = i % 2 === 0 ? 'fleet/shared' : `fleet/${r.name.toLowerCase()}-${i}`;
          return { r, model, file: { path: 'w.bin', size: content.length, digest } };
        }),
      ),
    );

    await Promise.all([
      ...jobs.map(async ({ r, model, file }) => {
        const { status, body } = await register(r, model, [file]);
        if (status !== 201 || body.receipt === undefined || body.receipt === null || body.number === undefined || body.digest === undefined) {
          throw new Error(`registering ${model} on ${r.name}: ${status} ${JSON.stringify(body)}`);
        }
        registered.push({ replica: r.name, model, number: body.number, digest: body.digest, receipt: body.receipt });
        notes.push({ replica: r.name, note: body.receipt.checkpoint });
      }),
      ...replicas.flatMap((r) =>
        Array.from({ length: REFUSALS }, async (_, i) => {
          const ghost = `sha256:${createHash('sha256').update(`missing ${r.name} ${i}`).digest('hex')}`;
          const { status } = await register(r, `refused/${r.name.toLowerCase()}-${i}`, [{ path: 'x.bin', size: 3, digest: ghost }]);
          refusalStatuses.push(status);
        }),
      ),
    ]);

    for (const r of replicas) latest.set(r.name, await latestCheckpoint(r));
    finalSize = Math.max(...[...latest.values()].map((c) => Number(c.size)));

    // Read the whole log, alternating replicas, until the first missing index.
    const read: Entry[] = [];
    for (let i = 0; ; i++) {
      const r = replicas[i % replicas.length] ?? replica('A');
      const res = await request(r, `/api/v1/log/entries/${i}`);
      if (res.status === 404) {
        await res.arrayBuffer();
        break;
      }
      expect(res.status).toBe(200);
      read.push((await res.json()) as Entry);
      if (i > finalSize + 10) break;
    }
    entries = read;
  }, 60_000);

  afterAll(async () => {
    await Promise.allSettled(replicas.map((r) => stopServer(r.server)));
    await Promise.allSettled([storage?.cleanup(), dataDirB === undefined ? undefined : rm(dataDirB, { recursive: true, force: true })]);
  });

  it('serves the same verifier key on both replicas and registers every version', () => {
    expect(registered).toHaveLength(REGISTRATIONS * replicas.length);
    expect(refusalStatuses).toEqual(Array.from({ length: REFUSALS * replicas.length }, () => 422));
    expect(new Set(registered.map((r) => r.replica))).toEqual(new Set(['A', 'B']));
  });

  it('gives every 201 a receipt whose inclusion proof verifies against its signed checkpoint', () => {
    for (const { receipt } of registered) {
      const checkpoint = verifyCheckpoint(receipt.checkpoint, verifier);
      expect(Number(checkpoint.size)).toBe(receipt.treeSize);
      expect(receipt.logIndex).toBeLessThan(receipt.treeSize);
      verifyInclusion(hex(receipt.leafHash), receipt.logIndex, receipt.treeSize, receipt.inclusionProof.map(hex), checkpoint.rootHash);
    }
    expect(new Set(registered.map((r) => r.receipt.logIndex)).size).toBe(registered.length);
  });

  it('interleaves the two replicas\' appends (the writes really were concurrent)', () => {
    const order = [...registered].sort((x, y) => x.receipt.logIndex - y.receipt.logIndex).map((r) => r.replica);
    const switches = order.filter((name, i) => i > 0 && name !== order[i - 1]).length;
    expect(switches).toBeGreaterThanOrEqual(2);
  });

  it('numbers the contended model\'s versions 1..n without gaps or duplicates', () => {
    const shared = registered.filter((r) => r.model === 'fleet/shared').map((r) => r.number).sort((x, y) => x - y);
    expect(shared).toEqual(Array.from({ length: shared.length }, (_, i) => i + 1));
  });

  it('ends with one gap-free log both replicas agree on', async () => {
    // The bootstrap (3 events), every registration and every refusal, nothing else.
    expect(finalSize).toBe(3 + REGISTRATIONS * replicas.length + REFUSALS * replicas.length);
    expect(entries.map((e) => e.index)).toEqual(Array.from({ length: finalSize }, (_, i) => i));
    for (const r of replicas) {
      const beyond = await request(r, `/api/v1/log/entries/${finalSize}`);
      await beyond.arrayBuffer();
      expect(beyond.status).toBe(404);
    }
    // Every entry reads the same through the other replica.
    const other = await Promise.all(entries.map((e, i) => json<Entry>(replicas[(i + 1) % replicas.length] ?? replica('B'), `/api/v1/log/entries/${e.index}`)));
    other.forEach(({ status, body }, i) => {
      expect(status).toBe(200);
      expect(body).toEqual(entries[i]);
    });

    for (const e of entries) expect(e.leafHash).toBe(hashLeaf(Buffer.from(e.leaf, 'utf8')).toString('hex'));
    // Every event here differs (ids, models, digests), so every leaf hash must too.
    expect(new Set(entries.map((e) => e.leaf)).size).toBe(entries.length);
    expect(new Set(entries.map((e) => e.leafHash)).size).toBe(entries.length);

    // The tree over the entries read back is the one both replicas signed.
    const root = rootOf(entries.map((e) => hex(e.leafHash)));
    for (const checkpoint of latest.values()) {
      if (Number(checkpoint.size) === finalSize) expect(root.equals(checkpoint.rootHash)).toBe(true);
    }
  });

  it('holds each registered version\'s version.registered event exactly once, at its receipt\'s index', () => {
    for (const version of registered) {
      const matches = entries.filter((e) => e.event.type === 'version.registered' && e.event.model === version.model && e.event.digest === version.digest);
      expect(matches).toHaveLength(1);
      expect(matches[0]?.index).toBe(version.receipt.logIndex);
      expect(matches[0]?.leafHash).toBe(version.receipt.leafHash);
      expect(matches[0]?.event.number).toBe(version.number);
    }
    expect(entries.filter((e) => e.event.type === 'version.registered')).toHaveLength(registered.length);
    const rejected = entries.filter((e) => e.event.type === 'version.rejected');
    expect(rejected).toHaveLength(REFUSALS * replicas.length);
    for (const e of rejected) expect(e.event.code).toBe('BLOB_MISSING');
  });

  it('makes every checkpoint handed to a client consistent with the previous one', async () => {
    const checkpoints = notes
      .map(({ replica: name, note }) => ({ name, note, checkpoint: verifyCheckpoint(note, verifier) }))
      .sort((x, y) => Number(x.checkpoint.size - y.checkpoint.size));
    expect(checkpoints.length).toBeGreaterThan(registered.length);
    let consistencyProofs = 0;
    for (let i = 1; i < checkpoints.length; i++) {
      const prev = checkpoints[i - 1];
      const next = checkpoints[i];
      if (prev === undefined || next === undefined) throw new Error('unreachable');
      const from = Number(prev.checkpoint.size);
      const to = Number(next.checkpoint.size);
      if (from === to) {
        expect(next.checkpoint.rootHash.equals(prev.checkpoint.rootHash), `two roots for size ${from}`).toBe(true);
        continue;
      }
      // Ask the replica that did not hand out the newer checkpoint.
      const asked = replicas.find((r) => r.name !== next.name) ?? replica('A');
      const { status, body } = await json<{ from: number; to: number; proof: string[] }>(asked, `/api/v1/log/proof/consistency?from=${from}&to=${to}`);
      expect(status).toBe(200);
      expect(body.from).toBe(from);
      expect(body.to).toBe(to);
      verifyConsistency(from, to, body.proof.map(hex), prev.checkpoint.rootHash, next.checkpoint.rootHash);
      consistencyProofs++;
    }
    expect(consistencyProofs).toBeGreaterThan(0);
  });

  it('ends with the latest checkpoint of A consistent with the latest of B', async () => {
    const a = latest.get('A');
    const b = latest.get('B');
    if (a === undefined || b === undefined) throw new Error('no latest checkpoint');
    if (a.size === b.size) {
      expect(a.rootHash.equals(b.rootHash)).toBe(true);
      return;
    }
    const [older, newer] = a.size < b.size ? [a, b] : [b, a];
    const { body } = await json<{ proof: string[] }>(replica('A'), `/api/v1/log/proof/consistency?from=${older.size}&to=${newer.size}`);
    verifyConsistency(Number(older.size), Number(newer.size), body.proof.map(hex), older.rootHash, newer.rootHash);
    // Nothing was written after the workload: both replicas must now serve the same head.
    expect((await latestCheckpoint(replica('A'))).size).toBe((await latestCheckpoint(replica('B'))).size);
  });
});
