/**
 * Raw SQL on a test registry's metadata database, behind the store's back: how the tamper tests
 * play the insider who edits rows directly (SPEC §10). `?` placeholders on both dialects.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';

export type SqlRow = Record<string, unknown>;

/** Runs one statement on the database `metadataSpec` names; returns the rows of a query. */
export async function rawSql(
  storage: { readonly dataDir: string; readonly metadataSpec: string },
  statement: string,
  params: readonly (string | number)[] = [],
): Promise<SqlRow[]> {
  if (storage.metadataSpec.startsWith('sqlite:')) {
    const db = new Database(path.resolve(storage.dataDir, storage.metadataSpec.slice('sqlite:'.length)));
    try {
      const prepared = db.prepare(statement);
      if (prepared.reader) return prepared.all(...params) as SqlRow[];
      prepared.run(...params);
      return [];
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: storage.metadataSpec });
  await client.connect();
  try {
    let n = 0;
    return (await client.query<SqlRow>(statement.replace(/\?/g, () => `$${String(++n)}`), [...params])).rows;
  } finally {
    await client.end();
  }
}
