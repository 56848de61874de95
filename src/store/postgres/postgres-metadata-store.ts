/**
 * The scale-out metadata store (SPEC §3): PostgreSQL shared by every `custody serve` replica,
 * through a node-postgres pool and the shared SQL implementation. `bigint` columns arrive as
 * strings (node-postgres' default) and are converted with a precision check when decoded.
 */
import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from '../sql/schema.js';
import { SqlMetadataStore } from '../sql/sql-metadata-store.js';

export interface PostgresMetadataStoreOptions {
  /** Most connections the pool opens (default 10). */
  readonly max?: number;
}

/**
 * Opens a pool on `url` (`postgres://user:password@host:port/database`). Connects lazily: the
 * first query (normally `migrate()`) reports an unreachable server.
 */
export function openPostgresMetadataStore(url: string, options: PostgresMetadataStoreOptions = {}): Promise<SqlMetadataStore> {
  // A server that stops answering (rather than refusing) fails a new connection after 10 s — a
  // 503 to the request, not a hang; keep-alive notices a dead peer of an open connection.
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: 10_000, keepAlive: true });
  // An idle client whose connection drops emits 'error' on the pool; without a listener Node
  // would crash the process. The pool discards that client and the next query reconnects.
  pool.on('error', () => undefined);
  // The pool listens only while a client is idle. A checked-out client whose connection is cut
  // (e.g. "terminating connection due to administrator command" on a PostgreSQL restart, between
  // two statements of a transaction) emits 'error' too: keep the process alive; the client's
  // next query fails, and the pool discards the client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return Promise.resolve(new SqlMetadataStore(db, 'postgres'));
}
