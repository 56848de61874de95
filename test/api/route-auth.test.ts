/**
 * Authentication on every route (issue 2 §4, SPEC §10 "authn/authz bypass"): the test walks the
 * route table itself, so a route added later is covered without anyone remembering to. Every
 * route that is not one of the few public ones answers 401 problem+json with
 * `WWW-Authenticate: Bearer` to a missing, malformed, unknown, revoked or expired token, always
 * with the same body (no oracle about which tokens exist). The bootstrap admin token works and
 * never comes back in a response, `/metrics` or the stored data — only its SHA-256 is kept.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AnyRoute } from '../../src/api/route.js';
import { allRoutes } from '../../src/api/routes/all-routes.js';
import { generateApiToken, hashApiToken } from '../../src/auth/api-token.js';
import { STATIC_PERMISSIONS } from '../../src/auth/permissions.js';
import { newId } from '../../src/domain/ids.js';
import { concretePath } from '../support/route-paths.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

const ROUTES = allRoutes('test');
const PROTECTED = ROUTES.filter((r) => r.auth !== 'public');
const EXPECTED_PUBLIC = ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /api/v1/openapi.json', 'GET /docs'];


/** A body of the kind the route reads, so that only the credential can be at fault. */
function bodyFor(route: AnyRoute): { body?: string; contentType?: string } {
  if (route.body.kind === 'json') return { body: '{}', contentType: 'application/json' };
  if (route.body.kind === 'stream') return { body: 'abc', contentType: 'application/octet-stream' };
  return {};
}

