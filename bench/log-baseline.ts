/**
 * The baseline of `bench:log`'s append figures: the same events, serialised the same way
 * (RFC 8785 JSON and its leaf hash), inserted as the same rows into a plain table shaped like
 * `log_entries` (same columns, same three indexes) in the same database, through the same
 * stack — Kysely over better-sqlite3 (WAL, synchronous=NORMAL, `BEGIN IMMEDIATE`) or over a
 * node-postgres pool (READ COMMITTED) — with one transaction per append. What the log does on
 * top (log-head lock, stored subtree hashes, a signed checkpoint per transaction, a receipt with
 * an inclusion proof per event) is the difference the printed ratio shows.
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import pg from 'pg';
import { canonicalJson } from '../src/crypto/canonical-json.js';
import type { LogEvent } from '../src/domain/log-event.js';
import { hashLeaf } from '../src/log/merkle.js';

interface PlainEventsTable {
  idx: number;
  leaf: string;
  leaf_hash: string;
  type: string;
  time: string;
  namespace: string | null;
  name: string | null;
}

interface Tables {
  bench_plain_events: PlainEventsTable;
}

/** Rows per multi-row INSERT, as the log writer uses. */
const INSERT_CHUNK = 1000;

export class PlainEventTable {
  #next = 0;
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly db: Kysely<Tables>,
    private readonly dialect: 'sqlite' | 'postgres',
  ) {}

  /** Opens a second connection to the SQLite file the store uses, with the store's pragmas. */
  static async sqlite(file: string): Promise<PlainEventTable> {
    const database = new Database(file);
    database.pragma('journal_mode = WAL');
    database.pragma('busy_timeout = 5000');
    database.pragma('foreign_keys = ON');
    database.pragma('synchronous = NORMAL');
    const table = new PlainEventTable(new Kysely<Tables>({ dialect: new SqliteDialect({ database }) }), 'sqlite');
    await table.create();
    return table;
  }

  /** Opens a pool on the PostgreSQL database the store uses. */
  static async postgres(url: string): Promise<PlainEventTable> {
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    pool.on('error', () => undefined);
    const table = new PlainEventTable(new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }), 'postgres');
    await table.create();
    return table;
  }

  private async create(): Promise<void> {
    const key = this.dialect === 'postgres' ? sql`bigint` : sql`integer`;
    const text = this.dialect === 'postgres' ? sql`text collate "C"` : sql`text`;
    await sql`create table bench_plain_events (idx ${key} primary key, leaf text not null, leaf_hash ${text} not null, type ${text} not null, time ${text} not null, namespace ${text}, name ${text})`.execute(this.db);
    await sql`create index bench_plain_events_leaf_hash_idx on bench_plain_events (leaf_hash)`.execute(this.db);
    await sql`create index bench_plain_events_model_idx on bench_plain_events (namespace, name, idx)`.execute(this.db);
    await sql`create index bench_plain_events_type_idx on bench_plain_events (type, idx)`.execute(this.db);
  }

  /** Serialises `events` and inserts them in one transaction. */
  async insert(events: readonly LogEvent[]): Promise<void> {
    const rows = events.map((event, i): PlainEventsTable => {
      const leaf = canonicalJson(event);
      const model = event.model ?? '';
      const slash = model.indexOf('/');
      return {
        idx: this.#next + i,
        leaf,
        leaf_hash: hashLeaf(Buffer.from(leaf, 'utf8')).toString('hex'),
        type: event.type,
        time: event.time,
        namespace: slash < 0 ? null : model.slice(0, slash),
        name: slash < 0 ? null : model.slice(slash + 1),
      };
    });
    const write = async (db: Kysely<Tables>): Promise<void> => {
      for (let offset = 0; offset < rows.length; offset += INSERT_CHUNK) {
        await db.insertInto('bench_plain_events').values(rows.slice(offset, offset + INSERT_CHUNK)).execute();
      }
    };
    if (this.dialect === 'postgres') {
      await this.db.transaction().execute(write);
    } else {
      await this.db.connection().execute(async (connection) => {
        await sql`begin immediate`.execute(connection);
        try {
          await write(connection);
          await sql`commit`.execute(connection);
        } catch (error) {
          await sql`rollback`.execute(connection);
          throw error;
        }
      });
    }
    this.#next += events.length;
  }

  /** Rows inserted so far (the next row's idx). */
  get size(): number {
    return this.#next;
  }

  close(): Promise<void> {
    this.#closing ??= this.db.destroy();
    return this.#closing;
  }
}
