/**
 * The policy page in real Chromium (reference/ui-screens.md §2.4, issue 8 §4): the admin proposes
 * a production policy over the API; the second policy admin signs in through the form, finds the
 * pending proposal on /policy, approves it by clicking, and sees it active, as the API then
 * reports it; the second policy admin also rejects another proposal by writing a reason and
 * clicking Reject, and sees it REJECTED in the history with the reason; and follows a proposal's
 * link to what it would change (a version in staging whose promotion it would allow). The page, before and
 * after, raises no CSP violation or script error, axe finds no serious or critical violation, and
 * each state is saved to test-results/screenshots/.
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, expectCleanPage, launchBrowser, newSignedInPage } from '../support/browser.js';
import { attestSeed, promoteExpecting, proposeProduction, pushModel, type Seed, setUpSeed, withFirstGateMessage } from '../support/promotion-fixtures.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api } from '../support/trust-fixtures.js';

describe('the policy page in Chromium', () => {
  let reg: TestRegistry;
  let browser: Browser;
  let seed: Seed;
  let proposalId: string;
  let proposalDigest: string;

  beforeAll(async () => {
    await ensureChromium();
    reg = await startTestRegistry('sqlite');
    seed = await setUpSeed(reg);
    const proposal = await proposeProduction(reg, withFirstGateMessage('Critical vulnerabilities block production'));
    proposalId = String(proposal['id']);
    proposalDigest = String(proposal['digest']);
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await reg.stop();
  });

  it('lets the second policy admin approve a pending proposal by clicking, and shows it active', async () => {
    const page = await newSignedInPage(browser, `${reg.url}/policy`, seed.principals.approver);

    const proposal = page.locator(`#proposal-${proposalId}`);
    await expect(proposal.innerText()).resolves.toContain('Proposed');
    await expect(page.locator('#policy-production-pending').innerText()).resolves.toBe('Pending proposals');
    await expectCleanPage(page, 'policy');

    await proposal.getByRole('button', { name: /^Approve policy #\d+ for production$/ }).click();
    await page.waitForURL((url) => url.pathname === '/policy' && url.searchParams.get('approved') === proposalId);
    await expect(page.getByRole('status').innerText()).resolves.toMatch(/^Approved: policy #\d+ is now active in production/);
    await expect(page.locator(`#proposal-${proposalId}`).count()).resolves.toBe(0);
    const production = page.locator('section[aria-labelledby="policy-production"]');
    await expect(production.locator('dl.facts').first().innerText()).resolves.toContain(proposalDigest);
    await expect(production.locator('dl.facts').first().innerText()).resolves.toMatch(/Activated\s+by second-admin \(approval\)/);
    await expectCleanPage(page, 'policy-approved');

    const shown = await api(reg, 'GET', '/api/v1/environments/production/policy');
    const active = shown.json['active'] as Record<string, unknown>;
    expect(active['id']).toBe(proposalId);
    expect(active['approvedBy']).toBe('second-admin');
    await page.close();
  });

  it('lets the second policy admin reject a pending proposal with a reason by clicking, and shows it REJECTED', async () => {
    const proposed = await proposeProduction(reg, withFirstGateMessage('Any critical vulnerability is fine'));
    const id = String(proposed['id']);
    const number = Number(proposed['number']);
    const page = await newSignedInPage(browser, `${reg.url}/policy`, seed.principals.approver);

    const proposal = page.locator(`#proposal-${id}`);
    await proposal.getByLabel(/^Reason for rejecting it/).fill('Lets critical vulnerabilities into production');
    await proposal.getByRole('button', { name: `Reject policy #${number} for production` }).click();
    await page.waitForURL((url) => url.pathname === '/policy' && url.searchParams.get('rejected') === id);
    await expect(page.getByRole('status').innerText()).resolves.toBe(`Rejected: production policy #${number} will not become active (log index ${String(await rejectionIndex(id))}).`);
    await expect(page.locator(`#proposal-${id}`).count()).resolves.toBe(0);
    const row = await page.locator(`#policy-production-${number}`).innerText();
    expect(row).toContain('REJECTED');
    expect(row).toContain('by second-admin');
    expect(row).toContain('Reason: Lets critical vulnerabilities into production');
    await expectCleanPage(page, 'policy-rejected');
    await page.close();
  });

  it('opens a proposal’s preview from the policy page and reads which verdict it would change', async () => {
    const bravo = await pushModel(reg, 'fraud/bravo', seed.keys.training);
    await attestSeed(reg, bravo, seed.keys, { redteam: 'PENDING' });
    await promoteExpecting(reg, bravo, 'staging', seed.principals.ci, 'allow');
    const proposal = await proposeProduction(reg, (document) => {
      document.spec.gates = document.spec.gates.filter((g) => g.name !== 'red-team-approved');
      document.spec.tests = document.spec.tests.filter((t) => !t.name.includes('red-team'));
    });
    const id = String(proposal['id']);
    const page = await newSignedInPage(browser, `${reg.url}/policy`, seed.principals.approver);
    await page.locator(`#proposal-${id}`).getByRole('link', { name: /verdicts would change/ }).click();
    await page.waitForURL((url) => url.pathname === `/policy/production/proposals/${id}/preview`);
    const row = page.locator('tr[data-kind="candidate"]');
    await expect(row.count()).resolves.toBe(1);
    await expect(row.innerText()).resolves.toMatch(/fraud\/bravo v1[\s\S]*denied[\s\S]*allowed/);
    await expectCleanPage(page, 'policy-preview');
    await page.close();
  });

  /** The log index of a policy's rejection, as the API's history reports it. */
  async function rejectionIndex(id: string): Promise<number> {
    const history = await api(reg, 'GET', '/api/v1/environments/production/policy/history');
    const item = (history.json['items'] as { id: string; status: string; rejection?: { logIndex: number } }[]).find((p) => p.id === id);
    expect(item?.status).toBe('rejected');
    return item?.rejection?.logIndex ?? -1;
  }
});
