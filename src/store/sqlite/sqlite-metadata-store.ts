/**
 * The embedded metadata store (SPEC §3): one SQLite file in the data directory, opened with
 * better-sqlite3 and driven by the shared SQL implementation. WAL lets readers proceed while a
 * writer commits; busy_timeout makes another process's write lock a wait rather than an error.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database as Tables } from '../sql/schema.js';
import { SqlMetadataStore } from '../sql/sql-metadata-store.js';
import { StatementCache } from './statement-cache.js';

/**
 * Opens (creating if absent) the SQLite database at `file` (`:memory:` for a private in-memory
 * one). Call `migrate()` before use.
 */
export function openSqliteMetadataStore(file: string): Promise<SqlMetadataStore> {
  const database = new Database(file);
  try {
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    // With WAL, NORMAL loses at most the last commits on power loss, never consistency.
    database.pragma('synchronous = NORMAL');
  } catch (error) {
    database.close();
    throw error;
  }
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database: new StatementCache(database) }) });
  return Promise.resolve(new SqlMetadataStore(db, 'sqlite'));
}
