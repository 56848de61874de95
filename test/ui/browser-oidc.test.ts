/**
 * Single sign-on in real Chromium (issue 8 §2): the sign-in page offers "Sign in with single
 * sign-on" above the token form; clicking it goes to a real OpenID Provider (`oidc-provider`, see
 * test/support/oidc-provider.ts), whose own login form signs in the subject bound to a user
 * principal; the browser comes back through the callback and lands signed in on `/models` with
 * the principal in the header. The Custody sign-in page is free of CSP violations, script and
 * console errors and serious axe violations, and saved as `sign-in-oidc`; the provider's page is
 * not ours and is not scanned.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, expectCleanPage, launchBrowser, newPage } from '../support/browser.js';
import { freeLoopbackPort, startOpenIdProvider, type TestOpenIdProvider } from '../support/oidc-provider.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';

describe('single sign-on in Chromium', () => {
  let op: TestOpenIdProvider;
  let reg: TestRegistry;
  let browser: Browser;

  beforeAll(async () => {
    await ensureChromium();
    const port = await freeLoopbackPort();
    const publicUrl = `http://127.0.0.1:${port}`;
    op = await startOpenIdProvider(`${publicUrl}/sign-in/oidc/callback`);
    reg = await startTestRegistry('sqlite', {
      server: { port, publicUrl },
      ui: { oidc: { issuer: op.issuer, clientId: op.clientId, clientSecret: op.clientSecret } },
    });
    const headers = { authorization: `Bearer ${reg.token}`, 'content-type': 'application/json' };
    const created = await fetch(`${reg.url}/api/v1/principals`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'dana', kind: 'user', oidc: { issuer: op.issuer, subject: 'dana@example.com' } }),
    });
    expect(created.status, await created.text()).toBe(201);
    const granted = await fetch(`${reg.url}/api/v1/bindings`, { method: 'POST', headers, body: JSON.stringify({ principal: 'dana', role: 'viewer' }) });
    expect(granted.status, await granted.text()).toBe(201);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await reg.stop();
    await op.close();
  });

  it('signs in at the provider and lands signed in on the models page', async () => {
    const page = await newPage(browser);
    await page.goto(`${reg.url}/models`);
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    const sso = page.getByRole('link', { name: 'Sign in with single sign-on' });
    await expect(sso.isVisible()).resolves.toBe(true);
    await expectCleanPage(page, 'sign-in-oidc');

    await sso.click();
    await page.waitForURL((url) => url.origin === op.issuer);
    await page.locator('input[name="login"]').fill('dana@example.com');
    await page.locator('input[name="password"]').fill('any');
    await page.locator('button[type="submit"]').click();
    await page.waitForURL(`${reg.url}/models`);
    await expect(page.locator('header.site .who').innerText()).resolves.toContain('Signed in as dana (user)');
    const cookies = await page.context().cookies(reg.url);
    expect(cookies.map((c) => c.name)).toContain('__Host-custody_session');
    expect(cookies.map((c) => c.name)).not.toContain('__Host-custody_oidc');
    const session = cookies.find((c) => c.name === '__Host-custody_session');
    expect(session).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Lax', path: '/' });
    await page.context().close();
  });
});
