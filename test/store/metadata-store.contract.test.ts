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
import type { ApiToken, LogHash, MetadataStore, NewLogEntry, NewVersion, Principal, RoleBinding, UploadSession } from '../../src/store/metadata-store.js';
import { openMetadataStore } from '../../src/store/open-metadata-store.js';
import { createPostgresDatabase, metadataStoreFactories, type OpenedMetadataStore } from '../support/databases.js';

const T0 = '2025-01-01T00:00:00.000Z';

/** How many migrations `src/store/sql/migrations.ts` lists (the list itself is not exported). */
const MIGRATION_COUNT = 5;

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

    it('refuses an OIDC identity on a user with VALIDATION_FAILED, storing nothing', async () => {
      const user: Principal = { ...principal('alice'), oidc: { issuer: ISSUER, subject: 'sub', condition: null } };
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
      await rawQuery(opened.spec, `update principals set oidc_issuer = 'https://secret-ish.example', oidc_subject = 'secret-ish' where id = 'p-alice'`);
      const failure = await store.getPrincipalById('p-alice').catch((error: unknown) => error);
      expect(failure).toMatchObject({ code: 'INTERNAL', details: { table: 'principals' } });
      expect((failure as Error).message).not.toContain('secret-ish');
      expect(JSON.stringify((failure as { details: unknown }).details)).not.toContain('secret-ish');
      await expect(store.listPrincipals()).rejects.toMatchObject({ code: 'INTERNAL' });
      await expect(store.findPrincipalByOidc('https://secret-ish.example', 'secret-ish')).rejects.toMatchObject({ code: 'INTERNAL' });

      // A service with half an OIDC identity is as corrupt as a user with one.
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
