/**
 * The route × role matrix (issue 5 acceptance, SPEC §7 "a test walks every route × role", §10
 * "authn/authz bypass"). Every route of the route table is called over real HTTP as each
 * built-in role (bound the way an operator would bind it), as a principal with no role, without
 * credentials, and with a malformed, an expired, a revoked and a wrong-audience token. What each
 * role may do is written out below from SPEC §7, independently of `src/auth/permissions.ts`; the
 * status every call gets must match it exactly: allowed → neither 401 nor 403 (the handler ran:
 * 200, 201, 400 for the deliberately empty body, 404 for the made-up ids); denied → 403
 * FORBIDDEN; bad credential → 401 UNAUTHENTICATED. The matrix is printed as a table.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { permissionOf, type AnyRoute } from '../../src/api/route.js';
import { allRoutes } from '../../src/api/routes/all-routes.js';
import { generateApiToken, hashApiToken } from '../../src/auth/api-token.js';
import { newId } from '../../src/domain/ids.js';
import { resolveConfig, type Config } from '../../src/config/config.js';
import { concretePath, WALK_NAMESPACE, WALK_PARAMS } from '../support/route-paths.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';

const ROUTES = allRoutes('test');
const ISSUER = 'http://127.0.0.1:9/matrix-issuer';
const NS = WALK_NAMESPACE;

/** SPEC §7, written out: what each built-in role grants. */
const READ = ['model:read'];
const EXPECTED_GRANTS: Readonly<Record<string, readonly string[]>> = {
  viewer: READ,
  'data-scientist': [...READ, 'model:push'],
  attester: [...READ, 'attestation:write'],
  promoter: [...READ, 'promote:staging', 'promote:production'],
  'policy-admin': [...READ, 'policy:propose', 'policy:approve'],
  'key-admin': [...READ, 'key:manage', 'audit:read'],
  admin: ['model:read', 'model:push', 'attestation:write', 'policy:propose', 'policy:approve', 'key:manage', 'principal:manage', 'audit:read', 'promote:development', 'promote:staging', 'promote:production'],
  none: [],
};

interface Column {
  readonly label: string;
  /** Role and binding scope, for identities; undefined for the bad-credential columns. */
  readonly role?: string;
  readonly namespaces?: readonly string[];
  readonly environments?: readonly string[];
}

const IDENTITIES: readonly Column[] = [
  { label: 'viewer', role: 'viewer', namespaces: [NS] },
  { label: 'data-scientist', role: 'data-scientist', namespaces: [NS] },
  { label: 'data-sci(other ns)', role: 'data-scientist', namespaces: ['other'] },
  { label: 'attester', role: 'attester', namespaces: [NS] },
  { label: 'promoter', role: 'promoter', namespaces: [NS], environments: ['staging', 'production'] },
  { label: 'policy-admin', role: 'policy-admin' },
  { label: 'key-admin', role: 'key-admin' },
  { label: 'admin', role: 'admin' },
  { label: 'no role', role: 'none' },
];
const BAD_CREDENTIALS = ['unauthenticated', 'malformed', 'expired', 'revoked', 'wrong audience'] as const;


type Expected = 'allow' | 'deny' | 'unauthenticated';

/** What the matrix says for one route and one column, under a configuration. */
function expectedFor(route: AnyRoute, column: Column | (typeof BAD_CREDENTIALS)[number], config: Config): Expected {
  const auth = route.auth;
  if (auth === 'public' || (typeof auth === 'object' && auth.publicWhen?.(config) === true)) return 'allow';
  if (typeof column === 'string') return 'unauthenticated';
  if (auth === 'authenticated') return 'allow';
  const grants = EXPECTED_GRANTS[column.role ?? 'none'] ?? [];
  if (!grants.includes(permissionOf(auth.permission, WALK_PARAMS))) return 'deny';
  // A namespace-limited binding reaches routes about its namespaces and the "held anywhere"
  // routes, never the registry-wide ones.
  if (column.namespaces !== undefined) {
    if (auth.scope === 'global') return 'deny';
    if (typeof auth.scope === 'function' && !column.namespaces.includes(NS)) return 'deny';
  }
  return 'allow';
}

interface Cell {
  readonly status: number;
  readonly code: string | undefined;
}

async function call(reg: TestRegistry, route: AnyRoute, authorization: string | undefined): Promise<Cell> {
  const headers: Record<string, string> = {};
  if (authorization !== undefined) headers.authorization = authorization;
  let body: string | undefined;
  if (route.body.kind === 'json') {
    body = '{}';
    headers['content-type'] = 'application/json';
  } else if (route.body.kind === 'stream') {
    body = 'abc';
    headers['content-type'] = 'application/octet-stream';
    headers['content-range'] = 'bytes 0-2/3';
  }
  const res = await fetch(`${reg.url}${concretePath(route)}`, { method: route.method, headers, ...(body === undefined || route.method === 'HEAD' ? {} : { body }) });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { code?: string }).code;
  } catch {
    code = undefined;
  }
  return { status: res.status, code };
}

