/**
 * The version page's verified metadata table and attestation list (reference/ui-screens.md §2.2,
 * issue 8 §1) over real HTTP on both metadata stores: the rows are exactly what the JSON API's
 * `GET …/attestations` and `GET …/metadata` return for the same version (both render the same
 * service calls), predicate fields are escaped, and an attestation whose key was revoked as
 * compromised before it was logged shows REVOKED with the service's reason.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/ui/html.js';
import { attestSeed, pushModel, setUpSeed, type PushedVersion, type Seed } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, signBundle } from '../support/trust-fixtures.js';

const XSS = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">';
const NOTE_TYPE = 'https://example.test/attestation/note/v1';

async function page(reg: TestRegistry, path: string, cookie?: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${reg.url}${path}`, { redirect: 'manual', headers: cookie === undefined ? {} : { cookie } });
  return { status: response.status, text: await response.text() };
}

async function signIn(reg: TestRegistry): Promise<string> {
  const response = await fetch(`${reg.url}/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token: reg.token, next: '/models' }).toString(),
  });
  expect(response.status).toBe(303);
  return (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

/** The HTML of the page's `<section … data-section="name">`. */
function section(text: string, name: string): string {
  const found = new RegExp(`<section [^>]*data-section="${name}">([\\s\\S]*?)</section>`).exec(text)?.[1];
  if (found === undefined) throw new Error(`no ${name} section on the page`);
  return found;
}

interface ApiAttestation {
  readonly predicateType: string;
  readonly key: string;
  readonly keyId: string;
  readonly logIndex: number;
  readonly status: { readonly valid: boolean; readonly code?: string; readonly message?: string };
}

interface ApiRow {
  readonly field: string;
  readonly value: unknown;
  readonly status: string;
  readonly source: { readonly key: string; readonly logIndex: number } | null;
}

function attestationRows(text: string): { line: string; row: string }[] {
  return [...section(text, 'attestations').matchAll(/<tr id="attestation-\d+" data-predicate-type="([^"]*)" data-key="([^"]*)" data-key-id="([^"]*)" data-log-index="(\d+)" data-validity="([a-z]+)">([\s\S]*?)<\/tr>/g)].map((m) => ({
    line: `${m[1] ?? ''} ${m[2] ?? ''} ${m[3] ?? ''} ${m[4] ?? ''} ${m[5] ?? ''}`,
    row: m[6] ?? '',
  }));
}

function expectedAttestation(a: ApiAttestation): string {
  const validity = a.status.valid ? 'valid' : a.status.code === 'KEY_REVOKED' ? 'revoked' : 'invalid';
  return `${escapeHtml(a.predicateType)} ${escapeHtml(a.key)} ${a.keyId} ${a.logIndex} ${validity}`;
}

