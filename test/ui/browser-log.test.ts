/**
 * The transparency-log explorer's verification in real Chromium (issue 8 §1 and §4; acceptance:
 * "the in-browser log verification passes for a real entry and fails visibly when the served
 * proof or checkpoint is altered"). Against a real registry holding the seed's scenario, the
 * island — loaded by the page's CSP nonce, so it runs under the strict CSP — verifies a real
 * entry with every step PASS; a later entry, after the log grew, passes its consistency check
 * against the checkpoint the browser remembered. Through a small HTTP proxy in front of the same
 * registry that alters, for the browser's requests, the checkpoint's root, one hash of the
 * inclusion proof or the entries of an entry bundle (tiles), the same verification fails visibly
 * at the altered step. A remembered
 * checkpoint the log does not extend, and a pinned log key the page does not match, fail too.
 * Each page is scanned with axe (no serious or critical violation), raises no CSP violation or
 * script error, and is saved as a screenshot (`log`, `log-tampered-*`, `log-inconsistent`). With
 * `log.publicReads` off, the island verifies through the session's copies of the same data.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, expectCleanPage, launchBrowser, newPage, newSignedInPage, pageDiagnostics, UI_TEST_HOST } from '../support/browser.js';
import { attestSeed, createPrincipal, pushModel, setUpSeed } from '../support/promotion-fixtures.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';

type Tamper = (path: string, body: string) => string;

/** An HTTP proxy to `target` that rewrites the bodies of the responses `tamper` changes. */
async function startTamperingProxy(target: URL, tamper: Tamper): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const upstream = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (reply) => {
      const chunks: Buffer[] = [];
      reply.on('data', (chunk: Buffer) => chunks.push(chunk));
      reply.on('end', () => {
        const original = Buffer.concat(chunks);
        // latin1 maps each byte to one character and back, so binary tiles survive untouched.
        const altered = Buffer.from(tamper(req.url ?? '', original.toString('latin1')), 'latin1');
        const body = altered.equals(original) ? original : altered;
        res.writeHead(reply.statusCode ?? 502, { ...reply.headers, 'content-length': String(body.length) });
        res.end(body);
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, UI_TEST_HOST, resolve));
  return { url: `http://${UI_TEST_HOST}:${(server.address() as AddressInfo).port}`, server };
}

interface Outcome {
  readonly verdict: string;
  readonly steps: { readonly state: string; readonly text: string }[];
}

/** Presses "Verify in browser" on `index` and returns the verdict and each step as the page shows them. */
async function verify(page: Page, index: number): Promise<Outcome> {
  await page.locator(`button[data-verify-index="${index}"]`).click();
  const verdict = page.locator('[data-verifier-result] [data-verdict]');
  await verdict.waitFor({ timeout: 20_000 });
  const steps = await page.locator('[data-verifier-result] li[data-step]').evaluateAll((items) =>
    items.map((item) => {
      const node = item as unknown as { getAttribute(name: string): string | null; textContent: string | null };
      return { state: node.getAttribute('data-step') ?? '', text: node.textContent ?? '' };
    }),
  );
  return { verdict: (await verdict.getAttribute('data-verdict')) ?? '', steps };
}

function stepState(outcome: Outcome, title: string): string | undefined {
  return outcome.steps.find((step) => step.text.includes(title))?.state;
}

