/**
 * The lineage page in real Chromium (issue 8 §1 and §4, reference/ui-screens.md §2.3): a family
 * of versions registered with signed training provenance (base → child → grandchild, base →
 * sibling) is drawn as inline SVG whose node links Tab reaches and Enter follows to the version
 * page; the depth and direction controls submit as a GET form and narrow the graph; the edge
 * table opens from its `<details>`. A version whose annotations claim a dataset and a base model
 * shows the claimed dataset node and the dashed edges labelled "claimed". Each page raises no CSP
 * violation, script or console error and no serious axe violation, and is saved as a screenshot
 * (`lineage`, `lineage-claims`).
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, expectCleanPage, launchBrowser, newSignedInPage, pageDiagnostics } from '../support/browser.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, provenancePredicate, signBundle, SLSA, uploadRandomModel } from '../support/trust-fixtures.js';

describe('the lineage page in Chromium', () => {
  let reg: TestRegistry;
  let browser: Browser;
  const trainer = makeKey('trainer');
  const digests: Record<string, string> = {};

  async function push(model: string, parent?: string, claims?: { annotations: unknown }): Promise<void> {
    const uploaded = await uploadRandomModel(reg);
    const parents = parent === undefined ? [] : [{ namespace: 'fraud', name: parent, digest: digests[parent] ?? '' }];
    const predicate = provenancePredicate({ parents, ...(claims === undefined ? {} : { trainingData: null }) });
    const reply = await api(reg, 'POST', `/api/v1/models/fraud/${model}/versions`, { files: uploaded.files, provenance: signBundle(trainer, uploaded.digest, SLSA, predicate), ...claims });
    expect(reply.status, JSON.stringify(reply.json)).toBe(201);
    digests[model] = uploaded.digest;
  }

  beforeAll(async () => {
    await ensureChromium();
    // Training data may be left out of provenance, so that `claimer` has it only as a claim.
    reg = await startTestRegistry('sqlite', { provenance: { requireAtEntry: true, required: ['sourceCommit', 'builderId'] } });
    await addKey(reg, trainer, [SLSA]);
    await push('base');
    await push('child', 'base');
    await push('grandchild', 'child');
    await push('sibling', 'base');
    await push('claimer', undefined, { annotations: { training_data: 'https://data.example.com/reviews-2026.parquet', base_model: `fraud/base@${digests['base'] ?? ''}` } });
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
    await expect(page.locator('svg.lineage g.lineage-edge[data-kind="trained-from"]').count()).resolves.toBe(3);
    // One dataset and one commit node, shared by the four versions, each linked by a verified (solid) edge.
    await expect(page.locator('svg.lineage g.lineage-node[data-kind="dataset"]').count()).resolves.toBe(1);
    await expect(page.locator('svg.lineage g.lineage-node[data-kind="commit"]').count()).resolves.toBe(1);
    await expect(page.locator('svg.lineage g.lineage-edge[data-kind="trained-on"][data-evidence="verified"]').count()).resolves.toBe(4);
    await expect(page.locator('svg.lineage a[aria-current="page"] desc').textContent()).resolves.toContain('fraud/base version 1');
    await page.locator('details summary').click();
    await expect(page.locator('table.lineage-edges tbody tr[data-kind="trained-from"]').count()).resolves.toBe(3);
    await expect(page.locator('table.lineage-edges tbody tr').count()).resolves.toBe(11);
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

  it('shows a claimed dataset node and the dashed edges labelled "claimed" for a version whose annotations claim a dataset and a base model', async () => {
    const page = await signedInPage(lineagePath('claimer', ''));
    const dataset = page.locator('svg.lineage g.lineage-node[data-kind="dataset"]');
    await expect(dataset.count()).resolves.toBe(1);
    await expect(dataset.isVisible()).resolves.toBe(true);
    await expect(dataset.locator('title').textContent()).resolves.toBe('dataset: https://data.example.com/reviews-2026.parquet');
    const claimed = page.locator('svg.lineage g.lineage-edge[data-evidence="claimed"]');
    await expect(claimed.count()).resolves.toBe(2);
    for (const kind of ['trained-on', 'fine-tuned-from']) {
      const edge = page.locator(`svg.lineage g.lineage-edge[data-evidence="claimed"][data-kind="${kind}"]`);
      await expect(edge.locator('path').isVisible()).resolves.toBe(true);
      await expect(edge.locator('path').getAttribute('stroke-dasharray')).resolves.toBe('6 4');
      await expect(edge.locator('text').textContent()).resolves.toBe('claimed');
      await expect(edge.locator('text').isVisible()).resolves.toBe(true);
    }
    // The claimed base model is a registered version: its node is a link.
    await expect(page.locator(`svg.lineage a[href="/models/fraud/base/versions/${encodeURIComponent(digests['base'] ?? '')}"]`).count()).resolves.toBe(1);
    await expect(page.getByText('Dashed line labelled "claimed"').isVisible()).resolves.toBe(true);
    await page.locator('details summary').click();
    await expect(page.locator('table.lineage-edges tbody tr[data-evidence="claimed"]').count()).resolves.toBe(2);
    await expectCleanPage(page, 'lineage-claims');
    await page.close();
  });
});
