/**
 * Abuse resistance over real HTTP (issue 5 §7, SPEC §10): a client that keeps failing
 * authentication is answered 429 RATE_LIMITED with `Retry-After` until its window ends — even
 * when it finally presents a valid token, so the limit is no oracle — while public routes keep
 * answering; and every refused credential, whatever was wrong with it, gets the same 401 bytes.
 *
 * SQLite only: the limiter lives in the HTTP front of one process and the store only looks the
 * tokens up, which the both-store suites (route-auth, identity-api) already cover.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';

const WINDOW_SECONDS = 2;
const MAX_FAILURES = 5;

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
}

describe('the authentication failure limit (sqlite)', () => {
  let reg: TestRegistry;
  let revoked: string;
  let expired: string;

  async function send(route: string, authorization?: string, init: { method?: string; body?: unknown } = {}): Promise<Reply> {
    const headers: Record<string, string> = {};
    if (authorization !== undefined) headers.authorization = authorization;
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${reg.url}${route}`, { method: init.method ?? 'GET', headers, ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }) });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  const asAdmin = async (method: string, route: string, body?: unknown): Promise<Record<string, unknown>> => {
    const res = await send(route, `Bearer ${reg.token}`, { method, body });
    expect(res.status, `${method} ${route}: ${res.text}`).toBeLessThan(300);
    return JSON.parse(res.text) as Record<string, unknown>;
  };

  beforeAll(async () => {
    reg = await startTestRegistry('sqlite', { limits: { authFailures: MAX_FAILURES, authFailureWindowSeconds: WINDOW_SECONDS } });
    // Two real tokens of a real principal, each working before it is revoked or expires.
    await asAdmin('POST', '/api/v1/principals', { name: 'bob', kind: 'user' });
    await asAdmin('POST', '/api/v1/bindings', { principal: 'bob', role: 'viewer' });
    const toRevoke = await asAdmin('POST', '/api/v1/tokens', { principal: 'bob', name: 'to-revoke' });
    const expiresAt = new Date(Date.now() + 1_500).toISOString();
    const toExpire = await asAdmin('POST', '/api/v1/tokens', { principal: 'bob', name: 'to-expire', expiresAt });
    revoked = String(toRevoke.token);
    expired = String(toExpire.token);
    expect((await send('/api/v1/whoami', `Bearer ${revoked}`)).status).toBe(200);
    expect((await send('/api/v1/whoami', `Bearer ${expired}`)).status).toBe(200);
    await asAdmin('POST', `/api/v1/tokens/${String(toRevoke.id)}/revoke`);
    await sleep(Math.max(0, Date.parse(expiresAt) - Date.now() + 200));
    const listed = (await asAdmin('GET', '/api/v1/tokens?principal=bob')).items as { id: string; status: string }[];
    expect(listed.find((t) => t.id === toRevoke.id)?.status).toBe('revoked');
    expect(listed.find((t) => t.id === toExpire.id)?.status).toBe('expired');
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('answers 429 with Retry-After once a client has failed too often, even to a valid token, until the window ends', async () => {
    const anonymous = await send('/api/v1/whoami');
    expect(anonymous.status).toBe(401);
    // The failure window starts with the first failure: all of these must happen within it.
    const bad = [`Bearer ${'x'.repeat(8)}`, `Bearer ${generateApiToken()}`, `Bearer ${revoked}`, `Bearer ${expired}`, `Basic ${Buffer.from(`admin:${reg.token}`).toString('base64')}`];
    expect(bad).toHaveLength(MAX_FAILURES);
    for (const authorization of bad) {
      const res = await send('/api/v1/whoami', authorization);
      expect(res.status, authorization).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
      // Malformed, unknown, revoked or expired: the same bytes, so none of them tells a token exists.
      expect(res.text, authorization).toBe(anonymous.text);
    }

    const limited = await send('/api/v1/whoami', `Bearer ${reg.token}`);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toBe('application/problem+json');
    expect(JSON.parse(limited.text)).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    const retryAfter = limited.headers.get('retry-after') ?? '';
    expect(retryAfter).toMatch(/^[1-9][0-9]*$/);
    expect(Number(retryAfter)).toBeLessThanOrEqual(WINDOW_SECONDS);
    expect(limited.text).not.toContain(reg.token);
    // A wrong token is answered the same way: no guessing while blocked.
    expect((await send('/api/v1/whoami', `Bearer ${generateApiToken()}`)).status).toBe(429);

    // Public routes need no credential and are not blocked.
    expect((await send('/healthz')).status).toBe(200);
    expect((await send('/api/v1/openapi.json')).status).toBe(200);

    await sleep(Number(retryAfter) * 1000 + 250);
    const again = await send('/api/v1/whoami', `Bearer ${reg.token}`);
    expect(again.status, again.text).toBe(200);
    expect(JSON.parse(again.text)).toMatchObject({ name: 'admin' });
  });

  it('counts failures per window: after a window has passed, a client may fail again before being blocked', async () => {
    await sleep(WINDOW_SECONDS * 1000 + 100);
    for (let i = 0; i < MAX_FAILURES - 1; i++) expect((await send('/api/v1/whoami', `Bearer ${generateApiToken()}`)).status).toBe(401);
    expect((await send('/api/v1/whoami', `Bearer ${reg.token}`)).status).toBe(200);
    expect((await send('/api/v1/whoami', `Bearer ${generateApiToken()}`)).status).toBe(401);
    expect((await send('/api/v1/whoami', `Bearer ${reg.token}`)).status).toBe(429);
  });
});
