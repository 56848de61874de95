/**
 * The metadata store contract (STYLE.md §2, SPEC §3): one suite, run against SQLite and
 * PostgreSQL through `metadataStoreFactories`. Where a check needs to see past the interface
 * (rows left behind, a corrupted column) it opens its own connection on the store's `spec`.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/domain/digest.js';
import type { ManifestFile } from '../../src/domain/manifest.js';
import { hashLeaf } from '../../src/log/merkle.js';
import type {
  AliasRecord,
  ApiToken,
  AttestationRecord,
  DecisionOutcome,
  DecisionRecord,
  LogHash,
  MetadataReader,
  MetadataStore,
  NewLogEntry,
  NewVersion,
  PolicyRecord,
  Principal,
  QuarantineRecord,
  RoleBinding,
  UploadSession,
  VersionRecord,
} from '../../src/store/metadata-store.js';
import { openMetadataStore } from '../../src/store/open-metadata-store.js';
import { createPostgresDatabase, metadataStoreFactories, type OpenedMetadataStore } from '../support/databases.js';

const T0 = '2025-01-01T00:00:00.000Z';

/** How many migrations `src/store/sql/migrations.ts` lists (the list itself is not exported). */
const MIGRATION_COUNT = 8;

function file(seed: string, size = 10): ManifestFile {
  return { path: `weights/${seed}.bin`, size, sha256: sha256Hex(seed) };
}

function newVersion(namespace: string, name: string, seed: string, files: readonly ManifestFile[] = [file(seed)]): NewVersion {
  return {
    namespace,
    name,
    digest: `sha256:${sha256Hex(`manifest:${seed}`)}`,
    omsRootDigest: `sha256:${sha256Hex(`oms:${seed}`)}`,
    singleFile: false,
    files,
    annotations: { seed },
    registeredAt: T0,
    registeredBy: 'alice',
  };
}

function principal(name: string): Principal {
  return { id: `p-${name}`, name, kind: 'user', createdAt: T0, disabledAt: null, oidc: null };
}

const ISSUER = 'https://token.actions.githubusercontent.com';

/** A service principal acting for the OIDC workload `issuer` + `subject`. */
function service(name: string, subject: string, issuer = ISSUER, condition: string | null = null): Principal {
  return { id: `p-${name}`, name, kind: 'service', createdAt: T0, disabledAt: null, oidc: { issuer, subject, condition } };
}

function apiToken(id: string, principalId: string, fields: Partial<ApiToken> = {}): ApiToken {
  return { id, principalId, name: id, tokenHash: sha256Hex(`secret:${id}`), createdAt: T0, expiresAt: null, revokedAt: null, permissions: null, ...fields };
}

function binding(id: string, principalId: string, fields: Partial<RoleBinding> = {}): RoleBinding {
  return { id, principalId, role: 'reader', namespaces: null, environments: null, condition: null, createdAt: T0, revokedAt: null, ...fields };
}

/** Midnight UTC of day `n` of January 2025. */
function day(n: number): string {
  return `2025-01-${String(n).padStart(2, '0')}T00:00:00.000Z`;
}

/** Runs one statement on a connection of its own and returns its rows. */
async function rawQuery(spec: string, statement: string): Promise<Record<string, unknown>[]> {
  if (spec.startsWith('sqlite:')) {
    const database = new Database(spec.slice('sqlite:'.length));
    try {
      const prepared = database.prepare(statement);
      if (prepared.reader) return prepared.all() as Record<string, unknown>[];
      prepared.run();
      return [];
    } finally {
      database.close();
    }
  }
  const client = new pg.Client({ connectionString: spec });
  await client.connect();
  try {
    return (await client.query<Record<string, unknown>>(statement)).rows;
  } finally {
    await client.end();
  }
}

async function countRows(spec: string, table: string): Promise<number> {
  const [row] = await rawQuery(spec, `select count(*) as n from ${table}`);
  return Number(row?.['n']);
}

async function registerVersions(store: MetadataStore, namespace: string, name: string, seeds: readonly string[]): Promise<void> {
  for (const seed of seeds) {
    await store.transaction(async (tx) => {
      await tx.ensureModel(namespace, name, T0);
      await tx.lockModel(namespace, name);
      await tx.insertVersion(newVersion(namespace, name, seed));
    });
  }
}

/** A log entry whose leaf is unique to `seed` and whose leaf hash is the RFC 6962 one. */
function logEntry(seed: string, fields: Partial<NewLogEntry> = {}): NewLogEntry {
  const leaf = fields.leaf ?? JSON.stringify({ seed });
  return { leaf, leafHash: hashLeaf(Buffer.from(leaf, 'utf8')).toString('hex'), type: 'version.registered', time: T0, namespace: 'vision', name: 'resnet', ...fields };
}

function logHash(id: number): LogHash {
  return { id, hash: Buffer.from(sha256Hex(`hash:${id}`), 'hex') };
}

