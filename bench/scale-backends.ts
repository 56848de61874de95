/**
 * The shared storage of `bench:scale` (issue 7 item 6): a PostgreSQL server and an S3 server
 * (Ceph RADOS Gateway) that the replicas of each measured registry share. By default both are
 * throwaway servers started as the test suite starts them (`test/support/postgres-server.ts`,
 * `test/support/ceph-server.ts`: loopback only, PostgreSQL with fsync off, a one-OSD Ceph on a
 * sparse file under /tmp) and stopped by PID at the end; CUSTODY_TEST_POSTGRES_URL and
 * CUSTODY_TEST_S3_ENDPOINT (+ CUSTODY_TEST_S3_ACCESS_KEY_ID, CUSTODY_TEST_S3_SECRET_ACCESS_KEY,
 * optionally CUSTODY_TEST_S3_REGION) adopt existing servers instead, as the suite's global setup
 * does. Each registry gets a database and a bucket of its own, dropped at the end on an adopted
 * server (a throwaway server takes them with it).
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AbortMultipartUploadCommand, DeleteBucketCommand, DeleteObjectsCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import pg from 'pg';
import { startCeph } from '../test/support/ceph-server.js';
import { startPostgres } from '../test/support/postgres-server.js';
import type { CleanupGuard } from './cleanup-guard.js';

/** Where the S3 server is and a user's keys. */
export interface S3Endpoint {
  readonly endpoint: string;
  readonly region: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** A database and a bucket for one registry (all its replicas). */
export interface RegistryStorage {
  readonly metadataUrl: string;
  readonly bucket: string;
  /** The `storage.blobs` setting for the bucket. */
  readonly blobsSpec: string;
  readonly s3: S3Endpoint;
}

interface Stoppable {
  stop(): Promise<void>;
}

export class ScaleBackends {
  private readonly runId = randomBytes(4).toString('hex');
  private readonly databases: string[] = [];
  private readonly buckets: string[] = [];
  private released: Promise<void> | undefined;

  private constructor(
    private readonly postgresUrl: string,
    readonly s3: S3Endpoint,
    /** How each server came to be, for the report. */
    readonly description: readonly string[],
    private readonly owned: { readonly postgres: Stoppable | undefined; readonly s3: Stoppable | undefined },
  ) {}

  /**
   * Starts (or adopts) both servers at once. When one fails, the other is stopped before the
   * error is thrown: a settled `start` leaves either a usable pair or nothing running.
   */
  static async start(guard: CleanupGuard): Promise<ScaleBackends> {
    const [postgres, s3] = await Promise.allSettled([adoptOrStartPostgres(guard), adoptOrStartCeph()]);
    if (postgres.status === 'rejected' || s3.status === 'rejected') {
      await Promise.all([postgres, s3].map((result) => (result.status === 'fulfilled' ? (result.value.owned?.stop() ?? Promise.resolve()) : Promise.resolve())));
      throw postgres.status === 'rejected' ? postgres.reason : s3.status === 'rejected' ? s3.reason : new Error('unreachable');
    }
    const owned = { postgres: postgres.value.owned, s3: s3.value.owned };
    return new ScaleBackends(postgres.value.value, s3.value.value, [postgres.value.description, s3.value.description], owned);
  }

  /** A fresh database and bucket for the registry `label` (e.g. `r1`). */
  async createRegistryStorage(label: string): Promise<RegistryStorage> {
    const database = `custody_bench_scale_${this.runId}_${label}`;
    await this.admin(`create database ${database}`);
    this.databases.push(database);
    const url = new URL(this.postgresUrl);
    url.pathname = `/${database}`;
    // The replicas create the bucket at start (storage.blobs: "created at open when missing").
    const bucket = `custody-bench-scale-${this.runId}-${label}`;
    this.buckets.push(bucket);
    const { endpoint, region } = this.s3;
    const blobsSpec = `s3://${bucket}?endpoint=${encodeURIComponent(endpoint)}&region=${encodeURIComponent(region)}&forcePathStyle=true`;
    return { metadataUrl: url.toString(), bucket, blobsSpec, s3: this.s3 };
  }

  /** Drops what was created on adopted servers and stops throwaway ones; safe to call again. */
  release(): Promise<void> {
    return (this.released ??= this.releaseOnce());
  }