async function api(reg: TestRegistry, method: string, target: string, body?: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${reg.url}${target}`, {
    method,
    headers: { authorization: `Bearer ${reg.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const json = (await res.json()) as Record<string, unknown>;
  if (res.status >= 300) throw new Error(`${method} ${target}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

// Both stores with the default public log reads; with private log reads (they then need
// model:read somewhere) on SQLite too, so the log routes' own permission is walked as well.
const CASES = [...BACKENDS.map((backend) => ({ backend, publicReads: true })), { backend: 'sqlite' as const, publicReads: false }];

describe.each(CASES)('route × role matrix on $backend (public log reads: $publicReads)', ({ backend, publicReads }) => {
  const config = resolveConfig({ log: { publicReads } }, {});
  let reg: TestRegistry;
  let jwksDir: string;
  const credentials = new Map<string, string | undefined>();

  beforeAll(async () => {
    // A trusted issuer whose keys are in a file; the wrong-audience column signs with them.
    jwksDir = mkdtempSync(path.join(tmpdir(), 'custody-matrix-'));
    const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
    writeFileSync(path.join(jwksDir, 'jwks.json'), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] }));
    reg = await startTestRegistry(backend, {
      log: { publicReads },
      oidc: { issuers: [{ issuer: ISSUER, audience: 'custody', jwks: `file:${path.join(jwksDir, 'jwks.json')}`, algorithms: ['ES256'] }] },
    });

    for (const [i, column] of IDENTITIES.entries()) {
      const name = `matrix-${i}`;
      await api(reg, 'POST', '/api/v1/principals', { name, kind: 'user' });
      if (column.role !== 'none') {
        await api(reg, 'POST', '/api/v1/bindings', {
          principal: name,
          role: column.role,
          ...(column.namespaces === undefined ? {} : { namespaces: column.namespaces }),
          ...(column.environments === undefined ? {} : { environments: column.environments }),
        });
      }
      const created = await api(reg, 'POST', '/api/v1/tokens', { principal: name, name: column.label });
      credentials.set(column.label, `Bearer ${String(created.token)}`);
    }

    // Bad credentials, each for a principal that would otherwise be an admin.
    await api(reg, 'POST', '/api/v1/principals', { name: 'bad-creds', kind: 'service', oidc: { issuer: ISSUER, subject: 'ci-job' } });
    await api(reg, 'POST', '/api/v1/bindings', { principal: 'bad-creds', role: 'admin' });
    const revoked = await api(reg, 'POST', '/api/v1/tokens', { principal: 'bad-creds', name: 'revoked' });
    await api(reg, 'POST', `/api/v1/tokens/${String(revoked.id)}/revoke`);
    // The API refuses to mint an already-expired token; one that expired is put in the store.
    const expired = generateApiToken();
    const principal = await reg.registry.metadata.getPrincipalByName('bad-creds');
    await reg.registry.metadata.transaction(async (tx) => {
      await tx.insertToken({
        id: newId(),
        principalId: principal?.id ?? '',
        name: 'expired',
        tokenHash: hashApiToken(expired),
        createdAt: new Date(Date.now() - 120_000).toISOString(),
        expiresAt: new Date(Date.now() - 60_000).toISOString(),
        revokedAt: null,
        permissions: null,
      });
    });
    const now = Math.floor(Date.now() / 1000);
    const wrongAudience = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(ISSUER)
      .setSubject('ci-job')
      .setAudience('another-service')
      .setIssuedAt(now - 5)
      .setNotBefore(now - 5)
      .setExpirationTime(now + 300)
      .sign(privateKey);
    credentials.set('unauthenticated', undefined);
    credentials.set('malformed', 'Bearer not a token');
    credentials.set('expired', `Bearer ${expired}`);
    credentials.set('revoked', `Bearer ${String(revoked.token)}`);
    credentials.set('wrong audience', `Bearer ${wrongAudience}`);
  });

  afterAll(async () => {
    await reg.stop();
    rmSync(jwksDir, { recursive: true, force: true });
  });

  it('gives every route, called as every role and with every bad credential, exactly the status the matrix says', async () => {
    const columns: (Column | (typeof BAD_CREDENTIALS)[number])[] = [...IDENTITIES, ...BAD_CREDENTIALS];
    const labelOf = (c: Column | string): string => (typeof c === 'string' ? c : c.label);
    const rows: string[][] = [];
    const mismatches: string[] = [];
    for (const route of ROUTES) {
      const row = [`${route.method} ${route.path}`];
      for (const column of columns) {
        const expected = expectedFor(route, column, config);
        const cell = await call(reg, route, credentials.get(labelOf(column)));
        const ok =
          expected === 'allow'
            ? cell.status !== 401 && cell.status !== 403 && cell.status < 500
            : expected === 'deny'
              ? cell.status === 403 && cell.code === 'FORBIDDEN'
              : cell.status === 401 && cell.code === 'UNAUTHENTICATED';
        row.push(`${expected === 'allow' ? 'allow' : 'DENY'} ${cell.status}${ok ? '' : ' ✗'}`);
        if (!ok) mismatches.push(`${route.method} ${route.path} as ${labelOf(column)}: expected ${expected}, got ${cell.status} ${cell.code ?? ''}`);
      }
      rows.push(row);
    }
    const header = ['route', ...columns.map(labelOf)];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
    console.log(`\nroute × role matrix (${backend}, public log reads: ${String(publicReads)}): expected outcome and status received\n${[line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n')}\n`);
    expect(mismatches).toEqual([]);
    // The walk covered every route and every column.
    expect(rows).toHaveLength(ROUTES.length);
    expect(columns.map(labelOf)).toEqual(expect.arrayContaining(['unauthenticated', 'malformed', 'expired', 'revoked', 'wrong audience', 'admin', 'viewer']));
  });
});
