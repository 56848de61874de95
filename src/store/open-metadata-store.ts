/**
 * Turns the `storage.metadata` setting (SPEC §3.1) into a metadata store: `sqlite:FILE` (relative
 * to the data directory; `sqlite::memory:` for tests) or a `postgres://` / `postgresql://` URL.
 * Error messages name the setting and never repeat a password from the URL.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CustodyError } from '../domain/errors.js';
import type { MetadataStore } from './metadata-store.js';
import { openPostgresMetadataStore } from './postgres/postgres-metadata-store.js';
import { openSqliteMetadataStore } from './sqlite/sqlite-metadata-store.js';

const SETTING = 'storage.metadata';

/** The spec with any URL password replaced, fit for messages and logs. */
export function redactMetadataSpec(spec: string): string {
  try {
    const url = new URL(spec);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    // Not a URL: drop anything that looks like userinfo rather than guess where a password ends.
    return spec.replace(/\/\/[^/]*@/, '//***@');
  }
}

function invalid(message: string, spec: string, cause?: unknown): CustodyError {
  return new CustodyError('CONFIG_INVALID', `${SETTING}: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { setting: SETTING, value: redactMetadataSpec(spec).slice(0, 300) },
  });
}

/**
 * Opens the store `spec` names. The store is not migrated: call `migrate()` before use.
 * Throws CONFIG_INVALID for an unknown scheme or a malformed URL.
 */
export async function openMetadataStore(spec: string, dataDir: string): Promise<MetadataStore> {
  if (spec.startsWith('sqlite:')) {
    const file = spec.slice('sqlite:'.length);
    if (file === '') throw invalid('sqlite: needs a file name, e.g. sqlite:custody.db', spec);
    if (file === ':memory:') return openSqliteMetadataStore(':memory:');
    const path = resolve(dataDir, file);
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      return await openSqliteMetadataStore(path);
    } catch (error) {
      throw invalid(`cannot open the SQLite database ${JSON.stringify(path)}`, spec, error);
    }
  }
  if (spec.startsWith('postgres://') || spec.startsWith('postgresql://')) {
    let url: URL;
    try {
      url = new URL(spec);
    } catch {
      // The parser's message would quote the whole URL, password included.
      throw invalid('not a valid PostgreSQL URL', spec);
    }
    if (url.hostname === '' && !url.searchParams.has('host')) throw invalid('the PostgreSQL URL names no host', spec);
    return openPostgresMetadataStore(spec);
  }
  throw invalid('must be sqlite:FILE or a postgres:// URL', spec);
}
