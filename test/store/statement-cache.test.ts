/**
 * The SQLite statement cache (`src/store/sqlite/statement-cache.ts`): the same SQL reuses its
 * prepared statement, a statement still iterating is never handed out again, and the cache keeps
 * at most its capacity, dropping the least recently used.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StatementCache } from '../../src/store/sqlite/statement-cache.js';

describe('StatementCache', () => {
  let database: Database.Database;
  let cache: StatementCache;

  beforeEach(() => {
    database = new Database(':memory:');
    database.exec('create table t (n integer)');
    cache = new StatementCache(database, 2);
  });

  afterEach(() => {
    cache.close();
  });

  it('hands out the same prepared statement for the same SQL, with correct results', () => {
    const insert = cache.prepare('insert into t (n) values (?)');
    insert.run([1]);
    expect(cache.prepare('insert into t (n) values (?)')).toBe(insert);
    cache.prepare('insert into t (n) values (?)').run([2]);
    expect(cache.prepare('select n from t order by n').all([])).toEqual([{ n: 1 }, { n: 2 }]);
  });

  it('prepares afresh while the cached statement is still iterating', () => {
    for (const n of [1, 2, 3]) cache.prepare('insert into t (n) values (?)').run([n]);
    const sql = 'select n from t order by n';
    const outer = cache.prepare(sql);
    const seen: unknown[] = [];
    for (const row of outer.iterate([])) {
      const inner = cache.prepare(sql);
      expect(inner).not.toBe(outer);
      seen.push([row, inner.all([]).length]);
    }
    expect(seen).toEqual([[{ n: 1 }, 3], [{ n: 2 }, 3], [{ n: 3 }, 3]]);
    // Once the iteration is over, the cached statement is free again.
    expect(cache.prepare(sql)).toBe(outer);
  });

  it('keeps at most its capacity, dropping the least recently used', () => {
    const a = cache.prepare('select 1');
    const b = cache.prepare('select 2');
    expect(cache.prepare('select 1')).toBe(a);
    cache.prepare('select 3');
    expect(cache.size).toBe(2);
    expect(cache.prepare('select 1')).toBe(a);
    expect(cache.prepare('select 2')).not.toBe(b);
  });
});
