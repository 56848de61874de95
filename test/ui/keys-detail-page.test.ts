/**
 * The keys page's "attestations signed" and "last used" columns and the key detail page over
 * real HTTP (issue 8 §1 keys page, reference/ui-screens.md §2.5), on both metadata stores: the
 * counts equal `GET /api/v1/keys`'s and the attestations actually made; the detail page shows the
 * PEM, scope and status (with the revocation's reason) and lists what the key signed newest
 * first, 25 per page or `limit` per page, through opaque cursors (a garbled one is 400
 * VALIDATION_FAILED); a reader bound to one namespace counts and sees only attestations on
 * versions there; an unknown key is the UI's 404, and a principal that may not read models gets
 * the same 403 as from the API.
 *
 * The tests share one registry and run in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attest, createPrincipal, pushModel, scanPredicate, type PushedVersion } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, SLSA, VULNS } from '../support/trust-fixtures.js';
import { page, signIn, signInCookie, type UiSessionCookie } from '../support/ui-session.js';

type Json = Record<string, unknown>;

/** What the keys page shows for `name`: its attestation count and last-used instant (or null). */
function usageOnKeysPage(text: string, name: string): { count: number; lastSignedAt: string | null } {
  const row = text.split('</tr>').find((r) => r.includes(`<a href="/keys/${name}">${name}</a>`));
  if (row === undefined) throw new Error(`no row for key ${name}`);
  // Cells after the row header: algorithm, scope, status, attestations signed, last used, added.
  const cells = row.split('<td>').slice(1);
  const count = Number(/^(\d+)<\/td>/.exec(cells[3] ?? '')?.[1]);
  const last = /^<time datetime="([^"]+)">/.exec(cells[4] ?? '')?.[1] ?? null;
  if (last === null && !(cells[4] ?? '').startsWith('<span class="muted">never</span>')) throw new Error(`unexpected last-used cell for ${name}`);
  return { count, lastSignedAt: last };
}

/** The rows of the detail page's "signed by this key" table: version link and log index. */
function signedRows(text: string): { version: string; logIndex: number }[] {
  const body = text.slice(text.indexOf('<tbody>'), text.indexOf('</tbody>'));
  return [...body.matchAll(/<th scope="row"><a href="([^"]+)">[^<]*<\/a>[\s\S]*?<td><a href="\/log\/explorer\?before=\d+">(\d+)<\/a><\/td>/g)].map((m) => ({
    version: m[1] ?? '',
    logIndex: Number(m[2]),
  }));
}

/** The "Older attestations" link's target, unescaped, or null on the last page. */
function olderLink(text: string): string | null {
  const href = /<a href="([^"]+)">Older attestations<\/a>/.exec(text)?.[1];
  return href === undefined ? null : href.replaceAll('&amp;', '&');
}

/** Walks the detail page of `key` from `start` through every "Older attestations" link. */
async function walk(reg: TestRegistry, session: UiSessionCookie, start: string): Promise<{ rows: { version: string; logIndex: number }[]; pages: number }> {
  const rows: { version: string; logIndex: number }[] = [];
  let next: string | null = start;
  let pages = 0;
  while (next !== null && pages < 50) {
    const reply = await page(reg, next, { cookie: session.cookie });
    expect(reply.status, reply.text).toBe(200);
    rows.push(...signedRows(reply.text));
    next = olderLink(reply.text);
    pages++;
  }
  return { rows, pages };
}

function versionHref(v: PushedVersion): string {
  return `/models/${v.model}/versions/${encodeURIComponent(v.digest)}`;
}