describe('the transparency-log explorer verifies entries in Chromium', () => {
  let reg: TestRegistry;
  let browser: Browser;
  const proxies: Server[] = [];

  beforeAll(async () => {
    await ensureChromium();
    reg = await startTestRegistry('sqlite');
    const seed = await setUpSeed(reg);
    const version = await pushModel(reg, 'fraud/detector', seed.keys.training);
    await attestSeed(reg, version, seed.keys, { redteam: 'PENDING' });
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    for (const proxy of proxies) await new Promise((resolve) => proxy.close(resolve));
    await reg.stop();
  });

  /** A fresh browser context signed in at `base`, on the explorer. */
  async function explorer(base: string): Promise<Page> {
    const page = await newSignedInPage(browser, `${base}/log/explorer`, reg.token);
    // The island is running once it has enabled the buttons.
    await page.locator('button[data-verify-index]:not([disabled])').first().waitFor();
    return page;
  }

  async function newestIndex(page: Page): Promise<number> {
    return Number(await page.locator('button[data-verify-index]').first().getAttribute('data-verify-index'));
  }

  it('verifies a real entry with every step PASS, then a later one consistently with the checkpoint it remembered', async () => {
    const page = await explorer(reg.url);
    const index = await newestIndex(page);
    const first = await verify(page, index);
    expect(first.steps.map((s) => s.state), JSON.stringify(first.steps)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    expect(first.verdict).toBe('pass');
    await expect(page.locator('[data-verifier-result]').innerText()).resolves.toContain(`Entry ${index} is in the log`);
    expect(first.steps[4]?.text).toContain('first checkpoint this browser has seen');
    await expectCleanPage(page, 'log');

    // The log grows; the browser checks the new checkpoint extends the one it remembered.
    await createPrincipal(reg, 'grows-the-log', 'user', [{ role: 'viewer' }]);
    await page.reload();
    await page.locator('button[data-verify-index]:not([disabled])').first().waitFor();
    const later = await newestIndex(page);
    expect(later).toBeGreaterThan(index);
    const second = await verify(page, later);
    expect(second.steps.map((s) => s.state), JSON.stringify(second.steps)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    expect(second.steps[4]?.text).toMatch(new RegExp(`size ${index + 1} → ${later + 1}, \\d+ proof hashes`));
    // An older entry verifies against the same newest checkpoint.
    const old = await verify(page, later - 5);
    expect(old.verdict).toBe('pass');
    await page.context().close();
  }, 120_000);

  it('fails visibly when the served checkpoint’s root is altered', async () => {
    const proxy = await startTamperingProxy(new URL(reg.url), (path, body) => {
      if (path !== '/log/checkpoint') return body;
      const lines = body.split('\n');
      lines[2] = Buffer.alloc(32, 0xab).toString('base64');
      return lines.join('\n');
    });
    proxies.push(proxy.server);
    const page = await explorer(proxy.url);
    const outcome = await verify(page, await newestIndex(page));
    expect(outcome.verdict).toBe('fail');
    expect(stepState(outcome, 'Log key pinned')).toBe('pass');
    expect(stepState(outcome, 'Checkpoint signature')).toBe('fail');
    expect(outcome.steps.find((s) => s.text.includes('Checkpoint signature'))?.text).toContain('does not verify');
    await expect(page.locator('[data-verdict="fail"]').innerText()).resolves.toContain('FAILED');
    await expect(page.locator('[data-verdict="fail"] [role="img"]').getAttribute('aria-label')).resolves.toBe('Verification: failed');
    await expectCleanPage(page, 'log-tampered-checkpoint');
    await page.context().close();
  }, 120_000);

  it('fails visibly when one hash of the served inclusion proof is altered, though the checkpoint verifies', async () => {
    const proxy = await startTamperingProxy(new URL(reg.url), (path, body) => {
      if (!path.startsWith('/api/v1/log/proof/inclusion')) return body;
      const proof = JSON.parse(body) as { proof: string[] };
      const [head = ''] = proof.proof;
      proof.proof[0] = (head.startsWith('0') ? '1' : '0') + head.slice(1);
      return JSON.stringify(proof);
    });
    proxies.push(proxy.server);
    const page = await explorer(proxy.url);
    const outcome = await verify(page, (await newestIndex(page)) - 2);
    expect(outcome.verdict).toBe('fail');
    expect(stepState(outcome, 'Checkpoint signature')).toBe('pass');
    expect(stepState(outcome, 'leaf hash recomputed')).toBe('pass');
    expect(stepState(outcome, 'Inclusion proof recomputed')).toBe('fail');
    expect(outcome.steps.find((s) => s.text.includes('Inclusion proof'))?.text).toContain('not to the root of the tree');
    await expectCleanPage(page, 'log-tampered-proof');
    await page.context().close();
  }, 120_000);

  it('fails visibly when the served entry bundle is altered: the entry no longer hashes to the hash tile’s leaf', async () => {
    const proxy = await startTamperingProxy(new URL(reg.url), (path, body) => (path.startsWith('/log/tile/entries/') ? body.replaceAll('"type":"', '"typf":"') : body));
    proxies.push(proxy.server);
    const page = await explorer(proxy.url);
    const outcome = await verify(page, (await newestIndex(page)) - 1);
    expect(outcome.verdict).toBe('fail');
    expect(stepState(outcome, 'Checkpoint signature')).toBe('pass');
    expect(stepState(outcome, 'leaf hash recomputed')).toBe('fail');
    expect(outcome.steps.find((s) => s.text.includes('leaf hash recomputed'))?.text).toMatch(/but tile\/0\/000(\.p\/\d+)? holds [0-9a-f]{64}/);
    await expect(page.locator('[data-verdict="fail"]').innerText()).resolves.toContain('FAILED');
    await expectCleanPage(page, 'log-tampered-tiles');
    await page.context().close();
  }, 120_000);

  it('warns when the log is not consistent with the checkpoint this browser saw, and refuses a log key other than the pinned one', async () => {
    const page = await explorer(reg.url);
    const index = await newestIndex(page);
    const origin = await page.locator('[data-log-verifier]').getAttribute('data-origin');
    // This browser "saw" a checkpoint of the same size with another root: the log was rewritten.
    await page.evaluate(
      ([key, size]) => {
        (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(key, JSON.stringify({ size, root: 'cd'.repeat(32) }));
      },
      [`custody.log.seen:${origin ?? ''}`, String(index)] as const,
    );
    const outcome = await verify(page, index);
    expect(outcome.verdict).toBe('fail');
    expect(outcome.steps.slice(0, 4).map((s) => s.state)).toEqual(['pass', 'pass', 'pass', 'pass']);
    expect(stepState(outcome, 'Consistent with the last checkpoint')).toBe('fail');
    await expect(page.getByRole('alert').innerText()).resolves.toContain('not consistent with the checkpoint this browser saw before');
    await expectCleanPage(page, 'log-inconsistent');

    await page.evaluate(
      ([key]) => {
        (globalThis as unknown as { localStorage: { setItem(k: string, v: string): void } }).localStorage.setItem(key, `${key.split(':')[1] ?? ''}+00000000+AQ==`);
      },
      [`custody.log.pinnedKey:${origin ?? ''}`] as const,
    );
    const rotated = await verify(page, index);
    expect(rotated.verdict).toBe('fail');
    expect(rotated.steps.map((s) => s.state)).toEqual(['fail']);
    expect(rotated.steps[0]?.text).toContain('this browser pinned');
    await page.context().close();
  }, 120_000);
});

describe('the log explorer in Chromium with log.publicReads off', () => {
  let reg: TestRegistry;
  let browser: Browser;

  beforeAll(async () => {
    await ensureChromium();
    reg = await startTestRegistry('sqlite', { log: { publicReads: false } });
    // A few more entries than the bootstrap's, so the proof has hashes to recompute.
    await createPrincipal(reg, 'someone', 'user', [{ role: 'viewer' }]);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await reg.stop();
  });

  it('verifies an entry through the session copies of the checkpoint, tiles and proofs (the API would want a token)', async () => {
    expect((await fetch(`${reg.url}/log/checkpoint`)).status).toBe(401);
    const page = await newPage(browser);
    await page.goto(`${reg.url}/log/explorer`);
    await page.getByLabel('API token').fill(reg.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${reg.url}/log/explorer`);
    await page.locator('button[data-verify-index]:not([disabled])').first().waitFor();
    const index = Number(await page.locator('button[data-verify-index]').first().getAttribute('data-verify-index'));
    const outcome = await verify(page, index);
    expect(outcome.steps.map((s) => s.state), JSON.stringify(outcome.steps)).toEqual(['pass', 'pass', 'pass', 'pass', 'pass']);
    expect(outcome.verdict).toBe('pass');
    const diagnostics = pageDiagnostics(page);
    expect([...diagnostics.cspViolations, ...diagnostics.pageErrors, ...diagnostics.consoleErrors]).toEqual([]);
    await page.context().close();
  }, 120_000);
});
