/**
 * The lineage page in real Chromium (issue 8 §1 and §4, reference/ui-screens.md §2.3): a family
 * of versions registered with signed training provenance (base → child → grandchild, base →
 * sibling) is drawn as inline SVG whose node links Tab reaches and Enter follows to the version
 * page; the depth and direction controls submit as a GET form and narrow the graph; the edge
 * table opens from its `<details>`. The page raises no CSP violation, script or console error and
 * no serious axe violation, and is saved as a screenshot (`lineage`).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, expectCleanPage, launchBrowser, newSignedInPage, pageDiagnostics } from '../support/browser.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, makeKey, provenancePredicate, register, signBundle, SLSA, uploadRandomModel } from '../support/trust-fixtures.js';

describe('the lineage page in Chromium', () => {
  let reg: TestRegistry;
  let browser: Browser;
  const trainer = makeKey('trainer');
  const digests: Record<string, string> = {};

  async function push(model: string, parent?: string): Promise<void> {
    const uploaded = await uploadRandomModel(reg);
    const parents = parent === undefined ? [] : [{ namespace: 'fraud', name: parent, digest: digests[parent] ?? '' }];
    const reply = await register(reg, `fraud/${model}`, uploaded, { provenance: signBundle(trainer, uploaded.digest, SLSA, provenancePredicate({ parents })) });
    expect(reply.status, JSON.stringify(reply.json)).toBe(201);
    digests[model] = uploaded.digest;
  }

  beforeAll(async () => {
    await ensureChromium();
    reg = await startTestRegistry('sqlite', { provenance: { requireAtEntry: true } });
    await addKey(reg, trainer, [SLSA]);
    await push('base');
    await push('child', 'base');
    await push('grandchild', 'child');
    await push('sibling', 'base');
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await reg.stop();
  });

  const lineagePath = (model: string, query: string): string => `/models/fraud/${model}/versions/${digests[model] ?? ''}/lineage${query}`;

  const signedInPage = (path: string): Promise<Page> => newSignedInPage(browser, `${reg.url}${path}`, reg.token, (url) => url.pathname === path.split('?')[0]);

  it('draws the graph with keyboard-reachable node links, passes axe and the CSP, and is saved as a screenshot', async () => {
    const page = await signedInPage(lineagePath('base', '?depth=2&dir=both'));
    await expect(page.locator('svg.lineage a').count()).resolves.toBe(4);
    await expect(page.locator('svg.lineage g.lineage-edge').count()).resolves.toBe(3);
    await expect(page.locator('svg.lineage a[aria-current="page"] desc').textContent()).resolves.toContain('fraud/base version 1');
    await page.locator('details summary').click();
    await expect(page.locator('table.lineage-edges tbody tr').count()).resolves.toBe(3);
    await expectCleanPage(page, 'lineage');

    // Tab from the top of the page reaches the graph's node links; Enter follows one.
    await page.locator('body').focus();
    const reached: string[] = [];
    for (let i = 0; i < 60 && reached.length < 4; i++) {
      await page.keyboard.press('Tab');
      const focused = page.locator('svg.lineage a:focus');
      const href = (await focused.count()) === 1 ? await focused.getAttribute('href') : null;
      if (href !== null && !reached.includes(href)) reached.push(href);
    }
    expect(reached.sort()).toEqual(['base', 'child', 'grandchild', 'sibling'].map((m) => `/models/fraud/${m}/versions/${encodeURIComponent(digests[m] ?? '')}`).sort());
    const target = (await page.locator('svg.lineage a:focus').getAttribute('href')) ?? '';
    await page.keyboard.press('Enter');
    await page.waitForURL((url) => url.pathname === target);
    await page.close();
  });

  it('narrows the graph through the depth and direction form', async () => {
    const page = await signedInPage(lineagePath('grandchild', ''));
    await expect(page.locator('svg.lineage a').count()).resolves.toBe(3);
    await page.getByLabel('Depth').selectOption('1');
    await page.getByLabel('Direction').selectOption('ancestors');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.waitForURL((url) => url.searchParams.get('depth') === '1' && url.searchParams.get('dir') === 'ancestors');
    await expect(page.locator('svg.lineage a').count()).resolves.toBe(2);
    await expect(page.getByText('The lineage goes on beyond depth 1').count()).resolves.toBe(1);
    const diagnostics = pageDiagnostics(page);
    expect(diagnostics.cspViolations).toEqual([]);
    await page.close();
  });
});
