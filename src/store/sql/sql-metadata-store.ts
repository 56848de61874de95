/**
 * `MetadataStore` over SQL (SPEC §3): one implementation for SQLite and PostgreSQL through
 * Kysely, so the contract suite exercises the same queries on both. Dialect differences stay in
 * three places: how a transaction starts (`BEGIN IMMEDIATE` on SQLite, READ COMMITTED on
 * PostgreSQL), `lockModel` (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's transaction already
 * holds the database write lock), and the migrations' collation. Rows read back are decoded by
 * `schema.ts`; constraint violations become CustodyError CONFLICT / *_NOT_FOUND.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import { z } from 'zod';
import { CustodyError, type ErrorCode } from '../../domain/errors.js';
import { assertSafePath, type ManifestFile } from '../../domain/manifest.js';
import type {
  ApiToken,
  MetadataReader,
  MetadataStore,
  MetadataTx,
  ModelRecord,
  ModelSummary,
  NewVersion,
  Page,
  Principal,
  RoleBinding,
  UploadSession,
  VersionRecord,
} from '../metadata-store.js';
import { migrateDatabase } from './migrations.js';
import { decodeRow, toSafeInteger, type Database, type SqlDialectName } from './schema.js';

/** Rows per multi-row INSERT: 5 parameters each stays far below SQLite's 32,766 and PostgreSQL's 65,535. */
const FILE_INSERT_CHUNK = 1000;
const MAX_PAGE_LIMIT = 10_000;
const MAX_CURSOR_LENGTH = 2048;

/** Largest value of an `integer` column in both dialects (PostgreSQL int4). */
const MAX_INT4 = 2 ** 31 - 1;

/**
 * False when no stored row can match: PostgreSQL rejects NUL in text (an error, not a miss), so
 * lookups by hostile keys answer "not found" the same way on both dialects.
 */
function isLookupKey(...keys: readonly string[]): boolean {
  return keys.every((key) => typeof key === 'string' && !key.includes('\u0000'));
}

function isLookupNumber(value: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= max;
}

const cursorKey = z.string().refine((key) => isLookupKey(key));
const modelCursor = z.tuple([z.literal('m'), cursorKey, cursorKey]);
const versionCursor = z.tuple([z.literal('v'), z.number().int().min(1).max(MAX_INT4)]);

function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

