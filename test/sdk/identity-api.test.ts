/**
 * `IdentityApi` against a scripted HTTP server (SPEC §7): the requests it sends for each call
 * (paths, encoded names and ids, omitted versus null fields) and its refusal of answers that do
 * not match the documented schemas — a hostile server is not trusted.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { CustodyClient } from '../../src/sdk/custody-client.js';

interface Seen {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
  readonly authorization: string | undefined;
}

const TOKEN_VIEW = {
  id: 'tok_0123456789abcdef',
  principal: 'alice',
  name: 'laptop',
  createdAt: '2026-01-01T00:00:00.000Z',
  expiresAt: null,
  revokedAt: null,
  permissions: null,
  status: 'active',
};

describe('IdentityApi', () => {
  let server: http.Server;
  let client: CustodyClient;
  const seen: Seen[] = [];
  /** What the server answers next: status and JSON body. */
  let reply: { status: number; body: unknown } = { status: 200, body: {} };

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method ?? '', url: req.url ?? '', body: text === '' ? undefined : (JSON.parse(text) as unknown), authorization: req.headers.authorization });
        res.writeHead(reply.status, { 'content-type': 'application/json' }).end(JSON.stringify(reply.body));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new CustodyClient({ server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'custody_test' });
  });

  afterAll(async () => {
    client.close();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  });

  const last = (): Seen => {
    const s = seen.at(-1);
    if (s === undefined) throw new Error('no request reached the server');
    return s;
  };

  it('sends each call to its route with only the fields given, names and ids encoded', async () => {
    reply = { status: 201, body: { ...TOKEN_VIEW, token: 'custody_secret' } };
    await client.identity.createToken({ principal: 'alice', expiresAt: null });
    expect(last()).toEqual({ method: 'POST', url: '/api/v1/tokens', body: { principal: 'alice', expiresAt: null }, authorization: 'Bearer custody_test' });
    await client.identity.createToken({ principal: 'alice', name: 'ci', permissions: ['model:read'] });
    expect(last().body).toEqual({ principal: 'alice', name: 'ci', permissions: ['model:read'] });

    reply = { status: 200, body: TOKEN_VIEW };
    await client.identity.revokeToken('a/b?c');
    expect(last()).toMatchObject({ method: 'POST', url: '/api/v1/tokens/a%2Fb%3Fc/revoke', body: undefined });

    reply = { status: 200, body: { items: [] } };
    await client.identity.listTokens({ principal: 'a&b' });
    expect(last()).toMatchObject({ method: 'GET', url: '/api/v1/tokens?principal=a%26b' });
    await client.identity.listBindings();
    expect(last()).toMatchObject({ method: 'GET', url: '/api/v1/bindings' });

    const binding = { id: 'b', principal: 'alice', role: 'viewer', namespaces: ['acme'], environments: null, condition: null, createdAt: 'x', revokedAt: null };
    reply = { status: 201, body: binding };
    await client.identity.grantRole({ principal: 'alice', role: 'viewer', namespaces: ['acme'] });
    expect(last()).toMatchObject({ method: 'POST', url: '/api/v1/bindings', body: { principal: 'alice', role: 'viewer', namespaces: ['acme'] } });

    const principal = { name: 'ci', kind: 'service', createdAt: 'x', disabledAt: null, oidc: { issuer: 'https://i', subject: 's', condition: null } };
    reply = { status: 201, body: principal };
    await client.identity.createPrincipal({ name: 'ci', kind: 'service', oidc: { issuer: 'https://i', subject: 's' } });
    expect(last().body).toEqual({ name: 'ci', kind: 'service', oidc: { issuer: 'https://i', subject: 's' } });
    reply = { status: 200, body: { ...principal, disabledAt: 'y' } };
    await client.identity.disablePrincipal('c i');
    expect(last()).toMatchObject({ method: 'POST', url: '/api/v1/principals/c%20i/disable' });
  });

  it('refuses answers that do not match the schemas with SERVER_ERROR', async () => {
    const cases: [() => Promise<unknown>, unknown][] = [
      [() => client.identity.createToken({ principal: 'alice' }), TOKEN_VIEW], // no secret in a created token
      [() => client.identity.listTokens(), { items: [{ ...TOKEN_VIEW, status: 'forever' }] }],
      [() => client.identity.listPrincipals(), { items: [{ name: 'x', kind: 'robot', createdAt: 'x', disabledAt: null, oidc: null }] }],
      [() => client.identity.listBindings(), { items: 'everything' }],
      [() => client.whoami(), { name: 'alice', kind: 'user', via: 'magic', roles: [], bindings: [], permissions: [], tokenPermissions: null }],
      [() => client.identity.revokeBinding('b'), null],
    ];
    for (const [call, body] of cases) {
      reply = { status: 200, body };
      const error = await call().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(CustodyError);
      expect((error as CustodyError).code).toBe('SERVER_ERROR');
    }
  });

  it('turns the server\'s problem codes into CustodyErrors', async () => {
    reply = { status: 409, body: { code: 'PRINCIPAL_EXISTS', detail: 'a principal named bob already exists' } };
    await expect(client.identity.createPrincipal({ name: 'bob', kind: 'user' })).rejects.toMatchObject({ code: 'PRINCIPAL_EXISTS' });
  });
});
