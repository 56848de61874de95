/**
 * The transparency log's read queries (SPEC §5), shared by the store (autocommit) and a
 * transaction through `SqlMetadataReader`. Hashes are hex text in the database and bytes at the
 * seam; every row is decoded by `row-codecs.ts`, so a corrupt one is INTERNAL, never echoed.
 */
import type { Kysely } from 'kysely';
import { CustodyError } from '../../domain/errors.js';
import type { CheckpointRecord, LogEntryRecord, LogQuery, MetadataReader } from '../metadata-store.js';
import { isLookupKey, isLookupNumber } from './lookup-keys.js';
import { decodeRow } from './row-codecs.js';
import type { Database } from './schema.js';

/** Most entries one `getLogEntries` or `queryLogEntries` call returns. */
export const MAX_LOG_ENTRIES_PER_READ = 1000;

/** Ids per `in (…)` list: far below SQLite's 32,766 and PostgreSQL's 65,535 bound parameters. */
const HASH_READ_CHUNK = 5000;

/** Most types one query filters on: each is a bound parameter. */
const MAX_QUERY_TYPES = 1000;

const HEX64 = /^[0-9a-f]{64}$/;

export type LogReads = Pick<
  MetadataReader,
  'logSize' | 'getLogEntries' | 'findLogIndexesByLeafHash' | 'readLogHashes' | 'getLatestCheckpoint' | 'getCheckpoint' | 'queryLogEntries'
>;

function invalid(message: string, field: string): CustodyError {
  return new CustodyError('VALIDATION_FAILED', message, { details: { field } });
}

/** Log reads on the executor `db()` returns at each call (it refuses use at the wrong time). */
export class SqlLogReader implements LogReads {
  readonly #db: () => Kysely<Database>;

  constructor(db: () => Kysely<Database>) {
    this.#db = db;
  }

  async logSize(): Promise<number> {
    return readLogHead(this.#db(), false);
  }

  async getLogEntries(start: number, end: number): Promise<readonly LogEntryRecord[]> {
    if (!isLookupNumber(start, Number.MAX_SAFE_INTEGER)) throw invalid('start must be a non-negative integer', 'start');
    if (!isLookupNumber(end, Number.MAX_SAFE_INTEGER) || end < start) throw invalid('end must be an integer not below start', 'end');
    if (end - start > MAX_LOG_ENTRIES_PER_READ) throw invalid(`at most ${MAX_LOG_ENTRIES_PER_READ} log entries per read`, 'end');
    if (end === start) return [];
    const rows = await this.#db().selectFrom('log_entries').selectAll().where('idx', '>=', start).where('idx', '<', end).orderBy('idx').execute();
    return rows.map((row) => decodeRow('log_entries', row));
  }

  async findLogIndexesByLeafHash(leafHash: string): Promise<readonly number[]> {
    if (typeof leafHash !== 'string' || !HEX64.test(leafHash)) return [];
    const rows = await this.#db().selectFrom('log_entries').select('idx').where('leaf_hash', '=', leafHash).orderBy('idx').execute();
    return rows.map((row) => decodeRow('log_entry_indexes', row));
  }

  async readLogHashes(ids: readonly number[]): Promise<Buffer[]> {
    const wanted = [...new Set(ids)];
    for (const id of wanted) {
      if (!isLookupNumber(id, Number.MAX_SAFE_INTEGER)) throw new CustodyError('INTERNAL', 'asked for a stored log hash with an invalid id');
    }
    const found = new Map<number, string>();
    for (let offset = 0; offset < wanted.length; offset += HASH_READ_CHUNK) {
      const chunk = wanted.slice(offset, offset + HASH_READ_CHUNK);
      const rows = await this.#db().selectFrom('log_hashes').select(['id', 'hash']).where('id', 'in', chunk).execute();
      for (const row of rows) {
        const { id, hash } = decodeRow('log_hashes', row);
        found.set(id, hash);
      }
    }
    return ids.map((id) => {
      const hash = found.get(id);
      if (hash === undefined) throw new CustodyError('INTERNAL', 'a stored log hash is missing from the metadata store', { details: { id } });
      return Buffer.from(hash, 'hex');
    });
  }

  async getLatestCheckpoint(): Promise<CheckpointRecord | undefined> {
    const row = await this.#db().selectFrom('checkpoints').selectAll().orderBy('size', 'desc').limit(1).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('checkpoints', row);
  }

  async getCheckpoint(size: number): Promise<CheckpointRecord | undefined> {
    if (!isLookupNumber(size, Number.MAX_SAFE_INTEGER)) return undefined;
    const row = await this.#db().selectFrom('checkpoints').selectAll().where('size', '=', size).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('checkpoints', row);
  }

  async queryLogEntries(query: LogQuery): Promise<readonly LogEntryRecord[]> {
    const { types, namespace, name, since, beforeIndex, limit } = query;
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LOG_ENTRIES_PER_READ) {
      throw invalid(`limit must be an integer from 1 to ${MAX_LOG_ENTRIES_PER_READ}`, 'limit');
    }
    if (beforeIndex !== undefined && !isLookupNumber(beforeIndex, Number.MAX_SAFE_INTEGER)) {
      throw invalid('beforeIndex must be a non-negative integer', 'beforeIndex');
    }
    if (types !== undefined && types.length > MAX_QUERY_TYPES) throw invalid(`at most ${MAX_QUERY_TYPES} types per query`, 'types');
    // A type no row can hold matches nothing; an empty list matches nothing, like `type in ()`.
    const typeKeys = types?.filter((type) => isLookupKey(type));
    if (typeKeys !== undefined && typeKeys.length === 0) return [];
    for (const key of [namespace, name, since]) {
      if (key !== undefined && !isLookupKey(key)) return [];
    }
    let select = this.#db().selectFrom('log_entries').selectAll();
    if (typeKeys !== undefined) select = select.where('type', 'in', typeKeys);
    if (namespace !== undefined) select = select.where('namespace', '=', namespace);
    if (name !== undefined) select = select.where('name', '=', name);
    if (since !== undefined) select = select.where('time', '>=', since);
    if (beforeIndex !== undefined) select = select.where('idx', '<', beforeIndex);
    const rows = await select.orderBy('idx', 'desc').limit(limit).execute();
    return rows.map((row) => decodeRow('log_entries', row));
  }
}

/**
 * The log head's size. With `lock` on PostgreSQL, the row stays locked until the transaction
 * ends; SQLite's `BEGIN IMMEDIATE` transaction already holds the database write lock.
 */
export async function readLogHead(db: Kysely<Database>, lock: boolean): Promise<number> {
  let select = db.selectFrom('log_head').select('size').where('id', '=', 1);
  if (lock) select = select.forUpdate();
  const row = await select.executeTakeFirst();
  if (row === undefined) throw new CustodyError('INTERNAL', 'the log head is missing from the metadata store');
  return decodeRow('log_head', row);
}
