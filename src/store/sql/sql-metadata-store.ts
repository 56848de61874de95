/**
 * `MetadataStore` over SQL (SPEC §3): one implementation for SQLite and PostgreSQL through
 * Kysely, so the contract suite exercises the same queries on both. This class owns the Kysely
 * instance and the transaction lifecycle; reads are in `sql-metadata-reader.ts`, writes in
 * `sql-metadata-tx.ts` (the transparency log's in `sql-log-reader.ts` / `sql-log-writer.ts`).
 * Dialect differences stay in three places: how a transaction starts (`BEGIN IMMEDIATE` on
 * SQLite, READ COMMITTED on PostgreSQL, here), the row locks of `lockModel` and `lockLogHead`
 * (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's transaction already holds the database write
 * lock), and the migrations' collation and key types.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely } from 'kysely';
import { CustodyError } from '../../domain/errors.js';
import type { MetadataStore, MetadataTx } from '../metadata-store.js';
import { migrateDatabase } from './migrations.js';
import type { Database, SqlDialectName } from './schema.js';
import { SqlMetadataReader } from './sql-metadata-reader.js';
import { SqlMetadataTx } from './sql-metadata-tx.js';

function isSqliteBusy(error: unknown): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && error.code.startsWith('SQLITE_BUSY');
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