describe.each(BACKENDS)('the version page trust sections on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let version: PushedVersion;
  let other: PushedVersion;
  let cookie: string;

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    seed = await setUpSeed(reg);
    version = await pushModel(reg, 'fraud/detector', seed.keys.training);
    await attestSeed(reg, version, seed.keys, { redteam: 'PENDING' });

    // A second version: a note whose predicate carries a script, and one from a key revoked as compromised.
    other = await pushModel(reg, 'fraud/trust', seed.keys.training);
    const noter = makeKey('noter');
    const leaked = makeKey('leaked');
    expect((await addKey(reg, noter, [NOTE_TYPE])).status).toBe(201);
    const added = await addKey(reg, leaked, [NOTE_TYPE]);
    expect(added.status).toBe(201);
    for (const [key, note] of [[noter, XSS], [leaked, 'signed with a key that leaked']] as const) {
      const reply = await api(reg, 'POST', `/api/v1/models/fraud/trust/versions/${other.digest}/attestations`, { bundle: signBundle(key, other.digest, NOTE_TYPE, { note }) });
      expect(reply.status, JSON.stringify(reply.json)).toBe(201);
    }
    const revoked = await api(reg, 'POST', '/api/v1/keys/leaked/revoke', { reason: 'private key leaked', compromisedSince: added.json['addedAt'] });
    expect(revoked.status, JSON.stringify(revoked.json)).toBe(200);
    cookie = await signIn(reg);
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('lists exactly the attestations the API lists: predicate type, signer key, log index and validity', async () => {
    const reply = await page(reg, `/models/fraud/detector/versions/${version.digest}`, cookie);
    expect(reply.status, reply.text).toBe(200);
    const listed = await api(reg, 'GET', `/api/v1/models/fraud/detector/versions/${version.digest}/attestations`);
    expect(listed.status).toBe(200);
    const items = listed.json['items'] as ApiAttestation[];
    // Provenance, scan, sandbox, red team.
    expect(items).toHaveLength(4);
    const rows = attestationRows(reply.text);
    expect(rows.map((r) => r.line)).toEqual(items.map(expectedAttestation));
    for (const { row } of rows) {
      expect(row).toContain('aria-label="Attestation valid"><span aria-hidden="true">✓</span> PASS</span> valid');
      expect(row).toContain('data-subject-match="true"');
      expect(row).toMatch(/<details><summary>Statement<\/summary><pre>\{/);
    }
    // Attestations sit between the gate checklist and the files.
    const order = ['class="gate-card"', 'data-section="verified-metadata"', 'data-section="attestations"', '<h2>Files</h2>'].map((marker) => reply.text.indexOf(marker));
    expect(order.every((at) => at >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('shows exactly the verified metadata the API returns, each with its source attestation and key', async () => {
    const reply = await page(reg, `/models/fraud/detector/versions/${version.digest}`, cookie);
    const metadata = await api(reg, 'GET', `/api/v1/models/fraud/detector/versions/${version.digest}/metadata`);
    expect(metadata.status).toBe(200);
    const expected = [...(metadata.json['seed'] as ApiRow[]), ...(metadata.json['training'] as ApiRow[])];
    const table = section(reply.text, 'verified-metadata');
    const rows = [...table.matchAll(/<tr data-field="([^"]*)" data-status="([a-z]+)" data-source-log-index="(\d*)" data-source-key="([^"]*)">([\s\S]*?)<\/tr>/g)];
    expect(rows.map((m) => `${m[1] ?? ''} ${m[2] ?? ''} ${m[3] ?? ''} ${m[4] ?? ''}`)).toEqual(
      expected.map((r) => `${r.field} ${r.status} ${r.source?.logIndex ?? ''} ${r.source?.key ?? ''}`),
    );
    expect(expected.filter((r) => r.status === 'verified').map((r) => r.field)).toEqual(
      expect.arrayContaining(['model_sha256', 'training_data_hash', 'source_code_commit', 'vulnerability_scan_id', 'sandbox_test_result']),
    );
    for (const [i, m] of rows.entries()) {
      const want = expected[i];
      if (want === undefined || want.status === 'missing') continue;
      const text = typeof want.value === 'string' ? want.value : JSON.stringify(want.value);
      expect(m[5], want.field).toContain(`<code>${escapeHtml(text)}</code>`);
    }
  });

  it('escapes a predicate field holding a script, in the decoded statement', async () => {
    const reply = await page(reg, `/models/fraud/trust/versions/${other.digest}`, cookie);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.text).not.toContain('<script>window.__pwned');
    expect(reply.text).not.toContain('<img src=x');
    const note = attestationRows(reply.text).find((r) => r.line.includes(' noter '));
    if (note === undefined) throw new Error('no row for the noter key');
    expect(note.row).toContain(escapeHtml(JSON.stringify(XSS)));
  });

  it('shows an attestation whose key was revoked as compromised as REVOKED, with the reason', async () => {
    const reply = await page(reg, `/models/fraud/trust/versions/${other.digest}`, cookie);
    const listed = await api(reg, 'GET', `/api/v1/models/fraud/trust/versions/${other.digest}/attestations`);
    const items = listed.json['items'] as ApiAttestation[];
    const rows = attestationRows(reply.text);
    expect(rows.map((r) => r.line)).toEqual(items.map(expectedAttestation));
    const leaked = items.find((a) => a.key === 'leaked');
    expect(leaked?.status.code).toBe('KEY_REVOKED');
    const row = rows.find((r) => r.line.includes(' leaked '));
    if (row === undefined || leaked?.status.message === undefined) throw new Error('no row for the leaked key');
    expect(row.line).toMatch(/ revoked$/);
    expect(row.row).toContain('⊘</span> REVOKED');
    expect(row.row).toContain(escapeHtml(leaked.status.message));
    expect(row.row).toContain('private key leaked');
    // The other signer's attestation stays valid.
    expect(rows.find((r) => r.line.includes(' noter '))?.line).toMatch(/ valid$/);
  });
});
