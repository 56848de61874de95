/**
 * The web UI in real Chromium (issue 8 §4), against a real registry holding the seed's scenario:
 * sign in through the form, read the models list, open a version and read a blocked gate's
 * reason, promote it into staging by clicking, see that HTML/JS in annotations and attestation
 * predicates never runs, see a form
 * posted from another origin refused, and sign out. Every page is scanned with
 * axe-core (no serious or critical violation), raises no CSP violation or script error, and is
 * saved to test-results/screenshots/.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, expectCleanPage, launchBrowser, newSignedInPage } from '../support/browser.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { attest, attestSeed, createPrincipal, pushModel, scanPredicate, setUpSeed, type PushedVersion } from '../support/promotion-fixtures.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api, uploadRandomModel, VULNS } from '../support/trust-fixtures.js';

const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';

describe('the web UI in Chromium', () => {
  let reg: TestRegistry;
  let browser: Browser;
  let version: PushedVersion;
  let annotated: string;
  let viewerToken: string;

  beforeAll(async () => {
    await ensureChromium();
    reg = await startTestRegistry('sqlite');
    const seed = await setUpSeed(reg);
    version = await pushModel(reg, 'fraud/detector', seed.keys.training);
    await attestSeed(reg, version, seed.keys, { redteam: 'PENDING' });
    const uploaded = await uploadRandomModel(reg);
    const registered = await api(reg, 'POST', '/api/v1/models/fraud/annotated/versions', { files: uploaded.files, annotations: { note: XSS } });
    expect(registered.status).toBe(201);
    annotated = uploaded.digest;
    // A signed scan whose predicate carries the payload in a free field and in the scanner's name.
    const scan = scanPredicate('clean') as { scanner?: Record<string, unknown> };
    await attest(reg, { model: 'fraud/annotated', digest: annotated, number: 1 }, seed.keys.scanner, VULNS, { ...scan, scanner: { ...scan.scanner, uri: XSS }, comment: XSS });
    viewerToken = await createPrincipal(reg, 'vera', 'user', [{ role: 'viewer', namespaces: ['empty'] }]);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await reg.stop();
  });

  /** Sent to sign in, and back to the models list after. */
  const signedInPage = (token: string): Promise<Page> => newSignedInPage(browser, `${reg.url}/models`, token);

  it('signs in through the form into an HttpOnly session cookie and lists the models', async () => {
    const page = await signedInPage(reg.token);
    const cookies = await page.context().cookies();
    expect(cookies.map((c) => [c.name, c.httpOnly, c.secure, c.sameSite])).toEqual([['__Host-custody_session', true, true, 'Lax']]);
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toBe('');
    await expect(page.getByRole('link', { name: 'fraud/detector' }).count()).resolves.toBe(1);
    await expectCleanPage(page, 'models');
    await page.close();
  });

  it('shows the empty state with the command to push a first model', async () => {
    const page = await signedInPage(viewerToken);
    await expect(page.getByText('No models yet').count()).resolves.toBe(1);
    await expect(page.locator('pre code').innerText()).resolves.toContain('custody push');
    await expectCleanPage(page, 'models-empty');
    await page.close();
  });

  it('opens a version and reads why production is blocked', async () => {
    const page = await signedInPage(reg.token);
    await page.getByRole('link', { name: 'fraud/detector' }).click();
    await page.waitForURL(`${reg.url}/models/fraud/detector`);
    await expectCleanPage(page, 'model');
    await page.getByRole('link', { name: 'v1' }).click();
    await page.waitForURL(`${reg.url}/models/fraud/detector/versions/${encodeURIComponent(version.digest)}`);
    const production = page.locator('section.gate-card[data-environment="production"]');
    await expect(production.locator('h3').innerText()).resolves.toMatch(/production: .*Blocked \(/);
    const redTeam = production.locator('tr[data-result="MISSING"], tr[data-result="FAIL"]');
    expect(await redTeam.count()).toBeGreaterThan(0);
    const reasons = await redTeam.allInnerTexts();
    expect(reasons.join('\n')).toMatch(/red/i);
    // The admin is a user: production is for the release pipeline only, and the disabled button says so.
    const intoProduction = page.getByRole('button', { name: 'Request promotion to production' });
    await expect(intoProduction.isDisabled()).resolves.toBe(true);
    const why = await intoProduction.getAttribute('aria-describedby');
    await expect(page.locator(`#${why ?? 'missing'}`).innerText()).resolves.toContain('Only service principals');
    await expectCleanPage(page, 'version');
    await page.close();
  });

  it('promotes the version into staging by clicking, and shows the logged decision', async () => {
    const page = await signedInPage(reg.token);
    await page.goto(`${reg.url}/models/fraud/detector/versions/${encodeURIComponent(version.digest)}`);
    await page.getByRole('button', { name: 'Request promotion to staging' }).click();
    await page.waitForURL((url) => url.searchParams.get('promoted') === 'staging');
    await expect(page.getByRole('status').innerText()).resolves.toMatch(/^Promoted into staging: the decision is log entry #\d+\.$/);
    await expect(page.locator('section.gate-card[data-environment="staging"] h3').innerText()).resolves.toContain('Already promoted');
    await expectCleanPage(page, 'version-promoted');
    await page.close();
  });

  it('never runs HTML or script from annotations or attestation predicates', async () => {
    const page = await signedInPage(reg.token);
    await page.goto(`${reg.url}/models/fraud/annotated/versions/${annotated}`);
    await expect(page.locator('pre.unverified').innerText()).resolves.toContain('<script>window.__pwned = 1</script>');
    // Open every decoded statement, so the predicate's payload is rendered too, and read it back as text.
    for (const summary of await page.locator('main details > summary').all()) await summary.click();
    const statements = await page.locator('main details pre').allInnerTexts();
    expect(statements.join('\n')).toContain(JSON.stringify(XSS));
    expect(await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await expect(page.locator('main img').count()).resolves.toBe(0);
    await expectCleanPage(page, 'version-annotations');
    await page.close();
  });

  it('refuses a form posted from another origin (same site, other port) even though the browser sends the session cookie', async () => {
    const page = await signedInPage(reg.token);
    // The attacker's page auto-posts the sign-out form (no CSRF token) to the registry.
    const attacker: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><title>x</title><form method="post" action="${reg.url}/sign-out"><input name="csrf" value="guess"></form><script>document.forms[0].submit()</script>`);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    try {
      const refused = page.waitForResponse((r) => r.url() === `${reg.url}/sign-out`);
      await page.goto(`http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`);
      const response = await refused;
      expect(response.request().headers()['cookie'] ?? (await response.request().allHeaders())['cookie']).toContain('__Host-custody_session=');
      expect(response.status()).toBe(403);
      await expect(page.locator('main').innerText()).resolves.toMatch(/cross-site form posts are refused/);
      // The session survived: the models list still opens without signing in again.
      await page.goto(`${reg.url}/models`);
      expect(new URL(page.url()).pathname).toBe('/models');
    } finally {
      await new Promise<void>((resolve) => attacker.close(() => { resolve(); }));
      await page.close();
    }
  });

  it('signs out with the header button, and the old cookie no longer opens pages', async () => {
    const page = await signedInPage(reg.token);
    const [cookie] = await page.context().cookies();
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.waitForURL(`${reg.url}/sign-in`);
    expect(await page.context().cookies()).toEqual([]);
    await expectCleanPage(page, 'sign-in');
    const replay = await fetch(`${reg.url}/models`, { redirect: 'manual', headers: { cookie: `${cookie?.name ?? ''}=${cookie?.value ?? ''}` } });
    expect(replay.status).toBe(303);
    await page.close();
  });
});
