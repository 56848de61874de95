/**
 * Vitest globalSetup: a throwaway PostgreSQL cluster for the whole run, so the contract suites
 * run against a real server with no network (STYLE.md §8). `postgres-server.ts` starts it under
 * a fresh /tmp directory on a free loopback port as the `postgres` user, and it is stopped by PID
 * and deleted when the run ends. Set CUSTODY_TEST_POSTGRES_URL to use an existing server instead
 * (each test creates and drops its own database on it).
 */
import type { TestProject } from 'vitest/node';
import { startPostgres } from './postgres-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL server (its `postgres` database). */
    postgresUrl: string;
  }
}

/** Starts PostgreSQL (or adopts CUSTODY_TEST_POSTGRES_URL) and provides `postgresUrl`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const external = process.env['CUSTODY_TEST_POSTGRES_URL'];
  if (external !== undefined && external !== '') {
    project.provide('postgresUrl', external);
    return () => Promise.resolve();
  }
  const cluster = await startPostgres();
  project.provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}