async function send(reg: TestRegistry, route: AnyRoute, authorization: string | undefined, method: string = route.method): Promise<Reply> {
  const { body, contentType } = bodyFor(route);
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  if (contentType !== undefined) headers['content-type'] = contentType;
  if (route.body.kind === 'stream') headers['content-range'] = 'bytes 0-2/3';
  const res = await fetch(`${reg.url}${concretePath(route)}`, { method, headers, ...(body === undefined || method === 'HEAD' ? {} : { body }) });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function addTokenFor(reg: TestRegistry, options: { principalDisabled?: boolean; revoked?: boolean; expired?: boolean }): Promise<string> {
  const token = generateApiToken();
  const now = new Date().toISOString();
  const principalId = newId();
  await reg.registry.metadata.transaction(async (tx) => {
    await tx.insertPrincipal({ id: principalId, name: `p-${principalId.toLowerCase()}`, kind: 'user', createdAt: now, disabledAt: options.principalDisabled === true ? now : null, oidc: null });
    await tx.insertBinding({ id: newId(), principalId, role: 'admin', namespaces: null, environments: null, condition: null, createdAt: now, revokedAt: null });
    await tx.insertToken({
      id: newId(),
      principalId,
      name: 'test',
      tokenHash: hashApiToken(token),
      createdAt: now,
      expiresAt: options.expired === true ? new Date(Date.now() - 60_000).toISOString() : null,
      revokedAt: options.revoked === true ? now : null,
      permissions: null,
    });
  });
  return token;
}

describe('the route table', () => {
  it('has exactly the expected public routes, so a new public route must be added here on purpose', () => {
    const publicRoutes = ROUTES.filter((r) => r.auth === 'public').map((r) => `${r.method} ${r.path}`);
    expect(publicRoutes.sort()).toEqual([...EXPECTED_PUBLIC].sort());
  });

  it('makes only the transparency-log reads and the VSA key public by configuration, and they need model:read (anywhere) otherwise', () => {
    const switchable = ROUTES.filter((r) => typeof r.auth === 'object' && r.auth.publicWhen !== undefined);
    expect(switchable.map((r) => `${r.method} ${r.path}`).sort()).toEqual(
      ['GET /log/checkpoint', 'GET /log/tile/{path*}', 'GET /api/v1/log/key', 'GET /api/v1/log/entries/{index}', 'GET /api/v1/log/proof/inclusion', 'GET /api/v1/log/proof/consistency', 'GET /api/v1/vsa/key'].sort(),
    );
    for (const route of switchable) if (typeof route.auth === 'object') expect(route.auth.permission).toBe('model:read');
  });

  it('declares a known permission and a scope on every other route but whoami (the one enforcement mechanism)', () => {
    expect(PROTECTED.filter((r) => r.auth === 'authenticated').map((r) => r.operationId)).toEqual(['whoami']);
    expect(PROTECTED.map((r) => r.operationId)).toEqual(
      expect.arrayContaining(['whoami', 'listModels', 'registerVersion', 'getVersion', 'putBlob', 'getBlob', 'createUpload', 'appendUpload', 'commitUpload', 'abortUpload']),
    );
    for (const route of PROTECTED) {
      if (route.operationId !== 'whoami') expect(route.auth, `${route.method} ${route.path}`).toBeTypeOf('object');
      if (typeof route.auth !== 'object') continue;
      const { permission, scope } = route.auth;
      expect(scope === 'global' || scope === 'any' || typeof scope === 'function', `${route.method} ${route.path}: scope`).toBe(true);
      // promote:{environment} takes the environment from the path, which the route validates.
      const known = (STATIC_PERMISSIONS as readonly string[]).includes(permission) || (permission === 'promote:{environment}' && route.path.includes('{environment}'));
      expect(known, `${route.method} ${route.path}: ${permission}`).toBe(true);
    }
  });
});

describe.each(BACKENDS)('authentication on %s', (backend) => {
  let reg: TestRegistry;
  const credentials: { readonly label: string; readonly header: () => string | undefined }[] = [];

  beforeAll(async () => {
    // Log reads are public by default; switched off here so they are checked like the rest.
    reg = await startTestRegistry(backend, { log: { publicReads: false } });
    const unknown = generateApiToken();
    const revoked = await addTokenFor(reg, { revoked: true });
    const expired = await addTokenFor(reg, { expired: true });
    const disabled = await addTokenFor(reg, { principalDisabled: true });
    credentials.push(
      { label: 'a Basic credential', header: () => `Basic ${Buffer.from(`admin:${reg.token}`).toString('base64')}` },
      { label: 'the admin token without a scheme', header: () => reg.token },
      { label: 'another scheme', header: () => `Token ${reg.token}` },
      { label: 'a bare Bearer', header: () => 'Bearer' },
      { label: 'a token with trailing garbage', header: () => `Bearer ${reg.token} x` },
      { label: 'a token too short to be one', header: () => 'Bearer abc' },
      { label: 'a token too long to be one', header: () => `Bearer ${'a'.repeat(600)}` },
      { label: 'a well-formed unknown token', header: () => `Bearer ${unknown}` },
      { label: 'a revoked token', header: () => `Bearer ${revoked}` },
      { label: 'an expired token', header: () => `Bearer ${expired}` },
      { label: "a disabled principal's token", header: () => `Bearer ${disabled}` },
    );
  });

  afterAll(async () => {
    await reg.stop();
  });

  it.each(PROTECTED.map((r) => [`${r.method} ${r.path}`, r] as const))('answers 401 to %s without a valid token, with one body for every bad credential', async (_name, route) => {
    const missing = await send(reg, route, undefined);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('content-type')).toBe('application/problem+json');
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    const problem = JSON.parse(missing.text) as { code?: unknown; status?: unknown };
    expect(problem.code).toBe('UNAUTHENTICATED');
    expect(problem.status).toBe(401);

    for (const { label, header } of credentials) {
      const res = await send(reg, route, header());
      expect(res.status, label).toBe(401);
      expect(res.headers.get('content-type'), label).toBe('application/problem+json');
      expect(res.headers.get('www-authenticate'), label).toBe('Bearer');
      // The same bytes whatever was wrong: nothing tells a caller that a token exists.
      expect(res.text, label).toBe(missing.text);
    }

    if (route.method === 'GET') {
      const head = await send(reg, route, undefined, 'HEAD');
      expect(head.status).toBe(401);
      expect(head.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it.each(PROTECTED.map((r) => [`${r.method} ${r.path}`, r] as const))('lets the bootstrap admin token through authentication on %s', async (_name, route) => {
    const res = await send(reg, route, `Bearer ${reg.token}`);
    expect([401, 403], res.text).not.toContain(res.status);
  });

  it('accepts the bootstrap admin token on whoami', async () => {
    const res = await fetch(`${reg.url}/api/v1/whoami`, { headers: { authorization: `Bearer ${reg.token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: 'admin', roles: ['admin'] });
  });

  it.each(ROUTES.filter((r) => r.auth === 'public').map((r) => [`${r.method} ${r.path}`, r] as const))('answers the public route %s without a token', async (_name, route) => {
    const res = await send(reg, route, undefined);
    expect(res.status).toBe(200);
  });
});

/** Every regular file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe.each(BACKENDS)('the bootstrap token on %s', (backend) => {
  it('never appears in a response, in /metrics or in the stored data, which keeps only its sha256', async () => {
    const reg = await startTestRegistry(backend);
    try {
      const { token } = reg;
      const tokenHash = hashApiToken(token);
      const auth = { authorization: `Bearer ${token}` };
      const json = { ...auth, 'content-type': 'application/json' };
      const content = Buffer.from('weights');
      const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
      const requests: [string, string, RequestInit][] = [
        ['GET', '/api/v1/whoami', { headers: auth }],
        ['PUT', `/api/v1/blobs/${digest}`, { headers: auth, body: content }],
        ['POST', '/api/v1/blobs/missing', { headers: json, body: JSON.stringify({ digests: [digest] }) }],
        ['POST', '/api/v1/uploads', { headers: json, body: JSON.stringify({ digest: `sha256:${'7a'.repeat(32)}`, size: 3 }) }],
        ['POST', '/api/v1/models/ns/m/versions', { headers: json, body: JSON.stringify({ files: [{ path: 'w.bin', size: content.length, digest }] }) }],
        ['GET', '/api/v1/models', { headers: auth }],
        ['GET', '/api/v1/models/ns/m/versions', { headers: auth }],
        ['GET', '/api/v1/models/ns/m/versions/v1', { headers: auth }],
        ['GET', `/api/v1/blobs/${digest}`, { headers: auth }],
        ['GET', '/api/v1/whoami', { headers: { authorization: `Bearer ${token.slice(0, -1)}x` } }],
        ['GET', '/api/v1/whoami', { headers: { authorization: token } }],
        ['POST', '/api/v1/models/ns/m/versions', { headers: json, body: '{"files": [' }],
        ['GET', '/api/v1/openapi.json', {}],
        ['GET', '/docs', {}],
        ['GET', '/healthz', {}],
        ['GET', '/readyz', {}],
        ['GET', '/metrics', {}],
      ];
      const statuses: number[] = [];
      for (const [method, target, init] of requests) {
        const res = await fetch(`${reg.url}${target}`, { ...init, method });
        statuses.push(res.status);
        const text = await res.text();
        expect(text, `${method} ${target}`).not.toContain(token);
        expect(text, `${method} ${target}`).not.toContain(tokenHash);
        for (const [name, value] of res.headers) expect(value, `${method} ${target} header ${name}`).not.toContain(token);
      }
      // The requests above did what they should (so their bodies were worth searching).
      expect(statuses).toEqual([200, 201, 200, 201, 201, 200, 200, 200, 200, 401, 401, 400, 200, 200, 200, 200, 200]);

      const stored: Buffer[] = [];
      if (backend === 'postgres') {
        const client = new pg.Client({ connectionString: reg.metadataSpec });
        await client.connect();
        try {
          const tables = await client.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'public'");
          expect(tables.rows.length).toBeGreaterThan(0);
          for (const { table_name: table } of tables.rows) {
            const rows = await client.query<{ row: string }>(`select t::text as row from "${table.replaceAll('"', '""')}" t`);
            stored.push(Buffer.from(rows.rows.map((r) => r.row).join('\n'), 'utf8'));
          }
        } finally {
          await client.end();
        }
      }
      // Stop the server first so SQLite folds its WAL into the database file.
      await reg.registry.stop();
      for (const file of await filesUnder(reg.dataDir)) {
        expect(file).not.toContain(token);
        stored.push(await readFile(file));
      }
      const everything = Buffer.concat(stored);
      expect(everything.includes(Buffer.from(tokenHash, 'utf8'))).toBe(true);
      expect(everything.includes(Buffer.from(token, 'utf8'))).toBe(false);
    } finally {
      await reg.stop();
    }
  });
});
