/**
 * One write of a metadata transaction, run under a savepoint: a constraint violation then leaves
 * the transaction usable (PostgreSQL would otherwise abort it) with nothing of the write stored,
 * and violations from either driver become CustodyError CONFLICT / *_NOT_FOUND. Shared by the
 * writers of `sql-metadata-tx.ts` and `sql-log-writer.ts`.
 */
import { sql, type Kysely } from 'kysely';
import { CustodyError, type ErrorCode } from '../../domain/errors.js';
import type { Database } from './schema.js';

/** What a foreign-key violation means to the caller of one write. */
export interface MissingReference {
  readonly code: ErrorCode;
  readonly message: string;
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

/**
 * Runs `fn` on `db` (a transaction's connection) under a savepoint; on failure rolls back to it
 * and rethrows, a unique violation as CONFLICT (`onConflict`) and a foreign-key one as `missing`.
 */
export async function writeInSavepoint<T>(db: Kysely<Database>, onConflict: string, missing: MissingReference, fn: () => Promise<T>): Promise<T> {
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
