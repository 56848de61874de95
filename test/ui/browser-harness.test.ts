/**
 * The browser harness itself (test/support/browser.ts), in real Debian Chromium against pages
 * served from a loopback node:http server: a strict nonce CSP runs only nonce'd scripts and the
 * harness sees the refusals; axe-core runs under that CSP and tells a bad page from a good one;
 * screenshots are PNG files; and Chromium keeps the `__Host-` session cookie the UI relies on
 * (issue 8 §2–§4, shared/reference/ui-screens.md).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { accessibilityViolations, launchBrowser, newPage, pageDiagnostics, saveScreenshot, UI_TEST_HOST } from '../support/browser.js';

/** A 1×1 transparent PNG, so the pages' images load (except the deliberately missing one). */
const PIXEL = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=', 'base64');
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const SESSION_COOKIE = '__Host-x=1; Path=/; Secure; HttpOnly; SameSite=Lax';

/** The policy the UI will send: scripts and styles by nonce only, nothing inline, no eval. */
function strictCsp(nonce: string): string {
  return `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'`;
}

/** One nonce'd script, one inline script without it, and an inline event handler on a failing image. */
function scriptsPage(nonce: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Scripts</title></head><body><main>
<p id="nonced">not run</p><p id="inline">not run</p><p id="handler">not run</p>
<script nonce="${nonce}">document.getElementById('nonced').textContent = 'ran';</script>
<script>document.getElementById('inline').textContent = 'ran';</script>
<img src="/missing.png" alt="" onerror="document.getElementById('handler').textContent = 'ran'">
</main></body></html>`;
}

const BAD_PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>Bad</title></head><body>
<img src="/pixel.png"><form method="post" action="/search"><input type="text" name="q"><button type="submit">Search</button></form>
</body></html>`;

function goodPage(nonce: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Models · Custody</title>
<style nonce="${nonce}">body { font-family: sans-serif; margin: 2rem; } code { background: #eee; padding: 0 .25rem; }</style></head><body>
<header><nav aria-label="Main"><a href="/good">Models</a></nav></header>
<main><h1>Models</h1><img src="/pixel.png" alt="Custody logo" width="16" height="16">
<p>Digest <code>sha256:0123abcd…</code>: <span role="img" aria-label="Gate passed">✔ PASS</span></p>
<form method="get" action="/good"><label for="q">Filter by name</label> <input id="q" type="text" name="q"> <button type="submit">Filter</button></form>
</main></body></html>`;
}

const SIGNED_IN_PAGE = '<!doctype html><html lang="en"><head><title>Signed in</title></head><body><main>signed in</main></body></html>';

function handle(request: IncomingMessage, response: ServerResponse): void {
  const path = new URL(request.url ?? '/', 'http://host').pathname;
  const nonce = randomBytes(16).toString('base64');
  const html = (body: string, csp: string | null): readonly [number, Record<string, string>, string] => [
    200,
    { 'content-type': 'text/html; charset=utf-8', ...(csp === null ? {} : { 'content-security-policy': csp }) },
    body,
  ];
  const [status, headers, body] = ((): readonly [number, Record<string, string>, string | Buffer] => {
    switch (path) {
      case '/scripts':
        return html(scriptsPage(nonce), strictCsp(nonce));
      case '/scripts-without-csp':
        return html(scriptsPage(nonce), null);
      case '/bad':
        return html(BAD_PAGE, strictCsp(nonce));
      case '/good':
        return html(goodPage(nonce), strictCsp(nonce));
      case '/pixel.png':
        return [200, { 'content-type': 'image/png' }, PIXEL];
      case '/sign-in':
        return [200, { 'content-type': 'text/html; charset=utf-8', 'set-cookie': SESSION_COOKIE }, SIGNED_IN_PAGE];
      case '/cookie-header':
        return [200, { 'content-type': 'text/plain; charset=utf-8' }, request.headers.cookie ?? ''];
      default:
        return [404, { 'content-type': 'text/plain; charset=utf-8' }, 'not found'];
    }
  })();
  response.writeHead(status, headers);
  response.end(body);
}

let server: Server;
let port: number;
let browser: Browser;
const pages: Page[] = [];

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  browser = await launchBrowser();
}, 600_000); // the first run on a new machine installs Debian's chromium

afterAll(async () => {
  await Promise.all(pages.map((page) => page.context().close()));
  await browser?.close();
  await new Promise((resolve) => server?.close(resolve));
});

async function open(path: string, host: string = UI_TEST_HOST): Promise<Page> {
  const page = await newPage(browser);
  pages.push(page);
  await page.goto(`http://${host}:${port}${path}`);
  return page;
}

const text = (page: Page, id: string): Promise<string | null> => page.locator(`#${id}`).textContent();

describe('browser harness (Debian chromium + playwright-core)', () => {
  it('under a nonce CSP runs the nonce\'d script, blocks an inline script and an inline handler, and records both violations', async () => {
    const page = await open('/scripts');
    const { cspViolations, consoleErrors, pageErrors } = pageDiagnostics(page);
    await expect.poll(() => cspViolations.map((v) => v.effectiveDirective).sort()).toEqual(['script-src-attr', 'script-src-elem']);
    expect(await text(page, 'nonced')).toBe('ran');
    expect(await text(page, 'inline')).toBe('not run');
    expect(await text(page, 'handler')).toBe('not run');
    expect(cspViolations.every((v) => v.blockedURI === 'inline' && v.documentURI.endsWith('/scripts'))).toBe(true);
    expect(consoleErrors.some((message) => message.includes('Content Security Policy'))).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('without a CSP the same page runs all three scripts (the check above can fail)', async () => {
    const page = await open('/scripts-without-csp');
    await expect.poll(() => text(page, 'handler')).toBe('ran');
    expect(await text(page, 'nonced')).toBe('ran');
    expect(await text(page, 'inline')).toBe('ran');
    expect(pageDiagnostics(page).cspViolations).toEqual([]);
  });

  it('axe-core, under the strict CSP, finds serious or critical violations on a bad page and none on a good one', async () => {
    const bad = await open('/bad');
    const violations = await accessibilityViolations(bad);
    const ids = violations.map((v) => v.id);
    expect(ids).toEqual(expect.arrayContaining(['image-alt', 'label', 'html-has-lang']));
    expect(violations.every((v) => v.impact === 'serious' || v.impact === 'critical')).toBe(true);
    expect(violations.find((v) => v.id === 'image-alt')?.targets).toEqual(['img']);

    const good = await open('/good');
    expect(await accessibilityViolations(good, { impact: ['minor', 'moderate', 'serious', 'critical'] })).toEqual([]);
    // axe ran without weakening or tripping the page's CSP.
    expect(pageDiagnostics(bad).cspViolations).toEqual([]);
    expect(pageDiagnostics(good).cspViolations).toEqual([]);
  });

  it('writes a full-page screenshot as a PNG file under test-results/screenshots/', async () => {
    const page = await open('/good');
    const path = await saveScreenshot(page, 'browser-harness-good-page');
    expect(path).toMatch(/[/\\]test-results[/\\]screenshots[/\\]browser-harness-good-page\.png$/);
    const bytes = await readFile(path);
    expect(bytes.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(bytes.length).toBeGreaterThan(1_000);
    await expect(saveScreenshot(page, '../escape')).rejects.toThrow(/plain file name/);
  });

  it.each(['127.0.0.1', 'localhost'])('keeps a Secure HttpOnly __Host- cookie set over plain http by %s and sends it back', async (host) => {
    const page = await open('/sign-in', host);
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: '__Host-x', value: '1', domain: host, path: '/', secure: true, httpOnly: true, sameSite: 'Lax' })]);
    // HttpOnly: the page's scripts cannot read it (the project compiles without the DOM library).
    expect(await page.evaluate(() => (globalThis as unknown as { document: { cookie: string } }).document.cookie)).toBe('');
    await page.goto(`http://${host}:${port}/cookie-header`);
    expect(await page.locator('body').textContent()).toBe('__Host-x=1');
  });
});
