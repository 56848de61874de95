import { defineConfig } from 'vitest/config';

/**
 * Suites that start registries run twice: once with blobs in the data directory (`file`), once
 * with blobs in a bucket of the run's Ceph RGW (`s3`, issue 7: the full suite on both blob
 * stores, each on SQLite and PostgreSQL). Unit suites that never touch a blob store run once,
 * and so do the suites in NOT_ABOUT_BLOBS.
 */
const REGISTRY_SUITES = ['test/api/**/*.test.ts', 'test/e2e/**/*.test.ts', 'test/service/**/*.test.ts', 'test/sdk/**/*.test.ts'];
/** Suites that already choose their blob store themselves. */
const OWN_BLOB_STORE = ['test/api/s3-registry.test.ts', 'test/e2e/replicas.test.ts', 'test/e2e/fault-*.test.ts', 'test/e2e/faults.test.ts'];
/**
 * Suites about identity, sessions, policy lifecycle and promotion decisions: their registries
 * store blobs only to set up versions (push, and pull by environment), which the suites above
 * already run on S3 — a second run on S3 would add CI minutes and no blob-store coverage, so they
 * run on the directory store only (on SQLite and PostgreSQL).
 */
const NOT_ABOUT_BLOBS = [
  'test/api/oidc-auth.test.ts',
  'test/api/auth-rate-limit.test.ts',
  'test/api/identity-api.test.ts',
  'test/api/policy-lifecycle.test.ts',
  'test/api/policy-reject.test.ts',
  'test/e2e/access-cli.test.ts',
  'test/e2e/promotion-cli.test.ts',
  'test/service/store-promotion-check.test.ts',
  'test/service/session-service.test.ts',
  'test/service/oidc-session.test.ts',
];

/** The pinned AWS SDK runs on Node 20; its notice about later releases needing Node 22 is noise here. */
const QUIET_AWS_SDK = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' };

export default defineConfig({
  test: {
    // Starts a throwaway PostgreSQL and a single-node Ceph RADOS Gateway (S3) for the run and stops them by PID afterwards.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more workers only thrash.
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: 'file', include: ['test/**/*.test.ts', 'src/**/*.test.ts'], env: { CUSTODY_TEST_BLOBS: 'file', ...QUIET_AWS_SDK } },
      },
      {
        extends: true,
        test: { name: 's3', include: REGISTRY_SUITES, exclude: [...OWN_BLOB_STORE, ...NOT_ABOUT_BLOBS], env: { CUSTODY_TEST_BLOBS: 's3', ...QUIET_AWS_SDK } },
      },
    ],
  },
});