/** Appends `entries` the way the log service does: lock the head, insert, move the head. */
async function appendLog(store: MetadataStore, entries: readonly NewLogEntry[]): Promise<number> {
  return store.transaction(async (tx) => {
    const start = await tx.lockLogHead();
    await tx.insertLogEntries(start, entries);
    await tx.setLogHead(start + entries.length);
    return start;
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A stored version, read back by number (the test fails if it is missing). */
async function versionOf(reader: MetadataReader, namespace: string, name: string, number: number): Promise<VersionRecord> {
  const version = await reader.getVersionByNumber(namespace, name, number);
  if (version === undefined) throw new Error(`${namespace}/${name} v${String(number)} is not stored`);
  return version;
}

function alias(version: VersionRecord, environment: string, fields: Partial<AliasRecord> = {}): AliasRecord {
  return { namespace: version.namespace, name: version.name, environment, versionId: version.id, versionDigest: version.digest, since: T0, decisionId: null, logIndex: 1, ...fields };
}

/** Aliases in (namespace, name, environment) order, for reads that promise no order. */
function sortAliases(aliases: readonly AliasRecord[]): AliasRecord[] {
  const key = (a: AliasRecord): string => `${a.namespace}/${a.name}/${a.environment}`;
  return [...aliases].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** A proposed policy; its proposal log index is its number unless `fields` says otherwise. */
function policy(id: string, environment: string, number: number, fields: Partial<PolicyRecord> = {}): PolicyRecord {
  const document = JSON.stringify({ environment, id, require: [] });
  return {
    id,
    environment,
    number,
    digest: `sha256:${sha256Hex(document)}`,
    document,
    fixtures: '{}',
    status: 'proposed',
    proposedBy: 'alice',
    proposedAt: T0,
    proposedLogIndex: number,
    approvedBy: null,
    approvedAt: null,
    activatedAt: null,
    activatedLogIndex: null,
    endedAt: null,
    ...fields,
  };
}

function decision(id: string, version: VersionRecord, environment: string, outcome: DecisionOutcome, logIndex: number, fields: Partial<DecisionRecord> = {}): DecisionRecord {
  return {
    id,
    namespace: version.namespace,
    name: version.name,
    versionId: version.id,
    versionDigest: version.digest,
    environment,
    outcome,
    policyDigest: null,
    effectiveDigest: `sha256:${sha256Hex(`effective:${environment}`)}`,
    inputDigest: `sha256:${sha256Hex(`input:${id}`)}`,
    results: JSON.stringify({ requirements: [], gates: [] }),
    principal: 'alice',
    principalKind: 'user',
    decidedAt: T0,
    logIndex,
    vsa: null,
    ...fields,
  };
}

function quarantine(id: string, version: VersionRecord, environment: string, logIndex: number, fields: Partial<QuarantineRecord> = {}): QuarantineRecord {
  return { id, versionId: version.id, environment, reason: 'signer key revoked', since: T0, logIndex, clearedAt: null, clearedBy: null, ...fields };
}

/** The key id of test key `seed` (no signer key row is needed: attestations name keys by id). */
function keyIdOf(seed: string): string {
  return sha256Hex(`key:${seed}`);
}

/** An attestation by key `keySeed` whose signed statement is unique to `id`. */
function attestation(id: string, version: VersionRecord, keySeed: string): AttestationRecord {
  return {
    id,
    versionId: version.id,
    versionDigest: version.digest,
    bundleDigest: sha256Hex(`bundle:${id}`),
    paeDigest: sha256Hex(`pae:${id}`),
    keyId: keyIdOf(keySeed),
    keyName: keySeed,
    predicateType: 'https://slsa.dev/provenance/v1',
    role: 'attestation',
    bundle: JSON.stringify({ id }),
    loggedAt: T0,
    logIndex: 1,
    addedBy: 'alice',
  };
}

describe.each(metadataStoreFactories)('$name metadata store', (factory) => {
  let opened: OpenedMetadataStore;
  let store: MetadataStore;

  beforeEach(async () => {
    opened = await factory.open();
    store = opened.store;
  });

  afterEach(async () => {
    await opened.cleanup();
  });

  it('reports its dialect and answers ping', async () => {
    expect(store.dialect).toBe(factory.name);
    await store.ping();
  });

  it('runs migrations again without changing anything', async () => {
    await store.transaction((tx) => tx.insertPrincipal(principal('alice')));
    await store.migrate();
    await store.migrate();
    expect(await store.countPrincipals()).toBe(1);
    expect(await countRows(opened.spec, 'custody_migrations')).toBe(MIGRATION_COUNT);
    expect(await countRows(opened.spec, 'log_head')).toBe(1);
  });

  it('round-trips principals, tokens and role bindings', async () => {
    const alice = principal('alice');
    const bot: Principal = { id: 'p-bot', name: 'bot', kind: 'service', createdAt: T0, disabledAt: '2025-02-01T00:00:00.000Z', oidc: null };
    const token = { id: 't1', principalId: alice.id, name: 'laptop', tokenHash: sha256Hex('secret'), createdAt: T0, expiresAt: null, revokedAt: null, permissions: null };
    const scoped = { id: 'b1', principalId: alice.id, role: 'publisher', namespaces: ['vision', 'nlp'], environments: ['staging'], condition: null, createdAt: T0, revokedAt: null };
    const global = { id: 'b2', principalId: alice.id, role: 'reader', namespaces: null, environments: null, condition: null, createdAt: '2025-01-02T00:00:00.000Z', revokedAt: null };
    await store.transaction(async (tx) => {
      await tx.insertPrincipal(alice);
      await tx.insertPrincipal(bot);
      await tx.insertToken(token);
      await tx.insertBinding(scoped);
      await tx.insertBinding(global);
    });
    expect(await store.countPrincipals()).toBe(2);
    expect(await store.getPrincipalById('p-alice')).toEqual(alice);
    expect(await store.getPrincipalByName('bot')).toEqual(bot);
    expect(await store.getPrincipalByName('nobody')).toBeUndefined();
    expect(await store.findTokenByHash(token.tokenHash)).toEqual(token);
    expect(await store.findTokenByHash(sha256Hex('other'))).toBeUndefined();
    expect(await store.listBindings(alice.id)).toEqual([scoped, global]);
    expect(await store.listBindings(bot.id)).toEqual([]);
  });

  it('reports a duplicate principal as CONFLICT and keeps the transaction usable', async () => {
    await store.transaction(async (tx) => {
      await tx.insertPrincipal(principal('alice'));
      await expect(tx.insertPrincipal({ ...principal('alice'), id: 'p-other' })).rejects.toMatchObject({ code: 'CONFLICT' });
      await tx.insertPrincipal(principal('bob'));
    });
    expect(await store.countPrincipals()).toBe(2);
  });

  it('rejects a token for a principal that does not exist', async () => {
    const token = { id: 't1', principalId: 'p-ghost', name: 'x', tokenHash: sha256Hex('s'), createdAt: T0, expiresAt: null, revokedAt: null, permissions: null };
    await expect(store.transaction((tx) => tx.insertToken(token))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await store.findTokenByHash(token.tokenHash)).toBeUndefined();
  });

  it('ensures a model idempotently, keeping its first creation time', async () => {
    const first = await store.transaction((tx) => tx.ensureModel('vision', 'resnet', T0));
    const again = await store.transaction((tx) => tx.ensureModel('vision', 'resnet', '2026-01-01T00:00:00.000Z'));
    expect(first).toEqual({ namespace: 'vision', name: 'resnet', createdAt: T0 });
    expect(again).toEqual(first);
    expect(await store.getModel('vision', 'resnet')).toEqual(first);
    expect(await store.getModel('vision', 'other')).toBeUndefined();
  });

  it('numbers versions v1, v2, v3 per model and reads them back by number and digest', async () => {
    await registerVersions(store, 'vision', 'resnet', ['a', 'b', 'c']);
    await registerVersions(store, 'vision', 'vit', ['a']);
    const v2 = await store.getVersionByNumber('vision', 'resnet', 2);
    expect(v2).toMatchObject({ namespace: 'vision', name: 'resnet', number: 2, digest: newVersion('vision', 'resnet', 'b').digest });
    expect(v2).toMatchObject({ fileCount: 1, totalSize: 10, annotations: { seed: 'b' }, singleFile: false, registeredBy: 'alice' });
    expect(await store.getVersionByDigest('vision', 'resnet', newVersion('x', 'y', 'c').digest)).toMatchObject({ number: 3 });
    expect(await store.getVersionByNumber('vision', 'vit', 1)).toMatchObject({ digest: newVersion('x', 'y', 'a').digest });
    expect(await store.getVersionByNumber('vision', 'vit', 2)).toBeUndefined();
  });

  it('returns from insertVersion exactly what it stored', async () => {
    const input: NewVersion = { ...newVersion('nlp', 'bert', 'x'), singleFile: true, annotations: null };
    const inserted = await store.transaction(async (tx) => {
      await tx.ensureModel('nlp', 'bert', T0);
      return tx.insertVersion(input);
    });
    expect(inserted).toMatchObject({ number: 1, singleFile: true, annotations: null, omsRootDigest: input.omsRootDigest });
    expect(await store.getVersionByNumber('nlp', 'bert', 1)).toEqual(inserted);
  });

  it('round-trips files in order, keeping sizes beyond 2^32 exact', async () => {
    const files = [file('z-first', 2 ** 32 + 7), file('a-second', 0), file('m-third', 2 ** 45 + 3)];
    const version = await store.transaction(async (tx) => {
      await tx.ensureModel('llm', 'big', T0);
      return tx.insertVersion(newVersion('llm', 'big', 'big', files));
    });
    expect(version.totalSize).toBe(2 ** 32 + 7 + 2 ** 45 + 3);
    expect(await store.getVersionFiles(version.id)).toEqual(files);
    expect((await store.getVersionByNumber('llm', 'big', 1))?.totalSize).toBe(2 ** 32 + 7 + 2 ** 45 + 3);
  });

  it('stores a 20,000-file version in chunks and reads it back in order', async () => {
    const files = Array.from({ length: 20_000 }, (_, i) => file(`shard-${String(i).padStart(5, '0')}`, i * 1024));
    const version = await store.transaction(async (tx) => {
      await tx.ensureModel('llm', 'sharded', T0);
      return tx.insertVersion(newVersion('llm', 'sharded', 'sharded', files));
    });
    expect(version.fileCount).toBe(20_000);
    expect(await store.getVersionFiles(version.id)).toEqual(files);
  });

  it('rejects a duplicate digest with CONFLICT and stores nothing of it', async () => {
    await registerVersions(store, 'vision', 'resnet', ['a']);
    const filesBefore = await countRows(opened.spec, 'version_files');
    const duplicate = newVersion('vision', 'resnet', 'a', [file('p'), file('q'), file('r')]);
    await expect(
      store.transaction(async (tx) => {
        await tx.lockModel('vision', 'resnet');
        await tx.insertVersion(duplicate);
      }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect((await store.listVersions('vision', 'resnet', { limit: 10 })).items).toHaveLength(1);
    expect(await countRows(opened.spec, 'version_files')).toBe(filesBefore);
  });

  it('turns a racing duplicate insert (no lockModel) into CONFLICT with nothing partial', async () => {
    await store.transaction((tx) => tx.ensureModel('vision', 'resnet', T0));
    const inserted = deferred();
    const release = deferred();
    const first = store.transaction(async (tx) => {
      await tx.insertVersion(newVersion('vision', 'resnet', 'same'));
      inserted.resolve();
      await release.promise;
    });
    await inserted.promise;
    const second = store.transaction((tx) => tx.insertVersion(newVersion('vision', 'resnet', 'same', [file('1'), file('2')])));
    const outcome = second.then(
      () => 'stored',
      (error: unknown) => error,
    );
    setTimeout(release.resolve, 200);
    await first;
    expect(await outcome).toMatchObject({ code: 'CONFLICT' });
    expect(await countRows(opened.spec, 'versions')).toBe(1);
    expect(await countRows(opened.spec, 'version_files')).toBe(1);
  });

  it('keeps nothing from a transaction that throws after writing', async () => {
    await expect(
      store.transaction(async (tx) => {
        await tx.insertPrincipal(principal('alice'));
        await tx.ensureModel('vision', 'resnet', T0);
        await tx.insertVersion(newVersion('vision', 'resnet', 'a'));
        await tx.insertUploadSession({ id: 'u1', principalId: 'p-alice', sha256: sha256Hex('u'), size: 1, createdAt: T0, updatedAt: T0 });
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await store.countPrincipals()).toBe(0);
    expect(await store.getModel('vision', 'resnet')).toBeUndefined();
    expect(await store.getUploadSession('u1')).toBeUndefined();
    for (const table of ['versions', 'version_files', 'models', 'principals', 'upload_sessions']) {
      expect(await countRows(opened.spec, table)).toBe(0);
    }
  });

  it('refuses to insert a version of a model that does not exist, and to lock one', async () => {
    await expect(store.transaction((tx) => tx.insertVersion(newVersion('nope', 'missing', 'a')))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
    await expect(store.transaction((tx) => tx.lockModel('nope', 'missing'))).rejects.toMatchObject({ code: 'MODEL_NOT_FOUND' });
  });

  it('pages through models once each, in byte order, with summaries', async () => {
    const names = ['a-b', 'ab', 'a.c', 'a_d', 'z', 'b1', 'b10', 'b2'];
    await store.transaction(async (tx) => {
      for (const name of names) await tx.ensureModel('team', name, T0);
      await tx.ensureModel('other', 'm', T0);
    });
    await registerVersions(store, 'team', 'ab', ['v1', 'v2']);

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const result = await store.listModels({ limit: 3, ...(cursor === undefined ? {} : { cursor }), namespace: 'team' });
      seen.push(...result.items.map((m) => m.name));
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(seen).toEqual([...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))));

    const all = await store.listModels({ limit: 100 });
    expect(all.nextCursor).toBeNull();
    expect(all.items.map((m) => `${m.namespace}/${m.name}`)).toEqual(['other/m', ...seen.map((n) => `team/${n}`)]);
    expect(all.items.find((m) => m.name === 'ab')).toEqual({
      namespace: 'team',
      name: 'ab',
      createdAt: T0,
      versionCount: 2,
      latestNumber: 2,
      latestDigest: newVersion('team', 'ab', 'v2').digest,
      latestRegisteredAt: T0,
    });
    expect(all.items.find((m) => m.name === 'z')).toMatchObject({ versionCount: 0, latestNumber: null, latestDigest: null, latestRegisteredAt: null });

    const exact = await store.listModels({ limit: 9 });
    expect(exact.items).toHaveLength(9);
    expect(exact.nextCursor).toBeNull();
  });

  it('pages through versions newest first, once each', async () => {
    await registerVersions(store, 'vision', 'resnet', ['1', '2', '3', '4', '5', '6', '7']);
    const numbers: number[] = [];
    let cursor: string | undefined;
    for (let page = 0; page < 10; page += 1) {
      const result = await store.listVersions('vision', 'resnet', { limit: 3, ...(cursor === undefined ? {} : { cursor }) });
      numbers.push(...result.items.map((v) => v.number));
      if (result.nextCursor === null) break;
      cursor = result.nextCursor;
    }
    expect(numbers).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(await store.listVersions('vision', 'other', { limit: 3 })).toEqual({ items: [], nextCursor: null });
  });

  it('answers lookups by keys no row can hold (NUL, out-of-range numbers) with "not found"', async () => {
    await registerVersions(store, 'vision', 'resnet', ['a']);
    expect(await store.getPrincipalByName('ali\u0000ce')).toBeUndefined();
    expect(await store.getModel('vision', 'res\u0000net')).toBeUndefined();
    expect(await store.getVersionByNumber('vision', 'resnet', 2 ** 40)).toBeUndefined();
    expect(await store.getVersionByNumber('vision', 'resnet', Number.NaN)).toBeUndefined();
    expect(await store.findUploadSession('p1', sha256Hex('x'), Number.POSITIVE_INFINITY)).toBeUndefined();
    expect(await store.listVersions('vision\u0000', 'resnet', { limit: 5 })).toEqual({ items: [], nextCursor: null });
    expect(await store.listModels({ limit: 5, namespace: '\u0000' })).toEqual({ items: [], nextCursor: null });
  });

  it('rejects malformed cursors and limits with VALIDATION_FAILED', async () => {
    await registerVersions(store, 'vision', 'resnet', ['1', '2']);
    const page = await store.listVersions('vision', 'resnet', { limit: 1 });
    const versionCursor = page.nextCursor ?? '';
    const encoded = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
    const garbage = ['', 'not base64!', encoded({ a: 1 }), Buffer.from('[').toString('base64url'), 'x'.repeat(5000), encoded(['m', 'a\u0000', 'b']), encoded(['v', 2 ** 40])];
    for (const cursor of [...garbage, versionCursor]) {
      await expect(store.listModels({ limit: 10, cursor })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    for (const cursor of garbage) {
      await expect(store.listVersions('vision', 'resnet', { limit: 10, cursor })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    }
    await expect(store.listModels({ limit: 0 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    await expect(store.listVersions('vision', 'resnet', { limit: 1.5 })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
  });

  it('creates, finds, touches, lists and deletes upload sessions', async () => {
    const big: UploadSession = { id: 'u1', principalId: 'p1', sha256: sha256Hex('blob'), size: 2 ** 40 + 1, createdAt: T0, updatedAt: T0 };
    const fresh: UploadSession = { id: 'u2', principalId: 'p1', sha256: sha256Hex('other'), size: 5, createdAt: T0, updatedAt: '2025-01-03T00:00:00.000Z' };
    await store.transaction(async (tx) => {
      await tx.insertUploadSession(big);
      await tx.insertUploadSession(fresh);
    });
    expect(await store.getUploadSession('u1')).toEqual(big);
    expect(await store.findUploadSession('p1', big.sha256, big.size)).toEqual(big);
    expect(await store.findUploadSession('p1', big.sha256, 5)).toBeUndefined();
    expect(await store.findUploadSession('p2', big.sha256, big.size)).toBeUndefined();
    expect(await store.listUploadSessionsUpdatedBefore('2025-01-02T00:00:00.000Z')).toEqual([big]);

    await store.transaction((tx) => tx.touchUploadSession('u1', '2025-01-05T00:00:00.000Z'));
    expect(await store.getUploadSession('u1')).toEqual({ ...big, updatedAt: '2025-01-05T00:00:00.000Z' });
    expect(await store.listUploadSessionsUpdatedBefore('2025-01-04T00:00:00.000Z')).toEqual([fresh]);

    await store.transaction((tx) => tx.deleteUploadSession('u1'));
    expect(await store.getUploadSession('u1')).toBeUndefined();
    await store.transaction((tx) => tx.deleteUploadSession('u1'));
    await expect(store.transaction((tx) => tx.touchUploadSession('u1', T0))).rejects.toMatchObject({ code: 'UPLOAD_NOT_FOUND' });
    await expect(store.transaction((tx) => tx.insertUploadSession(fresh))).rejects.toMatchObject({ code: 'CONFLICT' });
  });

  it('numbers 20 concurrent transactions on one store 1..20 without gaps', async () => {
    await store.transaction((tx) => tx.ensureModel('vision', 'resnet', T0));
    await Promise.all(Array.from({ length: 20 }, (_, i) => registerVersions(store, 'vision', 'resnet', [`c${i}`])));
    const page = await store.listVersions('vision', 'resnet', { limit: 100 });
    expect(page.items.map((v) => v.number)).toEqual(Array.from({ length: 20 }, (_, i) => 20 - i));
  });

  // Several replicas share one PostgreSQL; SQLite belongs to one server process (a second
  // in-process connection would block the synchronous driver), so this case is PostgreSQL's alone.
  if (factory.name === 'postgres') {
    it('serialises inserts from two stores on one database under lockModel', async () => {
      const second = await openMetadataStore(opened.spec, '/tmp');
      try {
        const seeds = (prefix: string): string[] => Array.from({ length: 10 }, (_, i) => `${prefix}${i}`);
        await Promise.all([registerVersions(store, 'vision', 'resnet', seeds('a')), registerVersions(second, 'vision', 'resnet', seeds('b'))]);
      } finally {
        await second.close();
      }
      const page = await store.listVersions('vision', 'resnet', { limit: 100 });
      expect(page.items.map((v) => v.number).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
      expect(new Set(page.items.map((v) => v.digest)).size).toBe(20);
    });
  }

  it('refuses use of the store, not the transaction, inside a transaction', async () => {
    await expect(store.transaction(() => store.countPrincipals())).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(store.transaction(() => store.transaction(() => Promise.resolve(1)))).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(await store.countPrincipals()).toBe(0);
  });

  it('refuses a transaction handle used after its transaction ended', async () => {
    const leaked = await store.transaction((tx) => Promise.resolve(tx));
    await expect(leaked.countPrincipals()).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(leaked.lockLogHead()).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(leaked.insertLogEntries(0, [logEntry('late')])).rejects.toMatchObject({ code: 'INTERNAL' });
    await expect(leaked.readLogHashes([0])).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('turns corrupt rows into INTERNAL without repeating their content', async () => {
    await registerVersions(store, 'vision', 'resnet', ['a', 'b']);
    await store.transaction(async (tx) => {
      await tx.insertBinding({ id: 'b1', principalId: 'p1', role: 'reader', namespaces: ['x'], environments: null, condition: null, createdAt: T0, revokedAt: null });
    });
    await rawQuery(opened.spec, `update versions set annotations = '{"secret-ish' where number = 1`);
    await rawQuery(opened.spec, `update versions set total_size = 1152921504606846977 where number = 2`);
    await rawQuery(opened.spec, `update role_bindings set namespaces = '[1,2]'`);
    const failure = await store.getVersionByNumber('vision', 'resnet', 1).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'INTERNAL', details: { table: 'versions', column: 'annotations' } });
    expect((failure as Error).message).not.toContain('secret-ish');
    await expect(store.getVersionByNumber('vision', 'resnet', 2)).rejects.toMatchObject({ code: 'INTERNAL', details: { column: 'total_size' } });
    await expect(store.listBindings('p1')).rejects.toMatchObject({ code: 'INTERNAL', details: { column: 'namespaces' } });
  });

  describe('identity', () => {
    it('round-trips OIDC identities, token permissions and binding conditions, and lists principals by name', async () => {
      const deployer = service('deployer', 'repo:acme/models:ref:refs/heads/main', ISSUER, 'claims.repository_owner == "acme"');
      const trainer = { ...service('trainer', 'system:serviceaccount:ml:trainer', 'https://kubernetes.default.svc'), disabledAt: day(2) };
      const alice = principal('alice');
      const narrowed = apiToken('t-narrow', alice.id, { permissions: ['model.read', 'version.push'], expiresAt: day(30) });
      const none = apiToken('t-none', alice.id, { permissions: [] });
      const full = apiToken('t-full', deployer.id);
      const conditional = binding('b-cond', deployer.id, { role: 'publisher', namespaces: ['vision'], environments: ['prod'], condition: 'claims.ref == "refs/heads/main"' });
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(trainer);
        await tx.insertPrincipal(deployer);
        await tx.insertPrincipal(alice);
        for (const token of [narrowed, none, full]) await tx.insertToken(token);
        await tx.insertBinding(conditional);
      });
      expect(await store.getPrincipalById(deployer.id)).toEqual(deployer);
      expect(await store.getPrincipalByName('trainer')).toEqual(trainer);
      expect(await store.getPrincipalById(alice.id)).toEqual(alice);
      expect(await store.listPrincipals()).toEqual([alice, deployer, trainer]);
      expect(await store.getToken('t-narrow')).toEqual(narrowed);
      expect(await store.getToken('t-none')).toEqual(none);
      expect(await store.findTokenByHash(full.tokenHash)).toEqual(full);
      expect(await store.getToken('t-absent')).toBeUndefined();
      expect(await store.getBinding('b-cond')).toEqual(conditional);
      expect(await store.getBinding('b-absent')).toBeUndefined();
      expect(await store.listBindings(deployer.id)).toEqual([conditional]);
      expect(await store.listAllBindings()).toEqual([conditional]);
    });

    it('lists no principals, tokens or bindings in an empty store', async () => {
      expect(await store.listPrincipals()).toEqual([]);
      expect(await store.listTokens()).toEqual([]);
      expect(await store.listAllBindings()).toEqual([]);
    });

    it('finds a service by its OIDC issuer and subject, compared byte for byte', async () => {
      const deployer = service('deployer', 'repo:acme/models:ref:refs/heads/main');
      const other = service('other', 'repo:acme/models:ref:refs/heads/main', 'https://issuer.example');
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(principal('alice'));
        await tx.insertPrincipal(deployer);
        await tx.insertPrincipal(other);
        expect(await tx.findPrincipalByOidc(ISSUER, deployer.oidc?.subject ?? '')).toEqual(deployer);
      });
      expect(await store.findPrincipalByOidc(ISSUER, 'repo:acme/models:ref:refs/heads/main')).toEqual(deployer);
      expect(await store.findPrincipalByOidc('https://issuer.example', 'repo:acme/models:ref:refs/heads/main')).toEqual(other);
      for (const [issuer, subject] of [
        [ISSUER, 'repo:ACME/models:ref:refs/heads/main'],
        [`${ISSUER}/`, 'repo:acme/models:ref:refs/heads/main'],
        [ISSUER, 'repo:acme/models:ref:refs/heads/main '],
        ['repo:acme/models:ref:refs/heads/main', ISSUER],
        [ISSUER, 'repo:acme/models:%'],
        ['', ''],
      ] as const) {
        expect(await store.findPrincipalByOidc(issuer, subject)).toBeUndefined();
      }
    });

    it('reports a taken OIDC identity or name as CONFLICT and keeps the transaction usable', async () => {
      const first = service('first', 'sub-1');
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(first);
        await expect(tx.insertPrincipal(service('second', 'sub-1'))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.insertPrincipal({ ...service('first', 'sub-9'), id: 'p-first-again' })).rejects.toMatchObject({ code: 'CONFLICT' });
        // Same issuer with another subject, same subject at another issuer, and several without one: all distinct.
        await tx.insertPrincipal(service('third', 'sub-2'));
        await tx.insertPrincipal(service('fourth', 'sub-1', 'https://issuer.example'));
        await tx.insertPrincipal({ ...service('plain', 'x'), oidc: null });
        await tx.insertPrincipal(principal('alice'));
        await tx.insertPrincipal(principal('bob'));
      });
      expect((await store.listPrincipals()).map((p) => p.name)).toEqual(['alice', 'bob', 'first', 'fourth', 'plain', 'third']);
      expect(await store.findPrincipalByOidc(ISSUER, 'sub-1')).toEqual(first);
      expect(await store.getPrincipalByName('second')).toBeUndefined();
      await expect(store.transaction((tx) => tx.insertPrincipal(service('later', 'sub-2')))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect(await store.countPrincipals()).toBe(6);
    });

    it("stores a user's OIDC identity (web UI sign-on) and finds the user by it", async () => {
      const user: Principal = { ...principal('alice'), oidc: { issuer: ISSUER, subject: 'sub', condition: null } };
      await store.transaction((tx) => tx.insertPrincipal(user));
      expect(await store.findPrincipalByOidc(ISSUER, 'sub')).toEqual(user);
      expect(await store.getPrincipalByName('alice')).toEqual(user);
    });

    it("refuses a condition on a user's OIDC identity with VALIDATION_FAILED, storing nothing", async () => {
      const user: Principal = { ...principal('alice'), oidc: { issuer: ISSUER, subject: 'sub', condition: 'claims.ref == "main"' } };
      await store.transaction(async (tx) => {
        await expect(tx.insertPrincipal(user)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await tx.insertPrincipal(principal('bob'));
      });
      expect(await store.getPrincipalByName('alice')).toBeUndefined();
      expect(await store.findPrincipalByOidc(ISSUER, 'sub')).toBeUndefined();
      expect(await store.countPrincipals()).toBe(1);
    });

    it('disables a principal once, then answers CONFLICT', async () => {
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(principal('alice'));
        await tx.insertPrincipal(service('deployer', 'sub'));
      });
      await store.transaction((tx) => tx.disablePrincipal('p-alice', day(2)));
      expect(await store.getPrincipalById('p-alice')).toEqual({ ...principal('alice'), disabledAt: day(2) });
      await store.transaction(async (tx) => {
        await expect(tx.disablePrincipal('p-alice', day(3))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.disablePrincipal('p-ghost', day(3))).rejects.toMatchObject({ code: 'CONFLICT' });
        await tx.disablePrincipal('p-deployer', day(3));
      });
      expect(await store.getPrincipalById('p-alice')).toMatchObject({ disabledAt: day(2) });
      expect(await store.findPrincipalByOidc(ISSUER, 'sub')).toEqual({ ...service('deployer', 'sub'), disabledAt: day(3) });
      await expect(
        store.transaction(async (tx) => {
          await tx.insertPrincipal(principal('bob'));
          await tx.disablePrincipal('p-bob', day(4));
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.getPrincipalByName('bob')).toBeUndefined();
    });

    it('revokes a token once, then answers CONFLICT, still reading it back', async () => {
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(principal('alice'));
        await tx.insertToken(apiToken('t1', 'p-alice'));
        await tx.insertToken(apiToken('t-born-revoked', 'p-alice', { revokedAt: day(1) }));
      });
      await store.transaction((tx) => tx.revokeToken('t1', day(2)));
      expect(await store.getToken('t1')).toEqual(apiToken('t1', 'p-alice', { revokedAt: day(2) }));
      expect(await store.findTokenByHash(apiToken('t1', 'p-alice').tokenHash)).toMatchObject({ id: 't1', revokedAt: day(2) });
      await store.transaction(async (tx) => {
        await expect(tx.revokeToken('t1', day(3))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.revokeToken('t-born-revoked', day(3))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.revokeToken('t-ghost', day(3))).rejects.toMatchObject({ code: 'CONFLICT' });
        await tx.insertToken(apiToken('t2', 'p-alice'));
      });
      expect(await store.getToken('t1')).toMatchObject({ revokedAt: day(2) });
      expect(await store.getToken('t-born-revoked')).toMatchObject({ revokedAt: day(1) });
      expect(await store.getToken('t2')).toEqual(apiToken('t2', 'p-alice'));
    });

    it('lists tokens newest first, revoked and expired ones too, of one principal or all', async () => {
      const a1 = apiToken('a1', 'p-alice', { createdAt: day(1) });
      const a3 = apiToken('a3', 'p-alice', { createdAt: day(3), revokedAt: day(4) });
      const a5 = apiToken('a5', 'p-alice', { createdAt: day(5), expiresAt: day(6) });
      const b2 = apiToken('b2', 'p-bob', { createdAt: day(2), permissions: ['model.read'] });
      const b4 = apiToken('b4', 'p-bob', { createdAt: day(4) });
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(principal('alice'));
        await tx.insertPrincipal(principal('bob'));
        await tx.insertPrincipal(principal('carol'));
        for (const token of [b4, a1, a5, b2, a3]) await tx.insertToken(token);
      });
      expect(await store.listTokens()).toEqual([a5, b4, a3, b2, a1]);
      expect(await store.listTokens('p-alice')).toEqual([a5, a3, a1]);
      expect(await store.listTokens('p-bob')).toEqual([b4, b2]);
      expect(await store.listTokens('p-carol')).toEqual([]);
      expect(await store.listTokens('p-ghost')).toEqual([]);
    });

    it('revokes a binding once; revoked bindings leave both listings but stay readable by id', async () => {
      const a1 = binding('a1', 'p-alice', { createdAt: day(1), namespaces: ['vision'] });
      const b2 = binding('b2', 'p-bob', { createdAt: day(2), role: 'publisher' });
      const a3 = binding('a3', 'p-alice', { createdAt: day(3), condition: 'claims.env == "ci"' });
      const old = binding('a0', 'p-alice', { createdAt: day(1), revokedAt: day(2) });
      await store.transaction(async (tx) => {
        for (const b of [a3, old, b2, a1]) await tx.insertBinding(b);
      });
      expect(await store.listBindings('p-alice')).toEqual([a1, a3]);
      expect(await store.listAllBindings()).toEqual([a1, b2, a3]);
      expect(await store.getBinding('a0')).toEqual(old);

      await store.transaction((tx) => tx.revokeBinding('a1', day(5)));
      expect(await store.listBindings('p-alice')).toEqual([a3]);
      expect(await store.listAllBindings()).toEqual([b2, a3]);
      expect(await store.getBinding('a1')).toEqual({ ...a1, revokedAt: day(5) });
      await store.transaction(async (tx) => {
        await expect(tx.revokeBinding('a1', day(6))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.revokeBinding('a0', day(6))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.revokeBinding('ghost', day(6))).rejects.toMatchObject({ code: 'CONFLICT' });
        await tx.revokeBinding('b2', day(6));
      });
      expect(await store.getBinding('a1')).toMatchObject({ revokedAt: day(5) });
      expect(await store.listBindings('p-bob')).toEqual([]);
      expect(await store.listAllBindings()).toEqual([a3]);
    });

    it('answers identity lookups by NUL-containing keys with not found, and refuses to change them', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a']);
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(service('deployer', 'sub'));
        await tx.insertToken(apiToken('t1', 'p-deployer'));
        await tx.insertBinding(binding('b1', 'p-deployer'));
      });
      expect(await store.getPrincipalById('p-deployer\u0000')).toBeUndefined();
      expect(await store.findPrincipalByOidc(`${ISSUER}\u0000`, 'sub')).toBeUndefined();
      expect(await store.findPrincipalByOidc(ISSUER, 's\u0000ub')).toBeUndefined();
      expect(await store.getToken('t\u00001')).toBeUndefined();
      expect(await store.findTokenByHash(`${apiToken('t1', 'p-deployer').tokenHash}\u0000`)).toBeUndefined();
      expect(await store.listTokens('p-deployer\u0000')).toEqual([]);
      expect(await store.listBindings('\u0000')).toEqual([]);
      expect(await store.getBinding('b1\u0000')).toBeUndefined();
      expect(await store.blobInNamespaces(`${file('a').sha256}\u0000`, ['vision'])).toBe(false);
      expect(await store.blobInNamespaces(file('a').sha256, ['vis\u0000ion'])).toBe(false);
      expect(await store.listModels({ limit: 5, namespaces: ['\u0000'] })).toEqual({ items: [], nextCursor: null });
      expect((await store.listModels({ limit: 5, namespaces: ['\u0000', 'vision'] })).items.map((m) => m.name)).toEqual(['resnet']);
      await store.transaction(async (tx) => {
        await expect(tx.disablePrincipal('p-deployer\u0000', day(2))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.revokeToken('t1\u0000', day(2))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.revokeBinding('b1\u0000', day(2))).rejects.toMatchObject({ code: 'CONFLICT' });
        await tx.revokeToken('t1', day(2));
      });
      expect(await store.getPrincipalById('p-deployer')).toMatchObject({ disabledAt: null });
      expect(await store.getBinding('b1')).toMatchObject({ revokedAt: null });
    });

    it('refuses to store identity text holding NUL or unpaired surrogates, with the transaction still usable', async () => {
      await store.transaction(async (tx) => {
        await expect(tx.insertPrincipal(principal('ali\u0000ce'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertPrincipal(service('deployer', 'sub\u0000'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertPrincipal(service('deployer', 'sub', ISSUER, 'claims.x == "\ud800"'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await tx.insertPrincipal(service('deployer', 'sub'));
        await expect(tx.insertToken(apiToken('t1', 'p-deployer', { name: 'n\u0000' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertBinding(binding('b1', 'p-deployer', { condition: 'claims.a == "\u0000"' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await tx.insertBinding(binding('b1', 'p-deployer'));
      });
      expect((await store.listPrincipals()).map((p) => p.name)).toEqual(['deployer']);
      expect(await store.listTokens()).toEqual([]);
      expect((await store.listAllBindings()).map((b) => b.id)).toEqual(['b1']);
    });

    it('tells whether a version in the given namespaces lists a blob', async () => {
      await store.transaction(async (tx) => {
        await tx.ensureModel('vision', 'resnet', T0);
        await tx.insertVersion(newVersion('vision', 'resnet', 'v', [file('shared'), file('vision-only')]));
        await tx.ensureModel('nlp', 'bert', T0);
        await tx.insertVersion(newVersion('nlp', 'bert', 'n', [file('nlp-only'), file('shared')]));
        await tx.ensureModel('visionary', 'empty', T0);
      });
      const sha = (seed: string): string => file(seed).sha256;
      expect(await store.blobInNamespaces(sha('vision-only'), ['vision'])).toBe(true);
      expect(await store.blobInNamespaces(sha('vision-only'), ['nlp'])).toBe(false);
      expect(await store.blobInNamespaces(sha('vision-only'), ['nlp', 'vision'])).toBe(true);
      expect(await store.blobInNamespaces(sha('shared'), ['nlp'])).toBe(true);
      expect(await store.blobInNamespaces(sha('nlp-only'), ['vision', 'visionary', 'vis', 'NLP'])).toBe(false);
      expect(await store.blobInNamespaces(sha('shared'), [])).toBe(false);
      expect(await store.blobInNamespaces(sha('absent'), ['vision', 'nlp'])).toBe(false);
      expect(await store.blobInNamespaces(sha('shared').toUpperCase(), ['vision', 'nlp'])).toBe(false);
      await store.transaction(async (tx) => {
        expect(await tx.blobInNamespaces(sha('vision-only'), ['vision'])).toBe(true);
      });
    });

    it('restricts listModels to the given namespaces, paging through them once each', async () => {
      await store.transaction(async (tx) => {
        for (const namespace of ['alpha', 'beta', 'gamma', 'alphabet']) {
          for (const name of ['m1', 'm2', 'm3']) await tx.ensureModel(namespace, name, T0);
        }
      });
      await registerVersions(store, 'gamma', 'm2', ['g1', 'g2']);

      const pageThrough = async (options: { readonly namespaces: readonly string[]; readonly namespace?: string }, limit: number): Promise<string[]> => {
        const seen: string[] = [];
        let cursor: string | undefined;
        for (let page = 0; page < 20; page += 1) {
          const result = await store.listModels({ limit, ...options, ...(cursor === undefined ? {} : { cursor }) });
          expect(result.items.length).toBeLessThanOrEqual(limit);
          seen.push(...result.items.map((m) => `${m.namespace}/${m.name}`));
          if (result.nextCursor === null) return seen;
          cursor = result.nextCursor;
        }
        throw new Error('listModels never reached the last page');
      };
      const alphaGamma = ['alpha/m1', 'alpha/m2', 'alpha/m3', 'gamma/m1', 'gamma/m2', 'gamma/m3'];
      expect(await pageThrough({ namespaces: ['gamma', 'alpha'] }, 2)).toEqual(alphaGamma);
      expect(await pageThrough({ namespaces: ['gamma', 'alpha', 'gamma'] }, 4)).toEqual(alphaGamma);
      expect(await pageThrough({ namespaces: ['beta'] }, 1)).toEqual(['beta/m1', 'beta/m2', 'beta/m3']);
      expect(await pageThrough({ namespaces: ['alpha', 'beta'], namespace: 'beta' }, 2)).toEqual(['beta/m1', 'beta/m2', 'beta/m3']);
      expect(await pageThrough({ namespaces: ['alpha'], namespace: 'beta' }, 2)).toEqual([]);
      expect(await pageThrough({ namespaces: ['delta', 'alph'] }, 2)).toEqual([]);

      const exact = await store.listModels({ limit: 6, namespaces: ['alpha', 'gamma'] });
      expect(exact.items).toHaveLength(6);
      expect(exact.nextCursor).toBeNull();
      expect(exact.items.find((m) => m.namespace === 'gamma' && m.name === 'm2')).toMatchObject({
        versionCount: 2,
        latestNumber: 2,
        latestDigest: newVersion('gamma', 'm2', 'g2').digest,
      });
      expect(await store.listModels({ limit: 5, namespaces: [] })).toEqual({ items: [], nextCursor: null });
      expect(await store.listModels({ limit: 5, namespace: 'alpha', namespaces: [] })).toEqual({ items: [], nextCursor: null });
    });

    it('turns corrupt identity rows into INTERNAL without repeating their content', async () => {
      await store.transaction(async (tx) => {
        await tx.insertPrincipal(principal('alice'));
        await tx.insertPrincipal(service('deployer', 'sub'));
        await tx.insertPrincipal(service('builder', 'sub-2'));
        await tx.insertToken(apiToken('t1', 'p-alice', { permissions: ['model.read'] }));
      });
      // A user's identity with a condition is corrupt (only workload identities have conditions).
      await rawQuery(opened.spec, `update principals set oidc_issuer = 'https://secret-ish.example', oidc_subject = 'secret-ish', oidc_condition = 'true' where id = 'p-alice'`);
      const failure = await store.getPrincipalById('p-alice').catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'INTERNAL', details: { table: 'principals' } });
      expect((failure as Error).message).not.toContain('secret-ish');
      expect(JSON.stringify((failure as { details: unknown }).details)).not.toContain('secret-ish');
      await expect(store.listPrincipals()).rejects.toMatchObject({ code: 'INTERNAL' });
      await expect(store.findPrincipalByOidc('https://secret-ish.example', 'secret-ish')).rejects.toMatchObject({ code: 'INTERNAL' });

      // A service with half an OIDC identity is as corrupt as a user with a conditional one.
      await rawQuery(opened.spec, `update principals set oidc_subject = null where id = 'p-builder'`);
      await expect(store.getPrincipalById('p-builder')).rejects.toMatchObject({ code: 'INTERNAL', details: { table: 'principals' } });
      expect(await store.getPrincipalById('p-deployer')).toEqual(service('deployer', 'sub'));

      await rawQuery(opened.spec, `update api_tokens set permissions = '["model.read", 7]'`);
      await expect(store.getToken('t1')).rejects.toMatchObject({ code: 'INTERNAL', details: { table: 'api_tokens', column: 'permissions' } });
      await expect(store.listTokens()).rejects.toMatchObject({ code: 'INTERNAL', details: { column: 'permissions' } });
    });
  });

  describe('transparency log', () => {
    it('starts empty after migration', async () => {
      expect(await store.logSize()).toBe(0);
      expect(await store.getLogEntries(0, 10)).toEqual([]);
      expect(await store.queryLogEntries({ limit: 10 })).toEqual([]);
      expect(await store.getLatestCheckpoint()).toBeUndefined();
      expect(await store.transaction((tx) => tx.lockLogHead())).toBe(0);
    });

    it('appends entries, hashes and the head in one transaction and reads them back', async () => {
      const entries = [logEntry('a'), logEntry('b', { namespace: null, name: null, type: 'policy.updated' }), logEntry('c')];
      const hashes = [logHash(0), logHash(1), logHash(2)];
      await store.transaction(async (tx) => {
        expect(await tx.lockLogHead()).toBe(0);
        await tx.insertLogEntries(0, entries);
        await tx.insertLogHashes(hashes);
        await tx.setLogHead(3);
        expect(await tx.logSize()).toBe(3);
      });
      expect(await store.logSize()).toBe(3);
      const stored = entries.map((entry, index) => ({ index, ...entry }));
      expect(await store.getLogEntries(0, 3)).toEqual(stored);
      expect(await store.getLogEntries(1, 2)).toEqual([stored[1]]);
      expect(await store.getLogEntries(2, 100)).toEqual([stored[2]]);
      expect(await store.readLogHashes([2, 0, 2])).toEqual([hashes[2]?.hash, hashes[0]?.hash, hashes[2]?.hash]);
      expect(await appendLog(store, [logEntry('d')])).toBe(3);
      expect(await store.logSize()).toBe(4);
    });

    it('keeps indexes, ids and sizes beyond 2^32 exact', async () => {
      const far = 2 ** 40 + 3;
      await store.transaction(async (tx) => {
        await tx.insertLogEntries(far, [logEntry('far')]);
        await tx.insertLogHashes([logHash(far)]);
        await tx.setLogHead(far + 1);
        await tx.insertCheckpoint({ size: far + 1, note: 'note\n', createdAt: T0 });
      });
      expect(await store.logSize()).toBe(far + 1);
      expect(await store.getLogEntries(far, far + 1)).toEqual([{ index: far, ...logEntry('far') }]);
      expect(await store.findLogIndexesByLeafHash(logEntry('far').leafHash)).toEqual([far]);
      expect(await store.readLogHashes([far])).toEqual([logHash(far).hash]);
      expect(await store.getLatestCheckpoint()).toEqual({ size: far + 1, note: 'note\n', createdAt: T0 });
    });

    it('keeps nothing of a log append whose transaction throws', async () => {
      await expect(
        store.transaction(async (tx) => {
          const start = await tx.lockLogHead();
          await tx.insertLogEntries(start, [logEntry('a'), logEntry('b')]);
          await tx.insertLogHashes([logHash(0), logHash(1), logHash(2)]);
          await tx.setLogHead(start + 2);
          await tx.insertCheckpoint({ size: 2, note: 'n', createdAt: T0 });
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');
      expect(await store.logSize()).toBe(0);
      expect(await store.getLatestCheckpoint()).toBeUndefined();
      for (const table of ['log_entries', 'log_hashes', 'checkpoints']) expect(await countRows(opened.spec, table)).toBe(0);
    });

    it('reports a taken index as CONFLICT with nothing partial and the transaction usable', async () => {
      await store.transaction((tx) => tx.insertLogEntries(1500, [logEntry('taken')]));
      // 1,600 rows span two insert chunks; the conflict is in the second.
      const batch = Array.from({ length: 1600 }, (_, i) => logEntry(`batch-${i}`));
      await store.transaction(async (tx) => {
        await expect(tx.insertLogEntries(0, batch)).rejects.toMatchObject({ code: 'CONFLICT' });
        await tx.insertLogEntries(0, [logEntry('after')]);
      });
      expect(await countRows(opened.spec, 'log_entries')).toBe(2);
      expect(await store.getLogEntries(0, 2)).toEqual([{ index: 0, ...logEntry('after') }]);
    });

    it('reports a taken hash id as CONFLICT with nothing partial', async () => {
      await store.transaction((tx) => tx.insertLogHashes([logHash(1200)]));
      await store.transaction(async (tx) => {
        await expect(tx.insertLogHashes(Array.from({ length: 1300 }, (_, i) => logHash(i)))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.insertLogHashes([logHash(7), logHash(7)])).rejects.toMatchObject({ code: 'CONFLICT' });
      });
      expect(await countRows(opened.spec, 'log_hashes')).toBe(1);
    });

    it('reads many stored hashes in the order asked and fails INTERNAL on a missing one', async () => {
      const hashes = Array.from({ length: 12_000 }, (_, i) => logHash(i));
      await store.transaction((tx) => tx.insertLogHashes(hashes));
      const ids = hashes.map((h) => h.id).reverse();
      expect(await store.readLogHashes(ids)).toEqual(hashes.map((h) => h.hash).reverse());
      expect(await store.readLogHashes([])).toEqual([]);
      await expect(store.readLogHashes([0, 12_000])).rejects.toMatchObject({ code: 'INTERNAL', details: { id: 12_000 } });
      await expect(store.readLogHashes([-1])).rejects.toMatchObject({ code: 'INTERNAL' });
    });

    it('moves the head only forward', async () => {
      await appendLog(store, [logEntry('a'), logEntry('b')]);
      await expect(store.transaction((tx) => tx.setLogHead(1))).rejects.toMatchObject({ code: 'INTERNAL' });
      await expect(store.transaction((tx) => tx.setLogHead(-1))).rejects.toMatchObject({ code: 'INTERNAL' });
      await store.transaction((tx) => tx.setLogHead(2));
      expect(await store.logSize()).toBe(2);
      await store.transaction((tx) => tx.setLogHead(5));
      expect(await store.logSize()).toBe(5);
    });

    it('stores checkpoints by size, keeping the first one for a size', async () => {
      await store.transaction(async (tx) => {
        await tx.insertCheckpoint({ size: 0, note: 'zero', createdAt: T0 });
        await tx.insertCheckpoint({ size: 5, note: 'five', createdAt: T0 });
        await tx.insertCheckpoint({ size: 3, note: 'three', createdAt: T0 });
      });
      await store.transaction((tx) => tx.insertCheckpoint({ size: 5, note: 'five again', createdAt: '2026-01-01T00:00:00.000Z' }));
      expect(await store.getLatestCheckpoint()).toEqual({ size: 5, note: 'five', createdAt: T0 });
      expect(await store.getCheckpoint(3)).toEqual({ size: 3, note: 'three', createdAt: T0 });
      expect(await store.getCheckpoint(0)).toMatchObject({ note: 'zero' });
      expect(await store.getCheckpoint(4)).toBeUndefined();
      expect(await store.getCheckpoint(-1)).toBeUndefined();
      expect(await store.getCheckpoint(Number.NaN)).toBeUndefined();
      expect(await countRows(opened.spec, 'checkpoints')).toBe(3);
    });

    it('filters entries by type, model, time and index, newest first', async () => {
      const at = (day: number): string => `2025-01-0${day}T00:00:00.000Z`;
      await appendLog(store, [
        logEntry('0', { time: at(1) }),
        logEntry('1', { type: 'policy.updated', namespace: null, name: null, time: at(2) }),
        logEntry('2', { namespace: 'nlp', name: 'bert', time: at(3) }),
        logEntry('3', { type: 'version.promoted', time: at(4) }),
        logEntry('4', { time: at(5) }),
        logEntry('5', { name: 'vit', time: at(6) }),
      ]);
      const indexes = async (query: Parameters<MetadataStore['queryLogEntries']>[0]): Promise<number[]> =>
        (await store.queryLogEntries(query)).map((entry) => entry.index);
      expect(await indexes({ limit: 10 })).toEqual([5, 4, 3, 2, 1, 0]);
      expect(await indexes({ limit: 10, types: ['version.registered'] })).toEqual([5, 4, 2, 0]);
      expect(await indexes({ limit: 10, types: ['version.registered', 'version.promoted'], namespace: 'vision', name: 'resnet' })).toEqual([4, 3, 0]);
      expect(await indexes({ limit: 10, namespace: 'vision' })).toEqual([5, 4, 3, 0]);
      expect(await indexes({ limit: 10, since: at(4) })).toEqual([5, 4, 3]);
      expect(await indexes({ limit: 10, types: [] })).toEqual([]);
      expect(await indexes({ limit: 10, namespace: 'vis\u0000ion' })).toEqual([]);
      expect(await store.queryLogEntries({ limit: 1, types: ['policy.updated'] })).toEqual([{ index: 1, ...logEntry('1', { type: 'policy.updated', namespace: null, name: null, time: at(2) }) }]);

      const pages: number[][] = [];
      let beforeIndex: number | undefined;
      for (let page = 0; page < 5; page += 1) {
        const items = await indexes({ limit: 2, ...(beforeIndex === undefined ? {} : { beforeIndex }) });
        if (items.length === 0) break;
        pages.push(items);
        beforeIndex = items.at(-1);
      }
      expect(pages).toEqual([[5, 4], [3, 2], [1, 0]]);

      for (const query of [{ limit: 0 }, { limit: 1001 }, { limit: 1.5 }, { limit: 10, beforeIndex: -1 }, { limit: 10, beforeIndex: Number.NaN }]) {
        await expect(store.queryLogEntries(query)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }
    });

    it('reads at most 1,000 entries per call and rejects malformed ranges', async () => {
      await appendLog(store, Array.from({ length: 1005 }, (_, i) => logEntry(`e${i}`)));
      expect((await store.getLogEntries(0, 1000)).map((e) => e.index)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
      expect((await store.getLogEntries(1000, 2000)).map((e) => e.index)).toEqual([1000, 1001, 1002, 1003, 1004]);
      expect(await store.getLogEntries(5, 5)).toEqual([]);
      for (const [start, end] of [[-1, 0], [2, 1], [0, 1001], [1.5, 2], [0, Number.NaN], [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]] as const) {
        await expect(store.getLogEntries(start, end)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }
    });

    it('finds entries by leaf hash, ascending, and nothing for a malformed hash', async () => {
      const same = logEntry('same');
      await appendLog(store, [same, logEntry('other'), same]);
      expect(await store.findLogIndexesByLeafHash(same.leafHash)).toEqual([0, 2]);
      expect(await store.findLogIndexesByLeafHash(sha256Hex('absent'))).toEqual([]);
      for (const malformed of ['', 'zz', same.leafHash.toUpperCase(), `${same.leafHash}\u0000`, same.leafHash.slice(1)]) {
        expect(await store.findLogIndexesByLeafHash(malformed)).toEqual([]);
      }
    });

    it('refuses entries, hashes and checkpoints it could not read back, storing none', async () => {
      const longest = logEntry('x', { leaf: 'é'.repeat(32_767) + 'a' });
      const unstorable: NewLogEntry[] = [
        logEntry('x', { leaf: 'é'.repeat(32_768) }),
        { ...logEntry('x'), leafHash: logEntry('x').leafHash.toUpperCase() },
        logEntry('x', { type: '' }),
        logEntry('x', { time: '' }),
        logEntry('x', { leaf: 'a\u0000b' }),
        logEntry('x', { leaf: 'a\ud800b' }),
      ];
      for (const entry of unstorable) {
        await expect(store.transaction((tx) => tx.insertLogEntries(0, [logEntry('ok'), entry]))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }
      await expect(store.transaction((tx) => tx.insertLogEntries(-1, [logEntry('ok')]))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(store.transaction((tx) => tx.insertLogHashes([{ id: 0, hash: Buffer.alloc(31) }]))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      await expect(store.transaction((tx) => tx.insertCheckpoint({ size: 1, note: '', createdAt: T0 }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      for (const table of ['log_entries', 'log_hashes', 'checkpoints']) expect(await countRows(opened.spec, table)).toBe(0);
      await store.transaction((tx) => tx.insertLogEntries(0, [longest]));
      expect(await store.getLogEntries(0, 1)).toEqual([{ index: 0, ...longest }]);
    });

    it('turns corrupt log rows into INTERNAL without repeating their content', async () => {
      await appendLog(store, [logEntry('a'), logEntry('b')]);
      await store.transaction(async (tx) => {
        await tx.insertLogHashes([logHash(0)]);
        await tx.insertCheckpoint({ size: 2, note: 'n', createdAt: T0 });
      });
      await rawQuery(opened.spec, `update log_entries set leaf_hash = 'secret-ish-not-hex' where idx = 1`);
      await rawQuery(opened.spec, `update log_hashes set hash = 'secret-ish-not-hex'`);
      await rawQuery(opened.spec, `update checkpoints set created_at = ''`);
      const failure = await store.getLogEntries(0, 2).catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'INTERNAL', details: { table: 'log_entries', column: 'leaf_hash' } });
      expect((failure as Error).message).not.toContain('secret-ish');
      await expect(store.queryLogEntries({ limit: 10 })).rejects.toMatchObject({ code: 'INTERNAL' });
      await expect(store.readLogHashes([0])).rejects.toMatchObject({ code: 'INTERNAL', details: { table: 'log_hashes', column: 'hash' } });
      await expect(store.getLatestCheckpoint()).rejects.toMatchObject({ code: 'INTERNAL', details: { column: 'created_at' } });
      await rawQuery(opened.spec, `update log_head set size = 1152921504606846977`);
      await expect(store.logSize()).rejects.toMatchObject({ code: 'INTERNAL', details: { table: 'log_head' } });
      await rawQuery(opened.spec, `delete from log_head`);
      await expect(store.transaction((tx) => tx.lockLogHead())).rejects.toMatchObject({ code: 'INTERNAL' });
    });

    it('sequences 20 concurrent appends on one store into indexes 0..19', async () => {
      await Promise.all(Array.from({ length: 20 }, (_, i) => appendLog(store, [logEntry(`c${i}`)])));
      expect(await store.logSize()).toBe(20);
      const entries = await store.getLogEntries(0, 100);
      expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(new Set(entries.map((e) => e.leaf)).size).toBe(20);
    });

    // Several replicas share one PostgreSQL (see the lockModel case above for why not SQLite).
    if (factory.name === 'postgres') {
      it('serialises appends from two stores on one database under lockLogHead', async () => {
        const second = await openMetadataStore(opened.spec, '/tmp');
        try {
          const appends = (target: MetadataStore, prefix: string): Promise<number>[] =>
            Array.from({ length: 20 }, (_, i) => appendLog(target, [logEntry(`${prefix}${i}`)]));
          const starts = await Promise.all([...appends(store, 'a'), ...appends(second, 'b')]);
          expect([...starts].sort((x, y) => x - y)).toEqual(Array.from({ length: 40 }, (_, i) => i));
        } finally {
          await second.close();
        }
        expect(await store.logSize()).toBe(40);
        const entries = await store.getLogEntries(0, 100);
        expect(entries.map((e) => e.index)).toEqual(Array.from({ length: 40 }, (_, i) => i));
        expect(new Set(entries.map((e) => e.leaf)).size).toBe(40);
      });
    }
  });

  describe('promotion', () => {
    it('places and moves an alias, keeping since, decision and log indexes beyond 2^32 exact', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a', 'b']);
      const v1 = await versionOf(store, 'vision', 'resnet', 1);
      const v2 = await versionOf(store, 'vision', 'resnet', 2);
      const placed = alias(v1, 'dev', { since: day(1), logIndex: 2 ** 40 + 5 });
      const staging = alias(v1, 'staging', { since: day(2), decisionId: 'd-staging', logIndex: 2 ** 40 + 6 });
      await store.transaction(async (tx) => {
        await tx.setAlias(placed);
        await tx.setAlias(staging);
        expect(await tx.getAlias('vision', 'resnet', 'dev')).toEqual(placed);
      });
      expect(await store.getAlias('vision', 'resnet', 'dev')).toEqual(placed);
      expect(sortAliases(await store.listAliasesOfVersion(v1.id))).toEqual([placed, staging]);

      const moved = alias(v2, 'dev', { since: day(3), decisionId: 'd-move', logIndex: 2 ** 41 + 1 });
      await store.transaction((tx) => tx.setAlias(moved));
      expect(await store.getAlias('vision', 'resnet', 'dev')).toEqual(moved);
      expect(await store.listAliasesOfVersion(v1.id)).toEqual([staging]);
      expect(await store.listAliasesOfVersion(v2.id)).toEqual([moved]);
      expect(sortAliases(await store.listAliases('vision', 'resnet'))).toEqual([moved, staging]);
      expect(await countRows(opened.spec, 'aliases')).toBe(2);

      // Moving back without a decision clears the decision id rather than keeping the old one.
      const back = alias(v1, 'dev', { since: day(4), logIndex: 7 });
      await store.transaction((tx) => tx.setAlias(back));
      expect(await store.getAlias('vision', 'resnet', 'dev')).toEqual(back);
      expect(await store.listAliasesOfVersion(v2.id)).toEqual([]);

      expect(await store.getAlias('vision', 'resnet', 'production')).toBeUndefined();
      expect(await store.getAlias('vision', 'other', 'dev')).toBeUndefined();
      expect(await store.listAliases('vision', 'other')).toEqual([]);
      expect(await store.listAliasesOfVersion('v-absent')).toEqual([]);
    });

    it('refuses an alias to a version or model that does not exist with VERSION_NOT_FOUND, the transaction still usable', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a']);
      const v1 = await versionOf(store, 'vision', 'resnet', 1);
      const dev = alias(v1, 'dev');
      const staging = alias(v1, 'staging');
      await store.transaction(async (tx) => {
        await tx.setAlias(dev);
        await expect(tx.setAlias(alias({ ...v1, id: 'v-ghost' }, 'production'))).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
        // Moving an existing alias to a missing version leaves it where it was.
        await expect(tx.setAlias(alias({ ...v1, id: 'v-ghost' }, 'dev', { logIndex: 9 }))).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
        await expect(tx.setAlias(alias({ ...v1, name: 'ghost' }, 'dev'))).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
        await tx.setAlias(staging);
      });
      expect(sortAliases(await store.listAliases('vision', 'resnet'))).toEqual([dev, staging]);
      expect(await store.listAliases('vision', 'ghost')).toEqual([]);
      expect(await countRows(opened.spec, 'aliases')).toBe(2);
    });

    it('lists the aliases of versions a key attested, once each, following moves', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a', 'b', 'c']);
      await registerVersions(store, 'nlp', 'bert', ['x']);
      const [r1, r2, r3] = [await versionOf(store, 'vision', 'resnet', 1), await versionOf(store, 'vision', 'resnet', 2), await versionOf(store, 'vision', 'resnet', 3)];
      const b1 = await versionOf(store, 'nlp', 'bert', 1);
      const resnetDev = alias(r1, 'dev');
      const resnetStaging = alias(r2, 'staging');
      const resnetProduction = alias(r3, 'production');
      const bertDev = alias(b1, 'dev');
      await store.transaction(async (tx) => {
        // Key A signed r1 twice (two statements) and b1; key B signed r1 and r2; nobody signed r3.
        for (const a of [attestation('a-r1', r1, 'A'), attestation('a-r1-again', r1, 'A'), attestation('b-r1', r1, 'B'), attestation('b-r2', r2, 'B'), attestation('a-b1', b1, 'A')]) {
          await tx.insertAttestation(a);
        }
        for (const a of [resnetDev, resnetStaging, resnetProduction, bertDev]) await tx.setAlias(a);
      });
      expect(sortAliases(await store.listAliasesSignedBy(keyIdOf('A')))).toEqual([bertDev, resnetDev]);
      expect(sortAliases(await store.listAliasesSignedBy(keyIdOf('B')))).toEqual([resnetDev, resnetStaging]);
      expect(await store.listAliasesSignedBy(keyIdOf('C'))).toEqual([]);

      const stagingMoved = alias(r3, 'staging', { logIndex: 2 });
      await store.transaction((tx) => tx.setAlias(stagingMoved));
      expect(await store.listAliasesSignedBy(keyIdOf('B'))).toEqual([resnetDev]);
      expect(await store.transaction((tx) => tx.listAliasesSignedBy(keyIdOf('A')))).toHaveLength(2);
    });

    it('moves a policy through its lifecycle, setting approval, activation and end, and refuses a wrong "from" with CONFLICT', async () => {
      const first = policy('p1', 'production', 1);
      const second = policy('p2', 'production', 2);
      const third = policy('p3', 'production', 3);
      await store.transaction(async (tx) => {
        await tx.insertPolicy(first);
        await tx.insertPolicy(second);
        await tx.insertPolicy(third);
      });
      expect(await store.getPolicy('p1')).toEqual(first);
      expect(await store.getActivePolicy('production')).toBeUndefined();

      await store.transaction((tx) => tx.transitionPolicy('p1', { from: 'proposed', to: 'active', at: day(2), approvedBy: 'bob', activatedLogIndex: 2 ** 40 + 1 }));
      const active = { ...first, status: 'active', approvedBy: 'bob', approvedAt: day(2), activatedAt: day(2), activatedLogIndex: 2 ** 40 + 1 } as const;
      expect(await store.getPolicy('p1')).toEqual(active);
      expect(await store.getActivePolicy('production')).toEqual(active);

      await store.transaction(async (tx) => {
        await expect(tx.transitionPolicy('p1', { from: 'proposed', to: 'rejected', at: day(3) })).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.transitionPolicy('p-absent', { from: 'proposed', to: 'active', at: day(3) })).rejects.toMatchObject({ code: 'CONFLICT' });
        // The transaction is still usable: supersede p1 and activate p2 (no approval recorded).
        await tx.transitionPolicy('p1', { from: 'active', to: 'superseded', at: day(3) });
        await tx.transitionPolicy('p2', { from: 'proposed', to: 'active', at: day(3), activatedLogIndex: 12 });
      });
      expect(await store.getPolicy('p1')).toEqual({ ...active, status: 'superseded', endedAt: day(3) });
      const secondActive = { ...second, status: 'active', activatedAt: day(3), activatedLogIndex: 12 } as const;
      expect(await store.getActivePolicy('production')).toEqual(secondActive);

      await store.transaction((tx) => tx.transitionPolicy('p3', { from: 'proposed', to: 'rejected', at: day(4), approvedBy: 'carol' }));
      expect(await store.getPolicy('p3')).toEqual({ ...third, status: 'rejected', approvedBy: 'carol', approvedAt: day(4), endedAt: day(4) });
      for (const [id, from] of [['p1', 'active'], ['p3', 'proposed'], ['p2', 'superseded']] as const) {
        await expect(store.transaction((tx) => tx.transitionPolicy(id, { from, to: 'active', at: day(5) }))).rejects.toMatchObject({ code: 'CONFLICT' });
      }
      expect(await store.getActivePolicy('production')).toEqual(secondActive);
      expect(await store.getPolicy('p-absent')).toBeUndefined();
    });

    it('refuses a second policy with the same environment and number, or the same id, with CONFLICT', async () => {
      await store.transaction(async (tx) => {
        await tx.insertPolicy(policy('p1', 'production', 1));
        await expect(tx.insertPolicy(policy('p1-again', 'production', 1))).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.insertPolicy(policy('p1', 'staging', 1))).rejects.toMatchObject({ code: 'CONFLICT' });
        await tx.insertPolicy(policy('s1', 'staging', 1));
      });
      await expect(store.transaction((tx) => tx.insertPolicy(policy('p1-late', 'production', 1)))).rejects.toMatchObject({ code: 'CONFLICT' });
      expect((await store.listPolicies('production', 10)).map((p) => p.id)).toEqual(['p1']);
      expect((await store.listPolicies('staging', 10)).map((p) => p.id)).toEqual(['s1']);
      expect(await countRows(opened.spec, 'policies')).toBe(2);
    });

    it('answers INTERNAL when two policies of one environment are active', async () => {
      await store.transaction(async (tx) => {
        await tx.insertPolicy(policy('p1', 'production', 1, { status: 'active', activatedAt: T0, activatedLogIndex: 1 }));
        await tx.insertPolicy(policy('p2', 'production', 2));
        await tx.insertPolicy(policy('s1', 'staging', 1, { status: 'active', activatedAt: T0, activatedLogIndex: 3 }));
      });
      expect(await store.getActivePolicy('production')).toMatchObject({ id: 'p1' });
      await rawQuery(opened.spec, `update policies set status = 'active' where id = 'p2'`);
      await expect(store.getActivePolicy('production')).rejects.toMatchObject({ code: 'INTERNAL', details: { environment: 'production' } });
      await expect(store.transaction((tx) => tx.getActivePolicy('production'))).rejects.toMatchObject({ code: 'INTERNAL' });
      expect(await store.getActivePolicy('staging')).toMatchObject({ id: 's1' });
      expect(await store.getActivePolicy('nowhere')).toBeUndefined();
    });

    it('lists an environment\'s policies newest first up to the limit, and validates the limit', async () => {
      await store.transaction(async (tx) => {
        for (const number of [3, 1, 4, 2]) await tx.insertPolicy(policy(`p${String(number)}`, 'production', number));
        await tx.insertPolicy(policy('s1', 'staging', 1));
      });
      expect((await store.listPolicies('production', 10)).map((p) => p.number)).toEqual([4, 3, 2, 1]);
      expect((await store.listPolicies('production', 2)).map((p) => p.id)).toEqual(['p4', 'p3']);
      expect(await store.listPolicies('production', 1)).toEqual([policy('p4', 'production', 4)]);
      expect((await store.listPolicies('staging', 10_000)).map((p) => p.id)).toEqual(['s1']);
      expect(await store.listPolicies('nowhere', 10)).toEqual([]);
      for (const limit of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 10_001]) {
        await expect(store.listPolicies('production', limit)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }
    });

    it('lists proposed policies of every environment, oldest proposal first', async () => {
      await store.transaction(async (tx) => {
        await tx.insertPolicy(policy('p1', 'production', 1, { proposedLogIndex: 30 }));
        await tx.insertPolicy(policy('s1', 'staging', 1, { proposedLogIndex: 10 }));
        await tx.insertPolicy(policy('s2', 'staging', 2, { proposedLogIndex: 40 }));
        await tx.insertPolicy(policy('d1', 'dev', 1, { proposedLogIndex: 20, status: 'active', activatedAt: T0, activatedLogIndex: 21 }));
      });
      expect(await store.listProposedPolicies()).toEqual([policy('s1', 'staging', 1, { proposedLogIndex: 10 }), policy('p1', 'production', 1, { proposedLogIndex: 30 }), policy('s2', 'staging', 2, { proposedLogIndex: 40 })]);
      await store.transaction(async (tx) => {
        await tx.transitionPolicy('s1', { from: 'proposed', to: 'active', at: day(2), activatedLogIndex: 50 });
        await tx.transitionPolicy('p1', { from: 'proposed', to: 'rejected', at: day(2) });
      });
      expect((await store.listProposedPolicies()).map((p) => p.id)).toEqual(['s2']);
    });

    it('stores decisions, lists them newest first and finds the newest allowed one per environment', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a', 'b']);
      const v1 = await versionOf(store, 'vision', 'resnet', 1);
      const v2 = await versionOf(store, 'vision', 'resnet', 2);
      const vsa = JSON.stringify({ mediaType: 'application/vnd.dev.sigstore.bundle.v0.3+json' });
      const devAllow = decision('d-dev', v1, 'dev', 'allow', 5);
      const prodDeny = decision('d-deny', v1, 'production', 'deny', 6, { policyDigest: `sha256:${sha256Hex('policy')}` });
      const prodAllowOld = decision('d-allow-old', v1, 'production', 'allow', 7, { vsa });
      const prodAllowNew = decision('d-allow-new', v1, 'production', 'allow', 2 ** 40 + 8, { vsa, principal: 'deployer', principalKind: 'service', decidedAt: day(3) });
      const prodDenyLatest = decision('d-deny-latest', v1, 'production', 'deny', 2 ** 40 + 9);
      const otherVersion = decision('d-v2', v2, 'production', 'allow', 2 ** 40 + 10, { vsa });
      await store.transaction(async (tx) => {
        for (const d of [prodAllowNew, devAllow, prodDenyLatest, otherVersion, prodDeny, prodAllowOld]) await tx.insertDecision(d);
        expect(await tx.getDecision('d-dev')).toEqual(devAllow);
      });
      expect(await store.getDecision('d-allow-new')).toEqual(prodAllowNew);
      expect(await store.getDecision('d-deny')).toEqual(prodDeny);
      expect(await store.getDecision('d-absent')).toBeUndefined();
      expect(await store.listDecisions(v1.id, 10)).toEqual([prodDenyLatest, prodAllowNew, prodAllowOld, prodDeny, devAllow]);
      expect((await store.listDecisions(v1.id, 2)).map((d) => d.id)).toEqual(['d-deny-latest', 'd-allow-new']);
      expect(await store.listDecisions(v2.id, 10)).toEqual([otherVersion]);
      expect(await store.listDecisions('v-absent', 10)).toEqual([]);
      for (const limit of [0, 1.5, Number.NaN, 10_001]) {
        await expect(store.listDecisions(v1.id, limit)).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
      }

      expect(await store.findAllowedDecision(v1.id, 'production')).toEqual(prodAllowNew);
      expect(await store.findAllowedDecision(v1.id, 'dev')).toEqual(devAllow);
      expect(await store.findAllowedDecision(v1.id, 'staging')).toBeUndefined();
      expect(await store.findAllowedDecision(v2.id, 'dev')).toBeUndefined();
      await store.transaction((tx) => tx.insertDecision(decision('d-staging-deny', v1, 'staging', 'deny', 2 ** 40 + 11)));
      expect(await store.findAllowedDecision(v1.id, 'staging')).toBeUndefined();

      await store.transaction(async (tx) => {
        await expect(tx.insertDecision({ ...devAllow, logIndex: 99 })).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.insertDecision(decision('d-ghost', { ...v1, id: 'v-ghost' }, 'dev', 'allow', 100))).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
        await tx.insertDecision(decision('d-after', v2, 'dev', 'deny', 101));
      });
      expect(await countRows(opened.spec, 'decisions')).toBe(8);
    });

    it('lists active quarantines and clears one environment\'s, counting them and leaving the rest', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a', 'b']);
      const v1 = await versionOf(store, 'vision', 'resnet', 1);
      const v2 = await versionOf(store, 'vision', 'resnet', 2);
      const prodA = quarantine('q-prod-a', v1, 'production', 2 ** 40 + 1, { since: day(2) });
      const prodB = quarantine('q-prod-b', v1, 'production', 2 ** 40 + 3, { reason: 'second key revoked', since: day(3) });
      const staging = quarantine('q-staging', v1, 'staging', 2 ** 40 + 2);
      const cleared = quarantine('q-old', v1, 'production', 1, { clearedAt: day(1), clearedBy: 'd-old' });
      const otherVersion = quarantine('q-v2', v2, 'production', 2 ** 40 + 4);
      await store.transaction(async (tx) => {
        for (const q of [prodB, otherVersion, cleared, staging, prodA]) await tx.insertQuarantine(q);
        await expect(tx.insertQuarantine({ ...prodA, logIndex: 9 })).rejects.toMatchObject({ code: 'CONFLICT' });
        await expect(tx.insertQuarantine(quarantine('q-ghost', { ...v1, id: 'v-ghost' }, 'production', 10))).rejects.toMatchObject({ code: 'VERSION_NOT_FOUND' });
      });
      expect(await store.listActiveQuarantines(v1.id)).toEqual([prodA, staging, prodB]);
      expect(await store.listActiveQuarantines(v2.id)).toEqual([otherVersion]);

      expect(await store.transaction((tx) => tx.clearQuarantines(v1.id, 'production', day(5), 'd-clear'))).toBe(2);
      expect(await store.listActiveQuarantines(v1.id)).toEqual([staging]);
      expect(await store.listActiveQuarantines(v2.id)).toEqual([otherVersion]);
      const rows = await rawQuery(opened.spec, `select id, cleared_at, cleared_by from quarantines where version_id = '${v1.id}' order by id`);
      expect(rows).toEqual([
        { id: 'q-old', cleared_at: day(1), cleared_by: 'd-old' },
        { id: 'q-prod-a', cleared_at: day(5), cleared_by: 'd-clear' },
        { id: 'q-prod-b', cleared_at: day(5), cleared_by: 'd-clear' },
        { id: 'q-staging', cleared_at: null, cleared_by: null },
      ]);
      expect(await store.transaction((tx) => tx.clearQuarantines(v1.id, 'production', day(6), 'd-again'))).toBe(0);
      expect(await store.transaction((tx) => tx.clearQuarantines('v-absent', 'production', day(6), 'd-again'))).toBe(0);
      expect(await store.listActiveQuarantines('v-absent')).toEqual([]);
    });

    it('answers promotion lookups by NUL-containing keys with not found or nothing', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a']);
      const v1 = await versionOf(store, 'vision', 'resnet', 1);
      await store.transaction(async (tx) => {
        await tx.insertAttestation(attestation('a1', v1, 'A'));
        await tx.setAlias(alias(v1, 'production'));
        await tx.insertPolicy(policy('p1', 'production', 1, { status: 'active', activatedAt: T0, activatedLogIndex: 1 }));
        await tx.insertPolicy(policy('p2', 'production', 2));
        await tx.insertDecision(decision('d1', v1, 'production', 'allow', 2));
        await tx.insertQuarantine(quarantine('q1', v1, 'production', 3));
      });
      expect(await store.getAlias('vision', 'resnet', 'production\u0000')).toBeUndefined();
      expect(await store.getAlias('vis\u0000ion', 'resnet', 'production')).toBeUndefined();
      expect(await store.listAliases('vision', 'resnet\u0000')).toEqual([]);
      expect(await store.listAliasesOfVersion(`${v1.id}\u0000`)).toEqual([]);
      expect(await store.listAliasesSignedBy(`${keyIdOf('A')}\u0000`)).toEqual([]);
      expect(await store.getPolicy('p1\u0000')).toBeUndefined();
      expect(await store.getActivePolicy('produc\u0000tion')).toBeUndefined();
      expect(await store.listPolicies('\u0000', 10)).toEqual([]);
      expect(await store.getDecision('d1\u0000')).toBeUndefined();
      expect(await store.listDecisions(`\u0000${v1.id}`, 10)).toEqual([]);
      expect(await store.findAllowedDecision(v1.id, 'production\u0000')).toBeUndefined();
      expect(await store.findAllowedDecision(`${v1.id}\u0000`, 'production')).toBeUndefined();
      expect(await store.listActiveQuarantines(`${v1.id}\u0000`)).toEqual([]);
      await store.transaction(async (tx) => {
        await expect(tx.transitionPolicy('p2\u0000', { from: 'proposed', to: 'rejected', at: day(2) })).rejects.toMatchObject({ code: 'CONFLICT' });
        expect(await tx.clearQuarantines(`${v1.id}\u0000`, 'production', day(2), 'd1')).toBe(0);
        expect(await tx.clearQuarantines(v1.id, 'production\u0000', day(2), 'd1')).toBe(0);
        await tx.lockPolicies('production');
        expect(await tx.getAlias('vision', 'resnet', 'production')).toMatchObject({ versionId: v1.id });
      });
      expect(await store.getPolicy('p2')).toMatchObject({ status: 'proposed' });
      expect(await store.listActiveQuarantines(v1.id)).toHaveLength(1);
    });

    it('refuses promotion text holding NUL or unpaired surrogates, or values it could not read back, with VALIDATION_FAILED', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a']);
      const v1 = await versionOf(store, 'vision', 'resnet', 1);
      await store.transaction(async (tx) => {
        await expect(tx.setAlias(alias(v1, 'dev', { since: 'a\u0000b' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.setAlias(alias(v1, 'd\u0000ev'))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.setAlias(alias(v1, 'dev', { decisionId: '\ud800' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.setAlias(alias(v1, 'dev', { versionDigest: 'sha256:ABC' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.setAlias(alias(v1, 'dev', { logIndex: -1 }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertPolicy(policy('p1', 'production', 1, { document: '{"a":"\u0000"}' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertPolicy(policy('p1', 'production', 1, { proposedBy: 'al\ud800ice' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertPolicy(policy('p1', 'production', 1, { digest: sha256Hex('no prefix') }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertPolicy({ ...policy('p1', 'production', 1), status: 'pending' as 'proposed' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertDecision(decision('d1', v1, 'dev', 'allow', 1, { results: '{"x":"\u0000"}' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertDecision(decision('d1', v1, 'dev', 'allow', 1, { vsa: '\u0000' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertDecision(decision('d1', v1, 'dev', 'maybe' as 'allow', 1))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertQuarantine(quarantine('q1', v1, 'dev', 1, { reason: 'x\u0000' }))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.insertQuarantine(quarantine('q1', v1, 'dev', 1.5))).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await tx.setAlias(alias(v1, 'dev'));
        await tx.insertPolicy(policy('p1', 'production', 1));
        await tx.insertQuarantine(quarantine('q1', v1, 'dev', 1));
      });
      await store.transaction(async (tx) => {
        await expect(tx.transitionPolicy('p1', { from: 'proposed', to: 'active', at: day(2), approvedBy: 'b\u0000b' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.transitionPolicy('p1', { from: 'proposed', to: 'rejected', at: `${day(2)}\u0000` })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.transitionPolicy('p1', { from: 'proposed', to: 'active', at: day(2), approvedBy: '\udc00' })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.clearQuarantines(v1.id, 'dev', day(2), 'd\u0000')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await expect(tx.clearQuarantines(v1.id, 'dev', '\ud800', 'd1')).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
        await tx.insertDecision(decision('d1', v1, 'dev', 'allow', 1));
      });
      expect(await store.getPolicy('p1')).toEqual(policy('p1', 'production', 1));
      expect(await store.listActiveQuarantines(v1.id)).toHaveLength(1);
      expect(await store.listAliases('vision', 'resnet')).toEqual([alias(v1, 'dev')]);
      expect(await countRows(opened.spec, 'decisions')).toBe(1);
    });

    it('turns corrupt promotion rows into INTERNAL without repeating their content', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a']);
      const v1 = await versionOf(store, 'vision', 'resnet', 1);
      await store.transaction(async (tx) => {
        await tx.setAlias(alias(v1, 'dev'));
        await tx.insertPolicy(policy('p1', 'production', 1));
        await tx.insertPolicy(policy('p2', 'production', 2, { status: 'active', activatedAt: T0, activatedLogIndex: 2 }));
        await tx.insertDecision(decision('d1', v1, 'dev', 'allow', 3));
        await tx.insertQuarantine(quarantine('q1', v1, 'dev', 4));
      });
      const expectInternal = async (read: Promise<unknown>, details: Record<string, unknown>): Promise<void> => {
        const failure = await read.then(
          () => 'no failure',
          (error: unknown) => error,
        );
        expect(failure).toMatchObject({ code: 'INTERNAL', details });
        expect((failure as Error).message).not.toContain('secret-ish');
        expect(JSON.stringify((failure as { details: unknown }).details)).not.toContain('secret-ish');
      };

      await rawQuery(opened.spec, `update policies set status = 'secret-ish' where id = 'p1'`);
      await rawQuery(opened.spec, `update policies set digest = 'sha256:secret-ish' where id = 'p2'`);
      await expectInternal(store.getPolicy('p1'), { table: 'policies', column: 'status' });
      await expectInternal(store.getActivePolicy('production'), { table: 'policies', column: 'digest' });
      await expectInternal(store.listPolicies('production', 10), { table: 'policies' });

      await rawQuery(opened.spec, `update aliases set version_digest = 'sha256:secret-ish'`);
      await expectInternal(store.getAlias('vision', 'resnet', 'dev'), { table: 'aliases', column: 'version_digest' });
      await expectInternal(store.listAliases('vision', 'resnet'), { table: 'aliases' });
      await expectInternal(store.listAliasesOfVersion(v1.id), { table: 'aliases' });

      await rawQuery(opened.spec, `update decisions set input_digest = 'secret-ish'`);
      await expectInternal(store.getDecision('d1'), { table: 'decisions', column: 'input_digest' });
      await expectInternal(store.listDecisions(v1.id, 10), { table: 'decisions' });
      await expectInternal(store.findAllowedDecision(v1.id, 'dev'), { table: 'decisions' });
      await rawQuery(opened.spec, `update decisions set input_digest = '${decision('d1', v1, 'dev', 'allow', 3).inputDigest}', outcome = 'secret-ish'`);
      await expectInternal(store.getDecision('d1'), { table: 'decisions', column: 'outcome' });

      await rawQuery(opened.spec, `update quarantines set log_index = -1`);
      await expectInternal(store.listActiveQuarantines(v1.id), { table: 'quarantines', column: 'log_index' });
    });

    it('numbers policies 1 and 2 when two transactions propose at once under lockPolicies', async () => {
      // PostgreSQL: two stores, as two replicas would be; SQLite: one store (see lockModel above).
      const other = factory.name === 'postgres' ? await openMetadataStore(opened.spec, '/tmp') : store;
      try {
        const firstRead = deferred();
        const release = deferred();
        const propose = (target: MetadataStore, id: string, hold: boolean): Promise<number> =>
          target.transaction(async (tx) => {
            await tx.lockPolicies('production');
            const next = ((await tx.listPolicies('production', 1))[0]?.number ?? 0) + 1;
            if (hold) {
              firstRead.resolve();
              await release.promise;
            }
            await tx.insertPolicy(policy(id, 'production', next));
            return next;
          });
        const first = propose(store, 'p-first', true);
        await firstRead.promise;
        const second = propose(other, 'p-second', false);
        if (factory.name === 'postgres') {
          // Another environment's lock is not held up by production's.
          const staging = other.transaction((tx) => tx.lockPolicies('staging')).then(() => 'locked');
          const stuck = new Promise<string>((resolve) => {
            setTimeout(() => {
              resolve('stuck');
            }, 2000);
          });
          const outcome = await Promise.race([staging, stuck]);
          setTimeout(release.resolve, 200);
          expect(outcome).toBe('locked');
        } else {
          setTimeout(release.resolve, 200);
        }
        expect(await Promise.all([first, second])).toEqual([1, 2]);
      } finally {
        if (other !== store) await other.close();
      }
      expect((await store.listPolicies('production', 10)).map((p) => [p.id, p.number])).toEqual([
        ['p-second', 2],
        ['p-first', 1],
      ]);
    });
  });

  describe('attestations by key', () => {
    /** `attestation(id, version, keySeed)` logged at `logIndex` on day `day(n)`. */
    const signed = (id: string, version: VersionRecord, keySeed: string, logIndex: number, n: number): AttestationRecord => ({
      ...attestation(id, version, keySeed),
      logIndex,
      loggedAt: day(n),
    });

    it('counts each key\'s attestations in one grouped read with the newest log time, within the namespaces asked', async () => {
      expect(await store.attestationCountsByKey()).toEqual(new Map());
      await registerVersions(store, 'vision', 'resnet', ['a', 'b']);
      await registerVersions(store, 'nlp', 'bert', ['x']);
      const [r1, r2, b1] = [await versionOf(store, 'vision', 'resnet', 1), await versionOf(store, 'vision', 'resnet', 2), await versionOf(store, 'nlp', 'bert', 1)];
      await store.transaction(async (tx) => {
        // Inserted out of log order: the newest time is a maximum, not the last row.
        for (const a of [signed('a-b1', b1, 'A', 7, 7), signed('a-r1', r1, 'A', 3, 3), signed('b-r1', r1, 'B', 4, 4), signed('a-r2', r2, 'A', 5, 5)]) await tx.insertAttestation(a);
      });
      const [A, B] = [keyIdOf('A'), keyIdOf('B')];
      expect(await store.attestationCountsByKey()).toEqual(
        new Map([
          [A, { count: 3, lastSignedAt: day(7) }],
          [B, { count: 1, lastSignedAt: day(4) }],
        ]),
      );
      expect(await store.attestationCountsByKey({ namespaces: ['vision'] })).toEqual(
        new Map([
          [A, { count: 2, lastSignedAt: day(5) }],
          [B, { count: 1, lastSignedAt: day(4) }],
        ]),
      );
      expect(await store.attestationCountsByKey({ namespaces: ['nlp', 'absent'] })).toEqual(new Map([[A, { count: 1, lastSignedAt: day(7) }]]));
      expect(await store.attestationCountsByKey({ namespaces: [] })).toEqual(new Map());
      expect(await store.attestationCountsByKey({ namespaces: ['vision\u0000'] })).toEqual(new Map());
      expect((await store.transaction((tx) => tx.attestationCountsByKey())).get(A)?.count).toBe(3);
    });

    it('lists a key\'s attestations newest first with their versions, paging by cursor across equal log indexes and within namespaces', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a', 'b']);
      await registerVersions(store, 'nlp', 'bert', ['x']);
      const [r1, r2, b1] = [await versionOf(store, 'vision', 'resnet', 1), await versionOf(store, 'vision', 'resnet', 2), await versionOf(store, 'nlp', 'bert', 1)];
      const big = 2 ** 33 + 1;
      await store.transaction(async (tx) => {
        for (const a of [
          signed('a1', r1, 'A', 10, 1),
          signed('a2', r1, 'A', 20, 2),
          signed('a3', r2, 'A', 20, 2),
          signed('a4', b1, 'A', 25, 3),
          signed('a5', r2, 'A', big, 4),
          signed('b1', r1, 'B', 30, 5),
        ]) {
          await tx.insertAttestation(a);
        }
      });
      const all = async (namespaces?: readonly string[]): Promise<string[]> => {
        const ids: string[] = [];
        let cursor: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await store.listAttestationsByKey(keyIdOf('A'), { limit: 2, ...(cursor === undefined ? {} : { cursor }), ...(namespaces === undefined ? {} : { namespaces }) });
          expect(page.items.length).toBeLessThanOrEqual(2);
          ids.push(...page.items.map((a) => a.id));
          if (page.nextCursor === null) return ids;
          cursor = page.nextCursor;
        }
        throw new Error('the listing did not end');
      };
      expect(await all()).toEqual(['a5', 'a4', 'a3', 'a2', 'a1']);
      expect(await all(['vision'])).toEqual(['a5', 'a3', 'a2', 'a1']);
      expect(await all(['nlp'])).toEqual(['a4']);
      expect(await all([])).toEqual([]);

      const first = await store.listAttestationsByKey(keyIdOf('A'), { limit: 1 });
      expect(first.items).toEqual([
        {
          id: 'a5',
          namespace: 'vision',
          name: 'resnet',
          versionNumber: 2,
          versionDigest: r2.digest,
          predicateType: 'https://slsa.dev/provenance/v1',
          role: 'attestation',
          logIndex: big,
          loggedAt: day(4),
          addedBy: 'alice',
        },
      ]);
      expect(first.nextCursor).not.toBeNull();
      const whole = await store.transaction((tx) => tx.listAttestationsByKey(keyIdOf('A'), { limit: 5 }));
      expect(whole.items.map((a) => a.id)).toEqual(['a5', 'a4', 'a3', 'a2', 'a1']);
      expect(whole.nextCursor).toBeNull();
      expect((await store.listAttestationsByKey(keyIdOf('B'), { limit: 5 })).items.map((a) => [a.id, a.versionDigest])).toEqual([['b1', r1.digest]]);
      expect(await store.listAttestationsByKey(keyIdOf('C'), { limit: 5 })).toEqual({ items: [], nextCursor: null });
      expect(await store.listAttestationsByKey(`${keyIdOf('A')}\u0000`, { limit: 5 })).toEqual({ items: [], nextCursor: null });
    });

    it('refuses a garbled or foreign cursor and a limit out of range with VALIDATION_FAILED', async () => {
      await registerVersions(store, 'vision', 'resnet', ['a', 'b']);
      const page = await store.listVersions('vision', 'resnet', { limit: 1 });
      const foreign = page.nextCursor ?? '';
      expect(foreign).not.toBe('');
      const forged = Buffer.from(JSON.stringify(['ka', -1, 'x'])).toString('base64url');
      const nulId = Buffer.from(JSON.stringify(['ka', 1, 'x\u0000'])).toString('base64url');
      for (const cursor of ['not a cursor', 'bm90IGpzb24', foreign, forged, nulId, 'A'.repeat(5000)]) {
        await expect(store.listAttestationsByKey(keyIdOf('A'), { limit: 2, cursor }), cursor.slice(0, 40)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'cursor' } });
      }
      for (const limit of [0, -1, 1.5, 1001, Number.NaN]) {
        await expect(store.listAttestationsByKey(keyIdOf('A'), { limit }), String(limit)).rejects.toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'limit' } });
      }
    });
  });
});

describe('postgres migrations', () => {
  it('let two stores migrate one fresh database at the same time', async () => {
    const database = await createPostgresDatabase();
    const first = await openMetadataStore(database.url, '/tmp');
    const second = await openMetadataStore(database.url, '/tmp');
    try {
      await Promise.all([first.migrate(), second.migrate(), first.migrate()]);
      expect(await second.countPrincipals()).toBe(0);
      expect(await countRows(database.url, 'custody_migrations')).toBe(MIGRATION_COUNT);
      expect(await first.logSize()).toBe(0);
      expect(await countRows(database.url, 'log_head')).toBe(1);
    } finally {
      await first.close();
      await second.close();
      await database.drop();
    }
  });
});

describe('openMetadataStore', () => {
  it('rejects an unknown scheme naming the setting', async () => {
    await expect(openMetadataStore('mysql://root@localhost/custody', '/tmp')).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('storage.metadata') as unknown,
    });
  });

  it('never repeats a password from the URL', async () => {
    const failure = await openMetadataStore('redis://user:hunter2@host/db', '/tmp').catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(JSON.stringify({ message: (failure as Error).message, details: (failure as { details: unknown }).details })).not.toContain('hunter2');
    const malformed = await openMetadataStore('postgres://user:hunter2@[bad/db', '/tmp').catch((error: unknown) => error);
    expect(malformed).toMatchObject({ code: 'CONFIG_INVALID' });
    expect(JSON.stringify({ message: (malformed as Error).message, details: (malformed as { details: unknown }).details })).not.toContain('hunter2');
  });

  it('opens an in-memory SQLite store for tests', async () => {
    const store = await openMetadataStore('sqlite::memory:', '/tmp');
    try {
      await store.migrate();
      expect(store.dialect).toBe('sqlite');
      expect(await store.countPrincipals()).toBe(0);
    } finally {
      await store.close();
    }
  });
});
