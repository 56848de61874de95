/**
 * The keys page and the audit feed in real Chromium (issue 8 §4 "revoke a key and see the
 * quarantine"): a key admin opens the keys list, follows a key's revoke link, previews the
 * placements a revocation compromised since before its scans would quarantine, confirms with a
 * reason and sees the key revoked — and the API shows exactly the previewed quarantines. The
 * audit feed is filtered through its form. Every page is free of CSP violations, script and
 * console errors and serious axe violations, and saved to test-results/screenshots/ (`keys`,
 * `key-detail`, `keys-revoke`, `audit`); the key detail page is reached by clicking a key's link.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureChromium, expectCleanPage, launchBrowser, newSignedInPage } from '../support/browser.js';
import { activatePolicy, attest, attestSeed, editablePolicy, examplePolicy, loggedEvents, promoteExpecting, pushModel, scanPredicate, setUpSeed, type PushedVersion } from '../support/promotion-fixtures.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, VULNS } from '../support/trust-fixtures.js';

describe('the keys page and the audit feed in Chromium', () => {
  let reg: TestRegistry;
  let browser: Browser;
  let alpha: PushedVersion;
  let bravo: PushedVersion;
  let compromisedSince: Date;

  beforeAll(async () => {
    await ensureChromium();
    reg = await startTestRegistry('sqlite');
    const seed = await setUpSeed(reg, []);
    const scanner2 = makeKey('security-scanner-2');
    await addKey(reg, scanner2, [VULNS]);
    for (const name of ['staging', 'production'] as const) {
      const example = await examplePolicy(name);
      const doc = editablePolicy(example.document);
      const scan = doc.spec.attestations['scan'];
      if (scan === undefined) throw new Error('the shipped policy has no scan requirement');
      scan.signers = ['security-scanner', scanner2.name];
      await activatePolicy(reg, doc, example.fixtures, seed.principals.approver);
    }
    alpha = await pushModel(reg, 'fraud/alpha', seed.keys.training);
    bravo = await pushModel(reg, 'fraud/bravo', seed.keys.training);
    const charlie = await pushModel(reg, 'fraud/charlie', seed.keys.training);
    // The revoke form takes whole seconds: the scans come after the next full second.
    compromisedSince = new Date(Math.floor(Date.now() / 1000) * 1000);
    await new Promise((resolve) => setTimeout(resolve, 1000 - (Date.now() % 1000) + 5));
    await attestSeed(reg, alpha, seed.keys);
    await attest(reg, bravo, seed.keys.scanner, VULNS, scanPredicate('clean'));
    await attestSeed(reg, charlie, seed.keys, { signers: { scanner: scanner2 } });
    for (const version of [alpha, bravo, charlie]) await promoteExpecting(reg, version, 'staging', seed.principals.ci, 'allow');
    for (const version of [alpha, charlie]) await promoteExpecting(reg, version, 'production', seed.principals.ci, 'allow');
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser.close();
    await reg.stop();
  });

  const signedInPage = (path: string): Promise<Page> => newSignedInPage(browser, `${reg.url}${path}`, reg.token);

  it('lists the signer keys with their status and scope', async () => {
    const page = await signedInPage('/keys');
    await expect(page.getByRole('heading', { name: 'Signer keys' }).count()).resolves.toBe(1);
    await expect(page.getByRole('img', { name: 'Active' }).count()).resolves.toBe(5);
    await expect(page.getByRole('link', { name: 'Keys', exact: true }).getAttribute('aria-current')).resolves.toBe('page');
    await expectCleanPage(page, 'keys');
    await page.close();
  });

  it('opens a key\'s detail page from the keys list, with its public key and what it signed', async () => {
    const page = await signedInPage('/keys');
    await page.getByRole('link', { name: 'security-scanner', exact: true }).click();
    await page.waitForURL(`${reg.url}/keys/security-scanner`);
    await expect(page.getByRole('heading', { name: 'Key security-scanner' }).count()).resolves.toBe(1);
    await expect(page.locator('pre code').innerText()).resolves.toContain('-----BEGIN PUBLIC KEY-----');
    const signed = page.getByRole('table');
    await expect(signed.locator('caption').innerText()).resolves.toBe('2 attestations signed, newest first');
    const versions = await signed.locator('tbody th a').allInnerTexts();
    expect(versions.sort()).toEqual([`${alpha.model} v${alpha.number}`, `${bravo.model} v${bravo.number}`].sort());
    await expectCleanPage(page, 'key-detail');
    await page.close();
  });

  it('revokes a key through the form after previewing the versions it quarantines', async () => {
    const page = await signedInPage('/keys');
    await page.getByRole('link', { name: 'Revoke security-scanner…' }).click();
    await page.waitForURL(`${reg.url}/keys/security-scanner/revoke`);
    await expect(page.getByText('No version would be quarantined').count()).resolves.toBe(1);
    await page.getByLabel('Compromised since (UTC, optional)').fill(compromisedSince.toISOString().slice(0, 19));
    await page.getByRole('button', { name: 'Preview' }).click();
    await page.waitForURL(/compromisedSince=/);
    const preview = page.getByRole('table');
    await expect(preview.locator('caption').innerText()).resolves.toBe('3 placements would be quarantined');
    const rows: string[] = [];
    for (const tr of await preview.locator('tbody tr').all()) rows.push(`${await tr.locator('th').innerText()}:${await tr.locator('td').nth(1).innerText()}`);
    expect(rows.sort()).toEqual([`${alpha.model}:production`, `${alpha.model}:staging`, `${bravo.model}:staging`].sort());
    await expectCleanPage(page, 'keys-revoke');

    await page.getByLabel('Reason (required, logged)').fill('scanner credentials leaked');
    await page.getByRole('button', { name: 'Revoke security-scanner and quarantine 3' }).click();
    await page.waitForURL(`${reg.url}/keys?revoked=security-scanner`);
    await expect(page.getByRole('status').innerText()).resolves.toContain('security-scanner is revoked');
    await expect(page.getByRole('img', { name: /^Revoked at / }).count()).resolves.toBe(1);
    await expectCleanPage(page, 'keys-revoked');

    const events = await loggedEvents(reg, 'version.quarantined');
    expect(events.map((e) => `${String(e['model'])}:${String(e['environment'])}`).sort()).toEqual(rows);
    expect((await api(reg, 'GET', '/api/v1/keys/security-scanner')).json).toMatchObject({ status: 'revoked', revocation: { reason: 'scanner credentials leaked', compromisedSince: compromisedSince.toISOString() } });
    await page.close();
  });

  it('shows the audit feed and narrows it with the filter form', async () => {
    const page = await signedInPage('/audit');
    await expect(page.getByRole('heading', { name: 'Audit feed' }).count()).resolves.toBe(1);
    await page.getByLabel('Event type').selectOption('version.quarantined');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/type=version\.quarantined/);
    const types = await page.locator('tbody tr td:nth-child(3)').allInnerTexts();
    expect(types).toEqual(['version.quarantined', 'version.quarantined', 'version.quarantined']);
    await page.goto(`${reg.url}/audit`);
    await expectCleanPage(page, 'audit');
    await page.close();
  });
});
