/**
 * Vitest globalSetup: a throwaway PostgreSQL cluster and a throwaway Ceph RADOS Gateway (S3) for
 * the whole run, so the contract suites run against real servers with no network (STYLE.md §8,
 * issue 7 §2). `postgres-server.ts` and `ceph-server.ts` start them concurrently under fresh /tmp
 * directories on free loopback ports (installing the Debian packages when missing); they are
 * stopped by PID and deleted when the run ends. To use existing servers instead, set
 * CUSTODY_TEST_POSTGRES_URL, and CUSTODY_TEST_S3_ENDPOINT with CUSTODY_TEST_S3_ACCESS_KEY_ID,
 * CUSTODY_TEST_S3_SECRET_ACCESS_KEY (and optionally CUSTODY_TEST_S3_REGION); each test makes its
 * own database or bucket there.
 */
import type { TestProject } from 'vitest/node';
import { startCeph } from './ceph-server.js';
import { startPostgres } from './postgres-server.js';

/** How tests reach the run's S3 server. */
export interface TestS3 {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Superuser URL of the run's PostgreSQL server (its `postgres` database). */
    postgresUrl: string;
    /** The run's S3 server (Ceph RGW) and a user's keys. */
    s3: TestS3;
  }
}

interface Started<T> {
  readonly value: T;
  stop(): Promise<void>;
}

async function postgres(): Promise<Started<string>> {
  const external = process.env['CUSTODY_TEST_POSTGRES_URL'];
  if (external !== undefined && external !== '') return { value: external, stop: () => Promise.resolve() };
  const cluster = await startPostgres();
  return { value: cluster.url, stop: () => cluster.stop() };
}

async function s3(): Promise<Started<TestS3>> {
  const endpoint = process.env['CUSTODY_TEST_S3_ENDPOINT'];
  if (endpoint !== undefined && endpoint !== '') {
    const accessKeyId = process.env['CUSTODY_TEST_S3_ACCESS_KEY_ID'] ?? '';
    const secretAccessKey = process.env['CUSTODY_TEST_S3_SECRET_ACCESS_KEY'] ?? '';
    if (accessKeyId === '' || secretAccessKey === '') {
      throw new Error('CUSTODY_TEST_S3_ENDPOINT needs CUSTODY_TEST_S3_ACCESS_KEY_ID and CUSTODY_TEST_S3_SECRET_ACCESS_KEY');
    }
    const region = process.env['CUSTODY_TEST_S3_REGION'] ?? 'us-east-1';
    return { value: { endpoint, region, accessKeyId, secretAccessKey }, stop: () => Promise.resolve() };
  }
  const server = await startCeph();
  const { region, accessKeyId, secretAccessKey } = server;
  return { value: { endpoint: server.endpoint, region, accessKeyId, secretAccessKey }, stop: () => server.stop() };
}

interface Servers {
  readonly postgresUrl: string;
  readonly s3: TestS3;
  stop(): Promise<void>;
}

async function startServers(): Promise<Servers> {
  const [pg, objects] = await Promise.allSettled([postgres(), s3()]);
  if (pg.status === 'rejected' || objects.status === 'rejected') {
    // One started and the other did not: stop the one that runs before failing.
    await Promise.all([pg, objects].map((result) => (result.status === 'fulfilled' ? result.value.stop() : Promise.resolve())));
    throw pg.status === 'rejected' ? pg.reason : objects.status === 'rejected' ? objects.reason : new Error('unreachable');
  }
  return {
    postgresUrl: pg.value.value,
    s3: objects.value.value,
    stop: async () => {
      await Promise.all([pg.value.stop(), objects.value.stop()]);
    },
  };
}

/**
 * Every vitest project (`file` and `s3` blobs, vitest.config.ts) runs this setup; they share one
 * PostgreSQL and one Ceph, started by the first and stopped by the last. The state lives on
 * `globalThis` because each project may load this module afresh.
 */
const SHARED = Symbol.for('custody.test.servers');
interface Shared {
  servers: Promise<Servers>;
  users: number;
}

/** Starts PostgreSQL and Ceph at once (or adopts existing servers) and provides `postgresUrl` and `s3`. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const registry = globalThis as { [SHARED]?: Shared | undefined };
  const shared = (registry[SHARED] ??= { servers: startServers(), users: 0 });
  shared.users += 1;
  let servers: Servers;
  try {
    servers = await shared.servers;
  } catch (error) {
    shared.users -= 1;
    if (shared.users === 0) registry[SHARED] = undefined;
    throw error;
  }
  project.provide('postgresUrl', servers.postgresUrl);
  project.provide('s3', servers.s3);
  return async () => {
    shared.users -= 1;
    if (shared.users > 0) return;
    registry[SHARED] = undefined;
    await servers.stop();
  };
}
