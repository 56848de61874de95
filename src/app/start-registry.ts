/**
 * The composition root: opens the stores named by the configuration, builds the services and
 * starts the HTTP front. Everything that wires concrete implementations together lives here.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { twoPersonEnvironments, type Config } from '../config/config.js';
import { systemClock, type Clock } from '../domain/clock.js';
import { CustodyError } from '../domain/errors.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { AuthService } from '../service/auth-service.js';
import { IdentityService } from '../service/identity-service.js';
import { TokenService } from '../service/token-service.js';
import { PolicyService } from '../service/policy-service.js';
import { PromotionService } from '../service/promotion-service.js';
import { loadOrCreateVsaKey } from '../promotion/vsa-key.js';
import { OidcVerifier } from '../auth/oidc-verifier.js';
import { BlobService } from '../service/blob-service.js';
import { RegistryService } from '../service/registry-service.js';
import { KeyService } from '../service/key-service.js';
import { SessionService } from '../service/session-service.js';
import { OidcSignIn } from '../service/oidc-sign-in.js';
import { OidcLoginClient, redirectUriOf } from '../auth/oidc-login.js';
import { allPages } from '../ui/pages/all-pages.js';
import { AttestationService } from '../service/attestation-service.js';
import { LineageService } from '../service/lineage-service.js';
import type { BlobStore } from '../store/blob-store.js';
import { DirectoryBlobStore } from '../store/fs/directory-blob-store.js';
import type { MetadataStore } from '../store/metadata-store.js';
import { openMetadataStore } from '../store/open-metadata-store.js';
import { HttpFront, type RunningServer } from '../api/http-server.js';
import { allRoutes } from '../api/routes/all-routes.js';
import type { Services } from '../api/services.js';
import { CUSTODY_VERSION } from '../version.js';
import { loadOrCreateLogKey } from '../log/log-key.js';
import { TransparencyLog } from '../service/transparency-log.js';

export interface StartOptions {
  readonly config: Config;
  /** Data directory; relative storage paths resolve against it. */
  readonly dataDir: string;
  /** CUSTODY_BOOTSTRAP_TOKEN, if set. */
  readonly bootstrapToken?: string;
  readonly logger?: Logger;
  readonly clock?: Clock;
  /** Receives the admin token created on first start, to show it once. */
  readonly onBootstrapToken?: (token: string) => void;
}

export interface RunningRegistry extends RunningServer {
  readonly metadata: MetadataStore;
  readonly blobStore: BlobStore;
  /** Graceful stop: HTTP first, then the stores. */
  stop(): Promise<void>;
}

/** The static S3 credentials the configuration gives (`storage.s3AccessKeyId` + `s3SecretAccessKey`), if any. */
export function s3CredentialsOf(config: Config): { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined {
  const { s3AccessKeyId, s3SecretAccessKey } = config.storage;
  return s3AccessKeyId === undefined || s3SecretAccessKey === undefined ? undefined : { accessKeyId: s3AccessKeyId, secretAccessKey: s3SecretAccessKey };
}

export async function openBlobStore(
  spec: string,
  dataDir: string,
  credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string },
): Promise<BlobStore> {
  if (spec.startsWith('file:')) {
    const dir = spec.slice('file:'.length);
    if (dir === '') throw new CustodyError('CONFIG_INVALID', 'storage.blobs: file: needs a directory');
    return DirectoryBlobStore.open(path.resolve(dataDir, dir));
  }
  if (spec.startsWith('s3:')) {
    // Loaded on demand: the AWS SDK is large and a directory store never needs it.
    const [{ parseS3Location }, { S3BlobStore }] = await Promise.all([import('../store/s3/s3-location.js'), import('../store/s3/s3-blob-store.js')]);
    return S3BlobStore.open({ ...parseS3Location(spec), ...(credentials === undefined ? {} : { credentials }) });
  }
  throw new CustodyError('CONFIG_INVALID', 'storage.blobs: use file:DIR or s3://BUCKET?endpoint=…&region=…&forcePathStyle=true');
}

