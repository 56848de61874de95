/**
 * The models list (issue 8 §1; reference/ui-screens.md §2.1) over real HTTP on both metadata
 * stores: the current version per environment as the promotion API reports it, the time of the
 * last promotion, a QUARANTINED pill (text and icon) once a revocation takes a placement out of
 * service, and the number of policy proposals waiting for an approval, linked to the policy page.
 * Then the version page's header and promotion history: the registration's log index, and the
 * decisions and the quarantine, newest first, each with the log index the log holds, linked to
 * the log explorer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestSeed, decisionsOf, environmentsOf, loggedEvents, promoteExpecting, proposeProduction, type PushedVersion, pushModel, type Seed, setUpSeed, withFirstGateMessage } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api } from '../support/trust-fixtures.js';
import { page, signIn } from '../support/ui-session.js';

/** The `<tr>` of `model` in the models table. */
function rowOf(text: string, model: string): string {
  const start = text.indexOf(`>${model}</a></th>`);
  expect(start, `a row for ${model}`).toBeGreaterThanOrEqual(0);
  return text.slice(text.lastIndexOf('<tr>', start), text.indexOf('</tr>', start));
}

/** The row's cells, in order. */
const cellsOf = (row: string): string[] => [...row.matchAll(/<td>([\s\S]*?)<\/td>/g)].map((m) => m[1] ?? '');

describe.each(BACKENDS)('the models list on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let alpha: PushedVersion;
  let cookie: string;

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    seed = await setUpSeed(reg);
    alpha = await pushModel(reg, 'fraud/alpha', seed.keys.training);
    await pushModel(reg, 'fraud/bravo', seed.keys.training);
    await attestSeed(reg, alpha, seed.keys);
    await promoteExpecting(reg, alpha, 'staging', seed.principals.ci, 'allow');
    ({ cookie } = await signIn(reg, reg.token));
  }, 120_000);

  afterAll(async () => {
    await reg.stop();
  });

  it('shows each environment’s current version and the last promotion as the API reports them', async () => {
    const reply = await page(reg, '/models', { cookie });
    expect(reply.status).toBe(200);
    const placed = await environmentsOf(reg, 'fraud/alpha');
    const staging = placed['staging'] as { since: string } | undefined;
    if (staging === undefined) throw new Error('alpha is not in staging');
    // Columns: versions, latest, development, staging, production, last promotion.
    const alphaCells = cellsOf(rowOf(reply.text, 'fraud/alpha'));
    expect(alphaCells[3]).toContain(`title="${alpha.digest}"`);
    expect(alphaCells[3]).toContain(`datetime="${staging.since}"`);
    expect(alphaCells[4]).toContain('—');
    expect(alphaCells[5]).toContain(`datetime="${staging.since}"`);
    expect(alphaCells[5]).toContain('to staging');
    expect(cellsOf(rowOf(reply.text, 'fraud/bravo'))[5]).toContain('never');
  });

  it('counts the policy proposals waiting for approval and links them to the policy page', async () => {
    expect((await page(reg, '/models', { cookie })).text).toContain('No policy proposals are waiting for approval.');
    await proposeProduction(reg, withFirstGateMessage(`A proposal waiting on the models list (${backend})`));
    const proposed = await api(reg, 'GET', '/api/v1/policies/proposed');
    const count = (proposed.json['items'] as unknown[]).length;
    expect(count).toBe(1);
    expect((await page(reg, '/models', { cookie })).text).toContain('<a href="/policy">1 policy proposal is waiting for approval</a>');
  });

  it('marks a placement quarantined, in words and with an icon, once its scanner key is revoked as compromised', async () => {
    expect(rowOf((await page(reg, '/models', { cookie })).text, 'fraud/alpha')).not.toContain('quarantined');
    const revoked = await api(reg, 'POST', `/api/v1/keys/${seed.keys.scanner.name}/revoke`, { reason: 'scanner key leaked', compromisedSince: '2020-01-01T00:00:00Z' });
    expect(revoked.status, JSON.stringify(revoked.json)).toBe(200);
    const staging = cellsOf(rowOf((await page(reg, '/models', { cookie })).text, 'fraud/alpha'))[3] ?? '';
    expect(staging).toContain('aria-label="Quarantined in staging: a signing key it relied on was revoked"');
    expect(staging).toContain('⊘');
    expect(staging).toContain('quarantined');
  });

  it('shows on the version page the registration’s log index and a history of decisions and the quarantine, newest first, with their log indexes', async () => {
    const reply = await page(reg, `/models/fraud/alpha/versions/${alpha.digest}`, { cookie });
    expect(reply.status).toBe(200);
    const registered = (await loggedEvents(reg, 'version.registered', 'fraud/alpha')).find((e) => e['digest'] === alpha.digest);
    if (registered === undefined) throw new Error('no registration logged');
    expect(reply.text).toContain(`<dt>Registration</dt><dd>log entry <a href="/log/explorer?before=${registered.index + 1}">#${registered.index}</a></dd>`);
    const history = reply.text.slice(reply.text.indexOf('<h2>Promotion history</h2>'));
    const rows = [...history.matchAll(/<tr><td><time[^>]*>[^<]*<\/time><\/td><td>([a-z]+)<\/td><td>[\s\S]*?<\/span> (promotion allowed|promotion denied|quarantined:)[\s\S]*?<a href="\/log\/explorer\?before=\d+">#(\d+)<\/a><\/td><\/tr>/g)].map(
      (m) => `${m[1] ?? ''} ${(m[2] ?? '').trim()} #${m[3] ?? ''}`,
    );
    const decisions = await decisionsOf(reg, alpha);
    const quarantined = (await loggedEvents(reg, 'version.quarantined', 'fraud/alpha')).filter((e) => e['version'] === alpha.digest);
    expect(quarantined.length).toBe(1);
    const expected = [
      ...decisions.map((d) => ({ index: Number(d['logIndex']), text: `${String(d['environment'])} promotion ${d['outcome'] === 'allow' ? 'allowed' : 'denied'}` })),
      ...quarantined.map((q) => ({ index: q.index, text: `${String(q['environment'])} quarantined:` })),
    ]
      .sort((a, b) => b.index - a.index)
      .map((e) => `${e.text} #${e.index}`);
    expect(expected.length).toBeGreaterThanOrEqual(2);
    expect(rows).toEqual(expected);
  });
});