function decodeCursor<S extends z.ZodType>(schema: S, cursor: string): z.output<S> {
  const malformed = (): never => {
    throw new CustodyError('VALIDATION_FAILED', 'malformed page cursor', { details: { field: 'cursor' } });
  };
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return malformed();
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return malformed();
  }
  const result = schema.safeParse(json);
  return result.success ? result.data : malformed();
}

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new CustodyError('VALIDATION_FAILED', `page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, { details: { field: 'limit' } });
  }
}

function countOf(value: unknown): number {
  const count = toSafeInteger(value);
  if (count === undefined || count < 0) throw new CustodyError('INTERNAL', 'corrupt count from the metadata store');
  return count;
}

/** The kind of integrity constraint an error from either driver reports, if any. */
function constraintViolation(error: unknown): 'unique' | 'foreign-key' | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  const code = error.code;
  // PostgreSQL SQLSTATE (https://www.postgresql.org/docs/15/errcodes-appendix.html) or better-sqlite3's extended code.
  if (code === '23505' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY') return 'unique';
  if (code === '23503' || code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return 'foreign-key';
  return undefined;
}

function isSqliteBusy(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code.startsWith('SQLITE_BUSY');
}

function toJsonText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new CustodyError('VALIDATION_FAILED', `${field} must be JSON`, { cause: error, details: { field } });
  }
  if (text === undefined) throw new CustodyError('VALIDATION_FAILED', `${field} must be JSON`, { details: { field } });
  return text;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Rejects a version that could not be read back: the read path validates the same shapes. */
function assertStorableVersion(version: NewVersion): number {
  if (!DIGEST.test(version.digest) || !DIGEST.test(version.omsRootDigest)) {
    throw new CustodyError('INVALID_DIGEST', 'version digests must be "sha256:" followed by 64 lowercase hex digits');
  }
  let total = 0;
  for (const file of version.files) {
    assertSafePath(file.path);
    if (!Number.isSafeInteger(file.size) || file.size < 0 || !HEX64.test(file.sha256)) {
      throw new CustodyError('VALIDATION_FAILED', 'file entries need a non-negative integer size and a hex sha256', { details: { path: file.path } });
    }
    total += file.size;
  }
  if (!Number.isSafeInteger(total)) throw new CustodyError('VALIDATION_FAILED', 'total model size is too large');
  return total;
}

/** Reads, bound either to the store (autocommit) or to one transaction's connection. */
class SqlMetadataReader implements MetadataReader {
  readonly #db: Kysely<Database>;
  readonly dialect: SqlDialectName;

  constructor(db: Kysely<Database>, dialect: SqlDialectName) {
    this.#db = db;
    this.dialect = dialect;
  }

  /** The executor for the next query; subclasses refuse use at the wrong time. */
  protected db(): Kysely<Database> {
    return this.#db;
  }

  async countPrincipals(): Promise<number> {
    const row = await this.db().selectFrom('principals').select((eb) => eb.fn.countAll().as('count')).executeTakeFirst();
    return countOf(row?.count);
  }

  async getPrincipalById(id: string): Promise<Principal | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('principals', row);
  }

  async getPrincipalByName(name: string): Promise<Principal | undefined> {
    if (!isLookupKey(name)) return undefined;
    const row = await this.db().selectFrom('principals').selectAll().where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('principals', row);
  }

  async findTokenByHash(tokenHash: string): Promise<ApiToken | undefined> {
    if (!isLookupKey(tokenHash)) return undefined;
    const row = await this.db().selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('api_tokens', row);
  }

  async listBindings(principalId: string): Promise<readonly RoleBinding[]> {
    if (!isLookupKey(principalId)) return [];
    const rows = await this.db()
      .selectFrom('role_bindings')
      .selectAll()
      .where('principal_id', '=', principalId)
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map((row) => decodeRow('role_bindings', row));
  }

  async getModel(namespace: string, name: string): Promise<ModelRecord | undefined> {
    if (!isLookupKey(namespace, name)) return undefined;
    const row = await this.db().selectFrom('models').selectAll().where('namespace', '=', namespace).where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('models', row);
  }

  async listModels(options: { readonly limit: number; readonly cursor?: string; readonly namespace?: string }): Promise<Page<ModelSummary>> {
    assertLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(modelCursor, options.cursor);
    if (options.namespace !== undefined && !isLookupKey(options.namespace)) return { items: [], nextCursor: null };
    let query = this.db()
      .selectFrom('models as m')
      .leftJoin('versions as v', (join) =>
        join
          .onRef('v.namespace', '=', 'm.namespace')
          .onRef('v.name', '=', 'm.name')
          .on((eb) =>
            eb(
              'v.number',
              '=',
              eb.selectFrom('versions as x').select((x) => x.fn.max('x.number').as('max')).whereRef('x.namespace', '=', 'm.namespace').whereRef('x.name', '=', 'm.name'),
            ),
          ),
      )
      .select((eb) => [
        'm.namespace',
        'm.name',
        'm.created_at',
        eb
          .selectFrom('versions as c')
          .select((c) => c.fn.countAll().as('count'))
          .whereRef('c.namespace', '=', 'm.namespace')
          .whereRef('c.name', '=', 'm.name')
          .as('version_count'),
        'v.number as latest_number',
        'v.digest as latest_digest',
        'v.registered_at as latest_registered_at',
      ]);
    if (options.namespace !== undefined) query = query.where('m.namespace', '=', options.namespace);
    if (after !== undefined) {
      const [, namespace, name] = after;
      query = query.where((eb) => eb.or([eb('m.namespace', '>', namespace), eb.and([eb('m.namespace', '=', namespace), eb('m.name', '>', name)])]));
    }
    const rows = await query.orderBy('m.namespace').orderBy('m.name').limit(options.limit + 1).execute();
    const items = rows.slice(0, options.limit).map((row) => decodeRow('model_summaries', row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > options.limit && last !== undefined ? encodeCursor(['m', last.namespace, last.name]) : null };
  }

  async getVersionByNumber(namespace: string, name: string, number: number): Promise<VersionRecord | undefined> {
    if (!isLookupKey(namespace, name) || !isLookupNumber(number, MAX_INT4)) return undefined;
    const row = await this.db()
      .selectFrom('versions')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('name', '=', name)
      .where('number', '=', number)
      .executeTakeFirst();
    return row === undefined ? undefined : decodeRow('versions', row);
  }

  async getVersionByDigest(namespace: string, name: string, digest: string): Promise<VersionRecord | undefined> {
    if (!isLookupKey(namespace, name, digest)) return undefined;
    const row = await this.db()
      .selectFrom('versions')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('name', '=', name)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row === undefined ? undefined : decodeRow('versions', row);
  }

  async listVersions(namespace: string, name: string, options: { readonly limit: number; readonly cursor?: string }): Promise<Page<VersionRecord>> {
    assertLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(versionCursor, options.cursor);
    if (!isLookupKey(namespace, name)) return { items: [], nextCursor: null };
    let query = this.db().selectFrom('versions').selectAll().where('namespace', '=', namespace).where('name', '=', name);
    if (after !== undefined) query = query.where('number', '<', after[1]);
    const rows = await query.orderBy('number', 'desc').limit(options.limit + 1).execute();
    const items = rows.slice(0, options.limit).map((row) => decodeRow('versions', row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > options.limit && last !== undefined ? encodeCursor(['v', last.number]) : null };
  }

  async getVersionFiles(versionId: string): Promise<readonly ManifestFile[]> {
    if (!isLookupKey(versionId)) return [];
    const rows = await this.db()
      .selectFrom('version_files')
      .select(['path', 'size', 'sha256'])
      .where('version_id', '=', versionId)
      .orderBy('ordinal')
      .execute();
    return rows.map((row) => decodeRow('version_files', row));
  }

  async getUploadSession(id: string): Promise<UploadSession | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('upload_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('upload_sessions', row);
  }

  async findUploadSession(principalId: string, sha256: string, size: number): Promise<UploadSession | undefined> {
    if (!isLookupKey(principalId, sha256) || !isLookupNumber(size, Number.MAX_SAFE_INTEGER)) return undefined;
    const row = await this.db()
      .selectFrom('upload_sessions')
      .selectAll()
      .where('principal_id', '=', principalId)
      .where('sha256', '=', sha256)
      .where('size', '=', size)
      .orderBy('updated_at', 'desc')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : decodeRow('upload_sessions', row);
  }

  async listUploadSessionsUpdatedBefore(instant: string): Promise<readonly UploadSession[]> {
    const rows = await this.db().selectFrom('upload_sessions').selectAll().where('updated_at', '<', instant).orderBy('updated_at').orderBy('id').execute();
    return rows.map((row) => decodeRow('upload_sessions', row));
  }
}

/** Reads and writes on one transaction's connection; unusable once the transaction ended. */
class SqlMetadataTx extends SqlMetadataReader implements MetadataTx {
  #active = true;

  end(): void {
    this.#active = false;
  }

  protected override db(): Kysely<Database> {
    if (!this.#active) throw new CustodyError('INTERNAL', 'metadata transaction used after it ended');
    return super.db();
  }

  /**
   * Runs one write under a savepoint, so a constraint violation leaves the transaction usable
   * (PostgreSQL would otherwise abort it) and stores nothing partial; maps violations to codes.
   */
  async #write<T>(onConflict: string, missing: { code: ErrorCode; message: string }, fn: () => Promise<T>): Promise<T> {
    const db = this.db();
    await sql`savepoint custody_write`.execute(db);
    try {
      const result = await fn();
      await sql`release savepoint custody_write`.execute(db);
      return result;
    } catch (error) {
      try {
        await sql`rollback to savepoint custody_write`.execute(db);
        await sql`release savepoint custody_write`.execute(db);
      } catch {
        // The connection is gone or the transaction already aborted: the original error says more.
      }
      const violation = constraintViolation(error);
      if (violation === 'unique') throw new CustodyError('CONFLICT', onConflict, { cause: error });
      if (violation === 'foreign-key') throw new CustodyError(missing.code, missing.message, { cause: error });
      throw error;
    }
  }

  async insertPrincipal(principal: Principal): Promise<void> {
    await this.#write('a principal with this id or name already exists', { code: 'NOT_FOUND', message: 'referenced record not found' }, async () => {
      await this.db()
        .insertInto('principals')
        .values({ id: principal.id, name: principal.name, kind: principal.kind, created_at: principal.createdAt, disabled_at: principal.disabledAt })
        .execute();
    });
  }

  async insertToken(token: ApiToken): Promise<void> {
    await this.#write('a token with this id or hash already exists', { code: 'NOT_FOUND', message: 'the token principal does not exist' }, async () => {
      await this.db()
        .insertInto('api_tokens')
        .values({
          id: token.id,
          principal_id: token.principalId,
          name: token.name,
          token_hash: token.tokenHash,
          created_at: token.createdAt,
          expires_at: token.expiresAt,
          revoked_at: token.revokedAt,
        })
        .execute();
    });
  }

  async insertBinding(binding: RoleBinding): Promise<void> {
    const namespaces = toJsonText(binding.namespaces, 'namespaces');
    const environments = toJsonText(binding.environments, 'environments');
    await this.#write('a role binding with this id already exists', { code: 'NOT_FOUND', message: 'referenced record not found' }, async () => {
      await this.db()
        .insertInto('role_bindings')
        .values({ id: binding.id, principal_id: binding.principalId, role: binding.role, namespaces, environments, created_at: binding.createdAt })
        .execute();
    });
  }

  async ensureModel(namespace: string, name: string, createdAt: string): Promise<ModelRecord> {
    await this.db()
      .insertInto('models')
      .values({ namespace, name, created_at: createdAt })
      .onConflict((oc) => oc.columns(['namespace', 'name']).doNothing())
      .execute();
    const model = await this.getModel(namespace, name);
    if (model === undefined) throw new CustodyError('INTERNAL', 'model vanished right after it was ensured');
    return model;
  }

  async lockModel(namespace: string, name: string): Promise<void> {
    let query = this.db().selectFrom('models').select('namespace').where('namespace', '=', namespace).where('name', '=', name);
    if (this.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (row === undefined) throw new CustodyError('MODEL_NOT_FOUND', 'cannot lock a model that does not exist', { details: { namespace, name } });
  }

  async insertVersion(version: NewVersion): Promise<VersionRecord> {
    const totalSize = assertStorableVersion(version);
    const annotations = toJsonText(version.annotations, 'annotations');
    const { namespace, name, digest } = version;
    const raced = 'another version of this model was registered at the same time (call lockModel first), or this digest was';
    return this.#write(raced, { code: 'MODEL_NOT_FOUND', message: 'the model does not exist' }, async () => {
      const db = this.db();
      const existing = await db.selectFrom('versions').select('number').where('namespace', '=', namespace).where('name', '=', name).where('digest', '=', digest).executeTakeFirst();
      if (existing !== undefined) {
        throw new CustodyError('CONFLICT', 'this model already has a version with this digest', { details: { digest, number: existing.number } });
      }
      const max = await db
        .selectFrom('versions')
        .select((eb) => eb.fn.max('number').as('max'))
        .where('namespace', '=', namespace)
        .where('name', '=', name)
        .executeTakeFirst();
      const previous = max?.max === null || max?.max === undefined ? 0 : toSafeInteger(max.max);
      if (previous === undefined) throw new CustodyError('INTERNAL', 'corrupt version number in the metadata store');
      const record: VersionRecord = {
        id: randomUUID(),
        namespace,
        name,
        number: previous + 1,
        digest,
        omsRootDigest: version.omsRootDigest,
        singleFile: version.singleFile,
        fileCount: version.files.length,
        totalSize,
        annotations: annotations === null ? null : (JSON.parse(annotations) as unknown),
        registeredAt: version.registeredAt,
        registeredBy: version.registeredBy,
      };
      await db
        .insertInto('versions')
        .values({
          id: record.id,
          namespace,
          name,
          number: record.number,
          digest,
          oms_root_digest: record.omsRootDigest,
          single_file: record.singleFile ? 1 : 0,
          file_count: record.fileCount,
          total_size: totalSize,
          annotations,
          registered_at: record.registeredAt,
          registered_by: record.registeredBy,
        })
        .execute();
      for (let start = 0; start < version.files.length; start += FILE_INSERT_CHUNK) {
        const rows = version.files
          .slice(start, start + FILE_INSERT_CHUNK)
          .map((file, index) => ({ version_id: record.id, ordinal: start + index, path: file.path, size: file.size, sha256: file.sha256 }));
        await db.insertInto('version_files').values(rows).execute();
      }
      return record;
    });
  }

  async insertUploadSession(session: UploadSession): Promise<void> {
    await this.#write('an upload session with this id already exists', { code: 'NOT_FOUND', message: 'referenced record not found' }, async () => {
      await this.db()
        .insertInto('upload_sessions')
        .values({
          id: session.id,
          principal_id: session.principalId,
          sha256: session.sha256,
          size: session.size,
          created_at: session.createdAt,
          updated_at: session.updatedAt,
        })
        .execute();
    });
  }

  async touchUploadSession(id: string, updatedAt: string): Promise<void> {
    const result = await this.db().updateTable('upload_sessions').set({ updated_at: updatedAt }).where('id', '=', id).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new CustodyError('UPLOAD_NOT_FOUND', 'upload session not found');
  }

  async deleteUploadSession(id: string): Promise<void> {
    await this.db().deleteFrom('upload_sessions').where('id', '=', id).execute();
  }
}

/**
 * The store: autocommit reads, `transaction`, `migrate`. Construct through
 * `openSqliteMetadataStore` or `openPostgresMetadataStore`; the store owns `db` and destroys it
 * on `close`.
 *
 * Inside `transaction(fn)`, use only the `tx` handed to `fn`: calling the store itself from
 * there throws INTERNAL (on SQLite it would wait for its own connection forever).
 */
export class SqlMetadataStore extends SqlMetadataReader implements MetadataStore {
  readonly #kysely: Kysely<Database>;
  /** Set while `transaction`'s callback runs (and cleared after, for timers it may have started). */
  readonly #insideTransaction = new AsyncLocalStorage<{ active: boolean }>();
  #closing: Promise<void> | undefined;

  constructor(db: Kysely<Database>, dialect: SqlDialectName) {
    super(db, dialect);
    this.#kysely = db;
  }

  protected override db(): Kysely<Database> {
    if (this.#insideTransaction.getStore()?.active === true) {
      throw new CustodyError('INTERNAL', 'the metadata store was used inside its own transaction; use the transaction handle');
    }
    if (this.#closing !== undefined) throw new CustodyError('SHUTTING_DOWN', 'the metadata store is closed');
    return super.db();
  }

  async migrate(): Promise<void> {
    await migrateDatabase(this.dialect, (fn) => this.#runInTransaction(fn));
  }

  async transaction<T>(fn: (tx: MetadataTx) => Promise<T>): Promise<T> {
    return this.#runInTransaction(async (db) => {
      const tx = new SqlMetadataTx(db, this.dialect);
      const scope = { active: true };
      try {
        return await this.#insideTransaction.run(scope, () => fn(tx));
      } finally {
        scope.active = false;
        tx.end();
      }
    });
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db());
  }

  close(): Promise<void> {
    this.#closing ??= this.#kysely.destroy();
    return this.#closing;
  }

  /**
   * PostgreSQL: Kysely's transaction (READ COMMITTED; writers of one model serialise on
   * `lockModel`). SQLite: `BEGIN IMMEDIATE` on the single connection, so the write lock is taken
   * up front and a reader never has to upgrade — a deferred transaction that reads, then writes
   * while another process wrote, fails with SQLITE_BUSY without waiting for busy_timeout.
   */
  async #runInTransaction<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    const db = this.db();
    if (this.dialect === 'postgres') return db.transaction().execute(fn);
    return db.connection().execute(async (connection) => {
      try {
        await sql`begin immediate`.execute(connection);
      } catch (error) {
        // Another process held the write lock for all of busy_timeout.
        if (isSqliteBusy(error)) throw new CustodyError('SERVICE_UNAVAILABLE', 'the SQLite database is busy; retry', { cause: error });
        throw error;
      }
      try {
        const result = await fn(connection);
        await sql`commit`.execute(connection);
        return result;
      } catch (error) {
        try {
          await sql`rollback`.execute(connection);
        } catch {
          // SQLite already rolled back (e.g. SQLITE_FULL): nothing left to undo.
        }
        throw error;
      }
    });
  }
}