  private async releaseOnce(): Promise<void> {
    const errors: unknown[] = [];
    const note = (error: unknown): void => {
      errors.push(error);
    };
    // An adopted server is left as it was found; a throwaway one takes its data with it.
    if (this.owned.postgres === undefined) {
      for (const database of this.databases) await this.admin(`drop database if exists ${database} with (force)`).catch(note);
    }
    if (this.owned.s3 === undefined) {
      for (const bucket of this.buckets) await dropBucket(this.s3, bucket).catch(note);
    }
    await Promise.all([this.owned.postgres, this.owned.s3].map((server) => (server === undefined ? Promise.resolve() : server.stop().catch(note))));
    if (errors.length > 0) throw new Error(`cleanup: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join('; ')}`);
  }

  private async admin(statement: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.postgresUrl });
    await client.connect();
    try {
      await client.query(statement);
    } finally {
      await client.end();
    }
  }
}

interface Adopted<T> {
  readonly value: T;
  readonly description: string;
  readonly owned: Stoppable | undefined;
}

const seconds = (started: number): string => `${((performance.now() - started) / 1000).toFixed(1)} s`;

async function adoptOrStartPostgres(guard: CleanupGuard): Promise<Adopted<string>> {
  const external = process.env.CUSTODY_TEST_POSTGRES_URL;
  if (external !== undefined && external !== '') return { value: external, description: 'PostgreSQL: an existing server (CUSTODY_TEST_POSTGRES_URL)', owned: undefined };
  const started = performance.now();
  const server = await startPostgres({
    onDirectory: (root, dataDir) => {
      // Even a SIGKILLed benchmark leaves no PostgreSQL behind.
      guard.stopPostgresOnExit(dataDir);
      guard.removeOnExit(root);
    },
  });
  return {
    value: server.url,
    description: `PostgreSQL: throwaway on loopback, started in ${seconds(started)} (fsync, synchronous_commit and full_page_writes off)`,
    owned: server,
  };
}

async function adoptOrStartCeph(): Promise<Adopted<S3Endpoint>> {
  const endpoint = process.env.CUSTODY_TEST_S3_ENDPOINT;
  if (endpoint !== undefined && endpoint !== '') {
    const accessKeyId = process.env.CUSTODY_TEST_S3_ACCESS_KEY_ID ?? '';
    const secretAccessKey = process.env.CUSTODY_TEST_S3_SECRET_ACCESS_KEY ?? '';
    if (accessKeyId === '' || secretAccessKey === '') throw new Error('CUSTODY_TEST_S3_ENDPOINT needs CUSTODY_TEST_S3_ACCESS_KEY_ID and CUSTODY_TEST_S3_SECRET_ACCESS_KEY');
    const region = process.env.CUSTODY_TEST_S3_REGION ?? 'us-east-1';
    return { value: { endpoint, region, accessKeyId, secretAccessKey }, description: `S3: an existing server at ${endpoint} (CUSTODY_TEST_S3_ENDPOINT)`, owned: undefined };
  }
  const started = performance.now();
  const server = await startCeph();
  const { region, accessKeyId, secretAccessKey } = server;
  return {
    value: { endpoint: server.endpoint, region, accessKeyId, secretAccessKey },
    description: `S3: throwaway single-node Ceph RGW (one monitor, one bluestore OSD on a sparse file) on loopback, started in ${seconds(started)}`,
    owned: server,
  };
}

/** Aborts open uploads, deletes every object and the bucket; a missing bucket is fine. */
async function dropBucket(s3: S3Endpoint, bucket: string): Promise<void> {
  const client = new S3Client({ endpoint: s3.endpoint, region: s3.region, forcePathStyle: true, credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } });
  try {
    const uploads = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    for (const upload of uploads.Uploads ?? []) await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.Key, UploadId: upload.UploadId }));
    for (;;) {
      const page = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
      const keys = (page.Contents ?? []).flatMap((item) => (item.Key === undefined ? [] : [{ Key: item.Key }]));
      if (keys.length === 0) break;
      await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys } }));
    }
    await client.send(new DeleteBucketCommand({ Bucket: bucket }));
  } catch (error) {
    if ((error as { name?: unknown }).name !== 'NoSuchBucket') throw error;
  } finally {
    client.destroy();
  }
}
