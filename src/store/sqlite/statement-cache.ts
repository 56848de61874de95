/**
 * Kysely's SQLite driver prepares every query anew; preparing (parsing and planning the SQL)
 * costs about as much as running a small query. This wrapper keeps the most recently used
 * prepared statements by their SQL text, the reuse better-sqlite3 itself recommends. A statement
 * still iterating (a streamed query) is never handed out twice: a busy one is replaced by a
 * fresh preparation.
 */
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteDatabase, SqliteStatement } from 'kysely';

/** Distinct SQL texts kept; queries with variable-length lists make new texts, so it is bounded. */
const DEFAULT_CAPACITY = 256;

export class StatementCache implements SqliteDatabase {
  private readonly statements = new Map<string, BetterSqlite3.Statement>();

  constructor(
    private readonly database: BetterSqlite3.Database,
    private readonly capacity = DEFAULT_CAPACITY,
  ) {}

  prepare(sql: string): SqliteStatement {
    const cached = this.statements.get(sql);
    if (cached !== undefined && !cached.busy) {
      // Map order is insertion order: re-inserting marks it most recently used.
      this.statements.delete(sql);
      this.statements.set(sql, cached);
      return cached;
    }
    const statement = this.database.prepare(sql);
    if (cached === undefined) {
      this.statements.set(sql, statement);
      if (this.statements.size > this.capacity) {
        const oldest = this.statements.keys().next();
        if (oldest.done !== true) this.statements.delete(oldest.value);
      }
    }
    return statement;
  }

  /** How many statements are kept (for tests). */
  get size(): number {
    return this.statements.size;
  }

  close(): void {
    this.statements.clear();
    this.database.close();
  }
}
