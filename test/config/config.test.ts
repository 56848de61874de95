import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, resolveConfig } from '../../src/config/config.js';
import { CustodyError } from '../../src/domain/errors.js';

function configError(fn: () => unknown): CustodyError {
  try {
    fn();
  } catch (error) {
    if (error instanceof CustodyError) return error;
    throw error;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('server configuration', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'custody-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('defaults to SQLite, a blob directory and 127.0.0.1:8700', () => {
    const config = resolveConfig(undefined, {});
    expect(config.storage).toEqual({ metadata: 'sqlite:custody.db', blobs: 'file:blobs' });
    expect(config.server.host).toBe('127.0.0.1');
    expect(config.server.port).toBe(8700);
    expect(config.limits.maxJsonBytes).toBe(1024 * 1024);
  });

  it('rejects an unknown key and names it', () => {
    const error = configError(() => resolveConfig({ storage: { metadata: 'sqlite:x.db', blobz: 'file:b' } }, {}));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('storage.blobz');
  });

  it('rejects an unknown top-level section and names it', () => {
    expect(configError(() => resolveConfig({ sever: {} }, {})).message).toContain('sever');
  });

  it('rejects a bad value and names the key', () => {
    const error = configError(() => resolveConfig({ server: { port: 70000 } }, {}));
    expect(error.message).toContain('server.port');
    expect(configError(() => resolveConfig({ limits: { maxFileBytes: -1 } }, {})).message).toContain('limits.maxFileBytes');
    expect(configError(() => resolveConfig({ limits: { caseInsensitivePaths: 'yes' } }, {})).message).toContain('limits.caseInsensitivePaths');
  });

  it('defaults to development → staging → production, the service-only rule on, no OIDC issuers and a bounded auth-failure rate', () => {
    const config = resolveConfig(undefined, {});
    expect(config.environments).toEqual(['development', 'staging', 'production']);
    expect(config.promotion.lastEnvironmentServiceOnly).toBe(true);
    expect(config.oidc).toEqual({ issuers: [], clockSkewSeconds: 60 });
    expect(config.limits.authFailures).toBe(20);
    expect(config.limits.authFailureWindowSeconds).toBe(60);
  });

  it('refuses repeated, empty or badly named environments, naming the key', () => {
    expect(configError(() => resolveConfig({ environments: ['dev', 'dev'] }, {})).message).toMatch(/environments: must not repeat/);
    expect(configError(() => resolveConfig({ environments: [] }, {})).message).toMatch(/environments: must name at least one/);
    expect(configError(() => resolveConfig({ environments: ['Prod'] }, {})).message).toMatch(/environments\.0: must be a lowercase name/);
  });

  it('refuses an OIDC issuer that allows "none" or HMAC, or fetches keys over plain http from another host', () => {
    const issuer = { issuer: 'https://ci.example.com', audience: 'custody', jwks: 'file:ci-jwks.json' };
    expect(resolveConfig({ oidc: { issuers: [issuer] } }, {}).oidc.issuers[0]?.algorithms).toEqual(['ES256', 'EdDSA']);
    expect(configError(() => resolveConfig({ oidc: { issuers: [{ ...issuer, algorithms: ['none'] }] } }, {})).message).toMatch(/oidc\.issuers\.0\.algorithms\.0: unsupported signature algorithm "none"/);
    expect(configError(() => resolveConfig({ oidc: { issuers: [{ ...issuer, algorithms: ['HS256'] }] } }, {})).message).toMatch(/HMAC algorithms are never accepted/);
    expect(configError(() => resolveConfig({ oidc: { issuers: [{ ...issuer, jwks: 'http://keys.example.com/jwks' }] } }, {})).message).toMatch(/oidc\.issuers\.0\.jwks/);
    expect(configError(() => resolveConfig({ oidc: { issuers: [{ ...issuer, audiences: 'x' }] } }, {})).message).toMatch(/unknown key oidc\.issuers\.0\.audiences/);
  });

  it('lets CUSTODY_PROMOTION_LAST_ENVIRONMENT_SERVICE_ONLY and CUSTODY_LIMITS_AUTH_FAILURES override their keys', () => {
    const config = resolveConfig(undefined, { CUSTODY_PROMOTION_LAST_ENVIRONMENT_SERVICE_ONLY: 'false', CUSTODY_LIMITS_AUTH_FAILURES: '7' });
    expect(config.promotion.lastEnvironmentServiceOnly).toBe(false);
    expect(config.limits.authFailures).toBe(7);
  });

  it('lets environment variables override single keys', () => {
    const config = resolveConfig(
      { server: { port: 9000 }, storage: { metadata: 'sqlite:a.db' } },
      { CUSTODY_STORAGE_METADATA: 'postgres://u@127.0.0.1:5432/c#x', CUSTODY_SERVER_PORT: '9100', CUSTODY_LIMITS_CASE_INSENSITIVE_PATHS: 'true' },
    );
    expect(config.storage.metadata).toBe('postgres://u@127.0.0.1:5432/c#x');
    expect(config.server.port).toBe(9100);
    expect(config.limits.caseInsensitivePaths).toBe(true);
  });

  it('names the environment variable whose value is invalid', () => {
    expect(configError(() => resolveConfig({}, { CUSTODY_SERVER_PORT: 'eighty' })).message).toContain('server.port');
  });

  it('reads YAML files and refuses a file that is not a mapping or not YAML', async () => {
    const good = path.join(dir, 'good.yaml');
    await writeFile(good, 'server:\n  port: 8123\nlimits:\n  maxFiles: 10\n');
    expect((await loadConfig(good, {})).limits.maxFiles).toBe(10);

    const list = path.join(dir, 'list.yaml');
    await writeFile(list, '- a\n- b\n');
    await expect(loadConfig(list, {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });

    const broken = path.join(dir, 'broken.yaml');
    await writeFile(broken, 'server: [unclosed\n');
    await expect(loadConfig(broken, {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });

    await expect(loadConfig(path.join(dir, 'missing.yaml'), {})).rejects.toMatchObject({ code: 'CONFIG_INVALID' });
  });
});
