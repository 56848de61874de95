/**
 * Test helpers for real metadata stores: a private PostgreSQL database per caller on the run's
 * server (see `global-setup.ts`), and `metadataStoreFactories`, one entry per dialect, for suites
 * that run once per store with `describe.each(metadataStoreFactories)`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { inject } from 'vitest';
import type { MetadataStore } from '../../src/store/metadata-store.js';
import { openMetadataStore } from '../../src/store/open-metadata-store.js';

export interface TestDatabase {
  /** URL of the new, empty database. */
  readonly url: string;
  /** Terminates its connections and drops it. */
  drop(): Promise<void>;
}

async function withAdminClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: inject('postgresUrl') });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates a uniquely named database on the test server. */
export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `custody_test_${randomBytes(8).toString('hex')}`;
  await withAdminClient((client) => client.query(`create database ${name}`));
  const url = new URL(inject('postgresUrl'));
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await withAdminClient((client) => client.query(`drop database if exists ${name} with (force)`));
    },
  };
}

export interface OpenedMetadataStore {
  /** A migrated store on a fresh, empty database. */
  readonly store: MetadataStore;
  /** The `storage.metadata` setting that opens the same database. */
  readonly spec: string;
  /** Closes the store and deletes the database. */
  cleanup(): Promise<void>;
}

export interface MetadataStoreFactory {
  readonly name: 'sqlite' | 'postgres';
  open(): Promise<OpenedMetadataStore>;
}

export const metadataStoreFactories: readonly MetadataStoreFactory[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = await mkdtemp(join(tmpdir(), 'custody-sqlite-'));
      const spec = `sqlite:${join(dir, 'custody.db')}`;
      const store = await openMetadataStore(spec, dir);
      try {
        await store.migrate();
      } catch (error) {
        await store.close();
        await rm(dir, { recursive: true, force: true });
        throw error;
      }
      return {
        store,
        spec,
        cleanup: async () => {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        },
      };
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const database = await createPostgresDatabase();
      const store = await openMetadataStore(database.url, tmpdir());
      try {
        await store.migrate();
      } catch (error) {
        await store.close();
        await database.drop();
        throw error;
      }
      return {
        store,
        spec: database.url,
        cleanup: async () => {
          await store.close();
          await database.drop();
        },
      };
    },
  },
];