describe.each(BACKENDS)('keys page counts and key detail page on %s', (backend) => {
  let reg: TestRegistry;
  let alpha: PushedVersion;
  let beta: PushedVersion;
  /** Every attestation the scanner signed, newest (highest log index) first. */
  let scans: { version: PushedVersion; logIndex: number; loggedAt: string }[];
  let fraudReaderToken: string;
  const trainer = makeKey('trainer');
  const scanner = makeKey('scanner');
  const idle = makeKey('idle');

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    await addKey(reg, trainer, [SLSA]);
    await addKey(reg, scanner, [VULNS]);
    await addKey(reg, idle, [VULNS]);
    // The provenance of each push is an attestation by the trainer.
    alpha = await pushModel(reg, 'fraud/alpha', trainer);
    beta = await pushModel(reg, 'vision/beta', trainer);
    const made: { version: PushedVersion; logIndex: number; loggedAt: string }[] = [];
    // 27 distinct scans: 22 of fraud/alpha and 5 of vision/beta, interleaved.
    for (let i = 0; i < 27; i++) {
      const version = i % 5 === 2 ? beta : alpha;
      const stored = await attest(reg, version, scanner, VULNS, { ...scanPredicate('clean'), invocation: { uri: `https://ci.example.com/scans/${i}` } });
      made.push({ version, logIndex: Number(stored['logIndex']), loggedAt: String(stored['loggedAt']) });
    }
    scans = made.sort((a, b) => b.logIndex - a.logIndex);
    fraudReaderToken = await createPrincipal(reg, `fraud-reader-${backend}`, 'user', [{ role: 'viewer', namespaces: ['fraud'] }]);
  }, 180_000);

  afterAll(async () => {
    await reg.stop();
  });

  it('shows on the keys page the attestations each key signed and when it last did, as GET /api/v1/keys does', async () => {
    const newest = scans[0]?.loggedAt ?? '';
    expect(scans.filter((s) => s.version === beta)).toHaveLength(5);
    const keys = (await api(reg, 'GET', '/api/v1/keys')).json['items'] as Json[];
    const fromApi = Object.fromEntries(keys.map((k) => [String(k['name']), { count: k['attestationCount'], lastSignedAt: k['lastSignedAt'] }]));
    expect(fromApi).toEqual({
      idle: { count: 0, lastSignedAt: null },
      scanner: { count: 27, lastSignedAt: newest },
      trainer: { count: 2, lastSignedAt: expect.any(String) as unknown },
    });

    const admin = await signIn(reg, reg.token, '/keys');
    const keysPage = await page(reg, '/keys', { cookie: admin.cookie });
    expect(keysPage.status).toBe(200);
    expect(keysPage.text).toContain('<th scope="col">Attestations signed</th><th scope="col">Last used</th>');
    for (const name of ['idle', 'scanner', 'trainer']) expect(usageOnKeysPage(keysPage.text, name), name).toEqual(fromApi[name]);
  });

  it('counts only the namespaces a namespace-bound reader may read, on the page and in the API alike', async () => {
    const keys = (await api(reg, 'GET', '/api/v1/keys', undefined, fraudReaderToken)).json['items'] as Json[];
    const scannerItem = keys.find((k) => k['name'] === 'scanner');
    const newestInFraud = scans.find((s) => s.version === alpha)?.loggedAt;
    expect(scannerItem).toMatchObject({ attestationCount: 22, lastSignedAt: newestInFraud });
    expect(keys.find((k) => k['name'] === 'trainer')).toMatchObject({ attestationCount: 1 });

    const reader = await signIn(reg, fraudReaderToken, '/keys');
    const keysPage = await page(reg, '/keys', { cookie: reader.cookie });
    expect(usageOnKeysPage(keysPage.text, 'scanner')).toEqual({ count: 22, lastSignedAt: newestInFraud });
    expect(usageOnKeysPage(keysPage.text, 'trainer')).toMatchObject({ count: 1 });

    const detail = await walk(reg, reader, '/keys/scanner');
    expect(detail.rows).toEqual(scans.filter((s) => s.version === alpha).map((s) => ({ version: versionHref(alpha), logIndex: s.logIndex })));
    const first = await page(reg, '/keys/scanner', { cookie: reader.cookie });
    expect(first.text).not.toContain('vision/beta');
    expect(first.text).toContain('22 attestations signed on versions in namespaces you may read');
  });

  it('shows a key\'s PEM, scope and status, and lists what it signed newest first, 25 to a page', async () => {
    const admin = await signIn(reg, reg.token, '/keys');
    const keysPage = await page(reg, '/keys', { cookie: admin.cookie });
    expect(keysPage.text).toContain('<a href="/keys/scanner">scanner</a>');

    const detail = await page(reg, '/keys/scanner', { cookie: admin.cookie });
    expect(detail.status, detail.text).toBe(200);
    expect(detail.text).toContain('<h1>Key scanner</h1>');
    expect(detail.text).toContain(`<pre><code>${scanner.publicKeyPem.trim()}`);
    expect(detail.text).toContain(`sha256:${scanner.keyId}`);
    expect(detail.text).toContain(`<code>${VULNS}</code>`);
    expect(detail.text).toContain('aria-label="Active"');
    expect(detail.text).toContain('27 attestations signed, newest first');
    expect(signedRows(detail.text)).toHaveLength(25);

    const all = await walk(reg, admin, '/keys/scanner');
    expect(all.pages).toBe(2);
    expect(all.rows).toEqual(scans.map((s) => ({ version: versionHref(s.version), logIndex: s.logIndex })));

    const small = await walk(reg, admin, '/keys/scanner?limit=2');
    expect(small.pages).toBe(14);
    expect(small.rows).toEqual(all.rows);

    const trainerPage = await page(reg, '/keys/trainer', { cookie: admin.cookie });
    expect(signedRows(trainerPage.text).map((r) => r.version).sort()).toEqual([versionHref(alpha), versionHref(beta)].sort());
    expect(trainerPage.text).toContain('<br><span class="muted">provenance</span>');
  });

  it('refuses a garbled cursor or an out-of-range limit with 400 VALIDATION_FAILED, and an unknown key with the 404 page', async () => {
    const admin = await signIn(reg, reg.token, '/keys');
    const second = olderLink((await page(reg, '/keys/scanner', { cookie: admin.cookie })).text) ?? '';
    const cursor = new URLSearchParams(second.split('?')[1] ?? '').get('cursor') ?? '';
    expect(cursor).not.toBe('');
    const forged = Buffer.from(JSON.stringify(['ka', 'x', 1])).toString('base64url');
    for (const bad of [`${cursor}!`, forged, 'not-base64-json', cursor.slice(0, -3)]) {
      const reply = await page(reg, `/keys/scanner?cursor=${encodeURIComponent(bad)}`, { cookie: admin.cookie });
      expect(reply.status, bad).toBe(400);
      expect(reply.text).toContain('VALIDATION_FAILED');
    }
    for (const limit of ['0', '101', '-1', '2.5', 'ten']) {
      const reply = await page(reg, `/keys/scanner?limit=${limit}`, { cookie: admin.cookie });
      expect(reply.status, limit).toBe(400);
      expect(reply.text).toContain('VALIDATION_FAILED');
    }
    const missing = await page(reg, '/keys/no-such-key', { cookie: admin.cookie });
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('KEY_NOT_FOUND');
    expect((await page(reg, '/keys/scanner')).status).not.toBe(200);
  });

  it('refuses the detail page with 403 to a principal that may not read models, as the API refuses the key', async () => {
    const token = await createPrincipal(reg, `unbound-${backend}`, 'user', []);
    expect((await api(reg, 'GET', '/api/v1/keys/scanner', undefined, token)).status).toBe(403);
    const cookie = await signInCookie(reg, token, '/keys/scanner');
    const refused = await page(reg, '/keys/scanner', { cookie });
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('model:read');
    expect(refused.text).not.toContain('BEGIN PUBLIC KEY');
  });

  it('shows a revoked key\'s revocation and that an unused key signed nothing', async () => {
    const revoked = await api(reg, 'POST', '/api/v1/keys/idle/revoke', { reason: 'retired <b>early</b>' });
    expect(revoked.status).toBe(200);
    const admin = await signIn(reg, reg.token, '/keys');
    const detail = await page(reg, '/keys/idle', { cookie: admin.cookie });
    expect(detail.status).toBe(200);
    expect(detail.text).toContain('aria-label="Revoked at');
    expect(detail.text).toContain('Reason: retired &lt;b&gt;early&lt;/b&gt;');
    expect(detail.text).toContain('0 attestations; last used never.');
    expect(detail.text).toContain('This key has signed no attestation yet.');
  });
});
