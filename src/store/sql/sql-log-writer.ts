/**
 * The transparency log's writes (SPEC §5), available only inside a transaction through
 * `SqlMetadataTx`. `lockLogHead` is the one sequencing point when several replicas share a
 * PostgreSQL; inserts run under a savepoint (`write-in-savepoint.ts`), so a taken index or hash
 * id is CONFLICT with nothing partial. Rows are checked against the decoders before they are
 * written, so nothing stored is unreadable.
 */
import { assertStorableText } from './lookup-keys.js';
import type { Kysely } from 'kysely';
import { CustodyError } from '../../domain/errors.js';
import type { CheckpointRecord, LogHash, MetadataTx, NewLogEntry } from '../metadata-store.js';
import { rejectedColumn, type RowKind } from './row-codecs.js';
import type { Database, SqlDialectName } from './schema.js';
import { readLogHead } from './sql-log-reader.js';
import { writeInSavepoint } from './write-in-savepoint.js';

/** Rows per multi-row INSERT: 7 parameters each stays far below SQLite's 32,766 and PostgreSQL's 65,535. */
const LOG_INSERT_CHUNK = 1000;

/** Length of a SHA-256 hash in bytes. */
const HASH_BYTES = 32;

const NO_REFERENCES = { code: 'INTERNAL', message: 'log rows reference nothing' } as const;

export type LogWrites = Pick<MetadataTx, 'lockLogHead' | 'insertLogEntries' | 'insertLogHashes' | 'setLogHead' | 'insertCheckpoint'>;

/**
 * Rejects a row that could not be stored as given or read back: PostgreSQL refuses NUL in text
 * and would silently replace lone surrogates, and the decoders define what reads back.
 */
function assertStorable(kind: RowKind, row: Readonly<Record<string, unknown>>, what: string): void {
  assertStorableText(row, what);
  const column = rejectedColumn(kind, row);
  if (column !== undefined) throw new CustodyError('VALIDATION_FAILED', `${what}: invalid ${column}`, { details: { column } });
}

function isPosition(value: number): boolean {
  return Number.isSafeInteger(value) && value >= 0;
}

/** Log writes on the transaction executor `db()` returns at each call. */
export class SqlLogWriter implements LogWrites {
  readonly #db: () => Kysely<Database>;
  readonly #dialect: SqlDialectName;

  constructor(db: () => Kysely<Database>, dialect: SqlDialectName) {
    this.#db = db;
    this.#dialect = dialect;
  }

  async lockLogHead(): Promise<number> {
    return readLogHead(this.#db(), this.#dialect === 'postgres');
  }

  async insertLogEntries(start: number, entries: readonly NewLogEntry[]): Promise<void> {
    if (!isPosition(start) || !isPosition(start + entries.length)) {
      throw new CustodyError('VALIDATION_FAILED', 'log entries need a non-negative integer start index', { details: { field: 'start' } });
    }
    const rows = entries.map((entry, i) => {
      const row = { idx: start + i, leaf: entry.leaf, leaf_hash: entry.leafHash, type: entry.type, time: entry.time, namespace: entry.namespace, name: entry.name };
      assertStorable('log_entries', row, `log entry ${start + i}`);
      return row;
    });
    if (rows.length === 0) return;
    const db = this.#db();
    await writeInSavepoint(db, 'a log entry with this index already exists', NO_REFERENCES, async () => {
      for (let offset = 0; offset < rows.length; offset += LOG_INSERT_CHUNK) {
        await db.insertInto('log_entries').values(rows.slice(offset, offset + LOG_INSERT_CHUNK)).execute();
      }
    });
  }

  async insertLogHashes(hashes: readonly LogHash[]): Promise<void> {
    const rows = hashes.map(({ id, hash }) => {
      if (!isPosition(id) || !Buffer.isBuffer(hash) || hash.length !== HASH_BYTES) {
        throw new CustodyError('VALIDATION_FAILED', 'a stored log hash needs a non-negative integer id and 32 bytes', { details: { id } });
      }
      return { id, hash: hash.toString('hex') };
    });
    if (rows.length === 0) return;
    const db = this.#db();
    await writeInSavepoint(db, 'a stored log hash with this id already exists', NO_REFERENCES, async () => {
      for (let offset = 0; offset < rows.length; offset += LOG_INSERT_CHUNK) {
        await db.insertInto('log_hashes').values(rows.slice(offset, offset + LOG_INSERT_CHUNK)).execute();
      }
    });
  }

  async setLogHead(size: number): Promise<void> {
    if (!isPosition(size)) throw new CustodyError('INTERNAL', 'the log head size must be a non-negative integer');
    const db = this.#db();
    // One statement, so the check and the move cannot be split by another writer.
    const result = await db.updateTable('log_head').set({ size }).where('id', '=', 1).where('size', '<=', size).executeTakeFirst();
    if (result.numUpdatedRows === 1n) return;
    const current = await readLogHead(db, false);
    throw new CustodyError('INTERNAL', 'the log head only moves forward', { details: { size, current } });
  }

  async insertCheckpoint(checkpoint: CheckpointRecord): Promise<void> {
    const row = { size: checkpoint.size, note: checkpoint.note, created_at: checkpoint.createdAt };
    if (!isPosition(row.size)) throw new CustodyError('VALIDATION_FAILED', 'a checkpoint size must be a non-negative integer', { details: { column: 'size' } });
    assertStorable('checkpoints', row, `checkpoint ${row.size}`);
    await this.#db()
      .insertInto('checkpoints')
      .values(row)
      .onConflict((oc) => oc.column('size').doNothing())
      .execute();
  }
}
