/**
 * Single sign-on for the web UI against a real OpenID Provider (issue 8 §2; `oidc-provider`, see
 * test/support/oidc-provider.ts), on SQLite and PostgreSQL, driven over HTTP with manual
 * redirects: `/sign-in/oidc` → the provider's login form → `/sign-in/oidc/callback` → a session
 * cookie (HttpOnly, Secure, SameSite=Lax, `__Host-`) for the user principal bound to the
 * identity. Every refusal — no pending login, a state that does not match, a replayed callback, an
 * identity bound to nobody, to a disabled user or to a service, the provider's `access_denied`, a
 * login older than 10 minutes — is a 401 without a session cookie; disabling a principal ends its
 * open single sign-on session; an answer naming another issuer (RFC 9207) is refused; refusals
 * count towards the failed sign-in limit; a provider that is down is a 503 at login, not a failed start; and
 * the registry's log holds neither the client secret, nor a code, nor a token. A user bound with
 * the CLI (`custody principals create --kind user --oidc-issuer … --oidc-subject …`) signs in too.
 */
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/domain/clock.js';
import { createLogger } from '../../src/observability/logger.js';
import { freeLoopbackPort, startOpenIdProvider, type TestOpenIdProvider } from '../support/oidc-provider.js';
import { BACKENDS, expectCliOk, runCli, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { page, type Reply } from '../support/ui-session.js';

/** The registry's clock: real time plus an offset a test can move. */
function movableClock(): Clock & { offsetMs: number } {
  const clock = { offsetMs: 0, now: () => new Date(Date.now() + clock.offsetMs) };
  return clock;
}

function cookiesOf(reply: Reply): string[] {
  return reply.headers.getSetCookie();
}

function sessionCookieOf(reply: Reply): string | undefined {
  return cookiesOf(reply).find((c) => c.startsWith('__Host-custody_session='));
}

async function api(reg: TestRegistry, method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${reg.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${reg.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, text: await response.text() };
}

describe.each(BACKENDS)('web UI single sign-on with a real OpenID Provider (%s)', (backend) => {
  let op: TestOpenIdProvider;
  let reg: TestRegistry;
  let down: TestRegistry;
  const clock = movableClock();
  const lines: string[] = [];
  /** Every authorization code the provider handed out, to look for in the log. */
  const codes: string[] = [];

  /** Starts a login at the registry: the provider URL it redirects to and the pending-login cookie. */
  async function startLogin(next = '/models'): Promise<{ authorizationUrl: string; pending: string; setCookie: string }> {
    const reply = await page(reg, `/sign-in/oidc?next=${encodeURIComponent(next)}`);
    expect(reply.status, reply.text).toBe(303);
    const authorizationUrl = reply.headers.get('location') ?? '';
    expect(authorizationUrl.startsWith(`${op.issuer}/`)).toBe(true);
    const setCookie = cookiesOf(reply).find((c) => c.startsWith('__Host-custody_oidc=')) ?? '';
    return { authorizationUrl, pending: setCookie.split(';')[0] ?? '', setCookie };
  }

  /** The registry's answer to the provider's redirect back. */
  async function callback(url: string, cookie: string | undefined): Promise<Reply> {
    const code = new URL(url).searchParams.get('code');
    if (code !== null) codes.push(code);
    const { pathname, search } = new URL(url);
    return page(reg, `${pathname}${search}`, cookie === undefined ? {} : { cookie });
  }

  /** A whole login as `subject`: the callback's reply. */
  async function signOn(subject: string, next = '/models'): Promise<Reply> {
    const { authorizationUrl, pending } = await startLogin(next);
    return callback(await op.login(authorizationUrl, subject), pending);
  }

  function expectRefused(reply: Reply): void {
    expect(reply.status, reply.text).toBe(401);
    expect(sessionCookieOf(reply)).toBeUndefined();
  }

  beforeAll(async () => {
    const port = await freeLoopbackPort();
    const publicUrl = `http://127.0.0.1:${port}`;
    op = await startOpenIdProvider(`${publicUrl}/sign-in/oidc/callback`);
    reg = await startTestRegistry(
      backend,
      {
        server: { port, publicUrl },
        ui: { oidc: { issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret } },
        // The same provider as a workload issuer, so a service principal can be bound to an identity there.
        oidc: { issuers: [{ issuer: op.issuer, audience: 'custody-workloads', jwks: `${op.issuer}/jwks`, algorithms: ['ES256'] }] },
      },
      clock,
      createLogger('info', (line) => lines.push(line)),
    );
    for (const [name, kind, subject] of [
      ['alice', 'user', 'alice-sub'],
      ['bob', 'user', 'bob-sub'],
      ['carol', 'user', 'carol-sub'],
      ['robot', 'service', 'robot-sub'],
    ] as const) {
      const created = await api(reg, 'POST', '/api/v1/principals', { name, kind, oidc: { issuer: op.issuer, subject } });
      expect(created.status, created.text).toBe(201);
      const granted = await api(reg, 'POST', '/api/v1/bindings', { principal: name, role: 'viewer' });
      expect(granted.status, granted.text).toBe(201);
    }
    expect((await api(reg, 'POST', '/api/v1/principals/bob/disable')).status).toBe(200);

    // A registry whose provider is down (nothing listens on the port): it starts all the same.
    const deadPort = await freeLoopbackPort();
    const downPort = await freeLoopbackPort();
    down = await startTestRegistry(backend, {
      server: { port: downPort, publicUrl: `http://127.0.0.1:${downPort}` },
      limits: { authFailures: 2 },
      ui: { oidc: { issuer: `http://127.0.0.1:${deadPort}`, clientId: 'custody-ui' } },
    });
  });

  afterAll(async () => {
    await reg.stop();
    await down.stop();
    await op.close();
  });

  it('offers single sign-on above the token form, keeping where to go next', async () => {
    const reply = await page(reg, '/sign-in?next=%2Fkeys');
    expect(reply.status).toBe(200);
    expect(reply.text).toContain('<a id="sign-in-oidc" href="/sign-in/oidc?next=%2Fkeys">Sign in with single sign-on</a>');
    expect(reply.text.indexOf('sign-in-oidc')).toBeLessThan(reply.text.indexOf('name="token"'));
  });

  it('redirects to the provider with a PKCE S256 authorization request and a short-lived pending-login cookie', async () => {
    const { authorizationUrl, setCookie } = await startLogin();
    const params = new URL(authorizationUrl).searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('client_id')).toBe(op.clientId);
    expect(params.get('redirect_uri')).toBe(op.redirectUri);
    expect(params.get('scope')).toBe('openid');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(params.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorizationUrl).not.toContain(op.clientSecret);
    expect(setCookie).toMatch(/^__Host-custody_oidc=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=600$/);
  });

  it('signs a bound user in: session cookie, pending cookie cleared, back at next, the header names the principal', async () => {
    const reply = await signOn('alice-sub', '/models?q=fraud');
    expect(reply.status, reply.text).toBe(303);
    expect(reply.headers.get('location')).toBe('/models?q=fraud');
    const session = sessionCookieOf(reply) ?? '';
    expect(session).toMatch(/^__Host-custody_session=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Path=\/; Secure; HttpOnly; SameSite=Lax; Max-Age=\d+$/);
    expect(cookiesOf(reply)).toContain('__Host-custody_oidc=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0');
    const models = await page(reg, '/models', { cookie: session.split(';')[0] ?? '' });
    expect(models.status).toBe(200);
    expect(models.text).toContain('Signed in as <strong>alice</strong> (user)');
    expect(models.text).toContain('Roles: viewer');
  });

  it('signs in a user bound with `custody principals create --kind user --oidc-issuer --oidc-subject`', async () => {
    const env = { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token, XDG_CONFIG_HOME: path.join(tmpdir(), `custody-oidc-cli-${backend}`) };
    const created = expectCliOk(await runCli(['--json', 'principals', 'create', 'erin', '--kind', 'user', '--oidc-issuer', op.issuer, '--oidc-subject', 'erin@example.com'], env));
    expect(created).toMatchObject({ name: 'erin', kind: 'user', oidc: { issuer: op.issuer, subject: 'erin@example.com', condition: null } });
    const reply = await signOn('erin@example.com');
    expect(reply.status, reply.text).toBe(303);
    const models = await page(reg, '/models', { cookie: (sessionCookieOf(reply) ?? '').split(';')[0] ?? '' });
    expect(models.text).toContain('Signed in as <strong>erin</strong> (user)');
    expect(models.text).toContain('Roles: none');
  });

  it('refuses a callback without the pending-login cookie, and one whose state does not match (which uses the login up)', async () => {
    const { authorizationUrl, pending } = await startLogin();
    const returned = await op.login(authorizationUrl, 'alice-sub');
    expectRefused(await callback(returned, undefined));
    const forged = new URL(returned);
    forged.searchParams.set('state', 'A'.repeat(43));
    expectRefused(await callback(forged.toString(), pending));
    // The mismatch consumed the pending login: the genuine callback no longer works either.
    expectRefused(await callback(returned, pending));
  });

  it('refuses a replayed callback: the same code and state a second time', async () => {
    const { authorizationUrl, pending } = await startLogin();
    const returned = await op.login(authorizationUrl, 'alice-sub');
    const first = await callback(returned, pending);
    expect(first.status, first.text).toBe(303);
    const second = await callback(returned, pending);
    expectRefused(second);
    expect(second.text).toContain('already used');
  });

  it('refuses an identity no principal is bound to, naming its issuer and subject', async () => {
    const reply = await signOn('nobody-sub');
    expectRefused(reply);
    expect(reply.text).toContain('No Custody principal is bound to this identity');
    expect(reply.text).toContain(`issuer <code>${op.issuer}</code>, subject <code>nobody-sub</code>`);
  });

  it('refuses a disabled user and a service principal bound to the identity', async () => {
    for (const subject of ['bob-sub', 'robot-sub']) {
      const reply = await signOn(subject);
      expectRefused(reply);
      expect(reply.text).toContain('No Custody principal is bound to this identity');
    }
  });

  it('ends an open single sign-on session once its principal is disabled', async () => {
    const reply = await signOn('carol-sub');
    expect(reply.status, reply.text).toBe(303);
    const cookie = (sessionCookieOf(reply) ?? '').split(';')[0] ?? '';
    expect((await page(reg, '/models', { cookie })).status).toBe(200);
    expect((await api(reg, 'POST', '/api/v1/principals/carol/disable')).status).toBe(200);
    const after = await page(reg, '/models', { cookie });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toBe('/sign-in?next=%2Fmodels');
  });

  it("shows the provider's access_denied, escaped, as a refusal", async () => {
    const { authorizationUrl, pending } = await startLogin();
    const returned = await op.abort(authorizationUrl);
    expect(new URL(returned).searchParams.get('error')).toBe('access_denied');
    const reply = await callback(returned, pending);
    expectRefused(reply);
    expect(reply.text).toContain('it answered <code>access_denied</code>');
    // An error parameter is shown escaped, never as markup.
    const again = await startLogin();
    const state = new URL(again.authorizationUrl).searchParams.get('state') ?? '';
    const hostile = await callback(`${op.redirectUri}?state=${state}&error=${encodeURIComponent('<img src=x onerror=alert(1)>')}`, again.pending);
    expectRefused(hostile);
    expect(hostile.text).not.toContain('<img src=x');
    expect(hostile.text).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('refuses a login completed more than 10 minutes after it started', async () => {
    const { authorizationUrl, pending } = await startLogin();
    const returned = await op.login(authorizationUrl, 'alice-sub');
    clock.offsetMs = 11 * 60_000;
    try {
      const reply = await callback(returned, pending);
      expectRefused(reply);
      expect(reply.text).toContain('took too long');
    } finally {
      clock.offsetMs = 0;
    }
  });

  it('answers 503 at login while the provider is down, and a registry with such a provider still starts', async () => {
    const reply = await page(down, '/sign-in/oidc?next=%2Fmodels');
    expect(reply.status).toBe(503);
    expect(reply.text).toContain('SERVICE_UNAVAILABLE');
    expect((await page(down, '/sign-in')).status).toBe(200);
  });

  it('counts refused callbacks as failed sign-ins: the client is answered 429 once over the limit', async () => {
    const refusedOnce = await page(down, '/sign-in/oidc/callback?code=x&state=y');
    const refusedTwice = await page(down, '/sign-in/oidc/callback?code=x&state=y');
    const limited = await page(down, '/sign-in/oidc/callback?code=x&state=y');
    expect([refusedOnce.status, refusedTwice.status, limited.status]).toEqual([401, 401, 429]);
  });

  it('refuses an answer that names another issuer (RFC 9207), before using its code', async () => {
    const { authorizationUrl, pending } = await startLogin();
    const returned = new URL(await op.login(authorizationUrl, 'alice-sub'));
    expect(returned.searchParams.get('iss')).toBe(op.issuer);
    returned.searchParams.set('iss', 'https://attacker.example.com');
    expectRefused(await callback(returned.toString(), pending));
  });

  it('logs who signed in and why logins were refused, never the client secret, a code or a token', () => {
    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const audits = entries.filter((e) => e['msg'] === 'ui audit');
    expect(audits.some((e) => e['action'] === 'session.started' && e['via'] === 'oidc' && e['principal'] === 'alice')).toBe(true);
    const reasons = audits.filter((e) => e['action'] === 'session.refused').map((e) => e['reason']);
    expect(reasons).toEqual(expect.arrayContaining(['no_pending_login', 'state_mismatch', 'no_principal', 'idp_error', 'expired', 'wrong_issuer']));
    expect(codes.length).toBeGreaterThan(3);
    const log = lines.join('\n');
    expect(log).not.toContain(op.clientSecret);
    for (const code of codes) expect(log).not.toContain(code);
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]+\.eyJ/);
  });
});