export async function startRegistry(options: StartOptions): Promise<RunningRegistry> {
  const { config } = options;
  const logger = options.logger ?? createLogger(config.server.logLevel);
  const clock = options.clock ?? systemClock;
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });

  const metadata = await openMetadataStore(config.storage.metadata, options.dataDir);
  let blobStore: BlobStore | undefined;
  try {
    await metadata.migrate();
    blobStore = await openBlobStore(config.storage.blobs, options.dataDir, s3CredentialsOf(config));
    // A crash may have left half-written temporary files: they were never visible; drop them.
    await blobStore.cleanupTemporary();

    const metrics = new Metrics();
    const countBytes = metrics.counter('custody_upload_bytes_received_total', 'Blob bytes received and written by uploads');
    metrics.gauge('custody_process_resident_memory_bytes', 'Resident set size', () => process.memoryUsage.rss());
    const logKey = await loadOrCreateLogKey(path.resolve(options.dataDir, config.keys.log.slice('file:'.length)), config.log.origin);
    const log = new TransparencyLog(metadata, logKey);
    const rules = { environments: config.environments, lastEnvironmentServiceOnly: config.promotion.lastEnvironmentServiceOnly };
    const oidc =
      config.oidc.issuers.length === 0
        ? undefined
        : new OidcVerifier(config.oidc.issuers, {
            baseDir: options.dataDir,
            clockSkewSeconds: config.oidc.clockSkewSeconds,
            now: () => clock.now(),
            jwks: { now: () => clock.now().getTime() },
          });
    const auth = new AuthService(metadata, clock, log, rules, oidc, logger);
    const identity = new IdentityService(metadata, clock, log, auth, {
      environments: config.environments,
      oidcIssuers: config.oidc.issuers.map((i) => i.issuer),
      uiOidcIssuer: config.ui.oidc?.issuer,
    });
    const tokens = new TokenService(metadata, clock, log, auth, config.environments);
    const blobs = new BlobService(
      blobStore,
      metadata,
      clock,
      { maxFileBytes: config.limits.maxFileBytes, maxFiles: config.limits.maxFiles, sessionTtlHours: config.uploads.sessionTtlHours },
      logger,
      (n) => {
        countBytes({}, n);
      },
    );
    const registry = new RegistryService(metadata, blobStore, clock, config.limits, log, {
      requireProvenance: config.provenance.requireAtEntry,
      requiredFields: config.provenance.required,
      environments: config.environments,
    });
    if (!config.provenance.requireAtEntry) logger.warn('provenance.requireAtEntry is off: pushes without signed training provenance are accepted');
    const keys = new KeyService(metadata, clock, log);
    const attestations = new AttestationService(metadata, clock, log, registry);
    const lineage = new LineageService(metadata, registry, attestations);
    const policies = new PolicyService(metadata, clock, log, auth, {
      environments: config.environments,
      twoPerson: twoPersonEnvironments(config),
      baseline: config.baseline,
      timeLimitMs: config.promotion.evaluationTimeLimitMs,
    });
    const vsaKey = await loadOrCreateVsaKey(path.resolve(options.dataDir, config.keys.vsa.slice('file:'.length)));
    const promotions = new PromotionService(metadata, clock, log, auth, registry, policies, vsaKey, {
      timeLimitMs: config.promotion.evaluationTimeLimitMs,
      publicUrl: (config.server.publicUrl ?? 'https://custody.local').replace(/\/+$/, ''),
    });
    keys.reactToRevocation((tx, actor, key) => promotions.quarantineAfterRevocation(tx, actor, key));
    // Single sign-on: the provider is contacted on the first login, never at start.
    const uiOidc = config.ui.oidc;
    const signOn =
      uiOidc === undefined
        ? undefined
        : new OidcSignIn(
            metadata,
            clock,
            new OidcLoginClient(uiOidc, { redirectUri: redirectUriOf(config.server.publicUrl), clockSkewSeconds: config.oidc.clockSkewSeconds, now: () => clock.now() }),
            uiOidc.label,
          );
    const sessions = new SessionService(
      metadata,
      clock,
      auth,
      { idleMinutes: config.ui.sessionIdleMinutes, maxHours: config.ui.sessionMaxHours, recentAuthMinutes: config.ui.recentAuthMinutes },
      signOn,
    );
    await blobs.expireUploads();

    const boot = await auth.bootstrap(options.bootstrapToken);
    if (boot.token !== undefined && options.bootstrapToken === undefined) options.onBootstrapToken?.(boot.token);
    if (boot.token !== undefined) logger.info('bootstrap: created the admin principal', { principal: boot.principalName });

    const store = blobStore;
    const services: Services = {
      config,
      auth,
      identity,
      tokens,
      blobs,
      registry,
      keys,
      attestations,
      lineage,
      policies,
      promotions,
      sessions,
      vsaKey,
      log,
      metrics,
      checkReady: async () => {
        await metadata.ping();
        await store.stat('0'.repeat(64));
      },
      isShuttingDown: () => front.isShuttingDown,
    };
    const front: HttpFront = new HttpFront({ routes: allRoutes(CUSTODY_VERSION), pages: allPages(), services, logger });
    const running = await front.listen(config.server.host, config.server.port);
    logger.info('custody listening', { url: running.url, metadata: metadata.dialect, version: CUSTODY_VERSION, logKey: logKey.verifierKey });
    const expiry = setInterval(() => {
      blobs.expireUploads().catch((error: unknown) => {
        logger.warn('upload expiry failed', { error: error instanceof Error ? error.message : String(error) });
      });
      sessions.expire().catch((error: unknown) => {
        logger.warn('ui session expiry failed', { error: error instanceof Error ? error.message : String(error) });
      });
    }, 3_600_000);
    expiry.unref();

    let stopping: Promise<void> | undefined;
    return {
      ...running,
      metadata,
      blobStore: store,
      stop: () =>
        (stopping ??= (async () => {
          clearInterval(expiry);
          await running.close();
          await store.close();
          await metadata.close();
          logger.info('custody stopped');
        })()),
    };
  } catch (error) {
    await blobStore?.close().catch(() => undefined);
    await metadata.close().catch(() => undefined);
    throw error;
  }
}
