/**
 * "Request promotion" on the version page (reference/ui-screens.md §2.2) over real HTTP on both
 * metadata stores: the button is enabled only for a principal that may promote there and when
 * every check passes, and otherwise disabled with the reason it is described by; posting it
 * decides through the same service as the API (logged decision, moved alias), guarded by the
 * environment's digest when the page was drawn (409 ALIAS_MOVED from a stale page); the seed's
 * service-only rule and RBAC refuse the same posts the API refuses, and the form needs the CSRF
 * token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attestSeed, createPrincipal, decisionsOf, environmentsOf, pushModel, setUpSeed, type PushedVersion, type Seed } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { page, signIn } from '../support/ui-session.js';

const versionPath = (v: PushedVersion): string => `/models/${v.model}/versions/${encodeURIComponent(v.digest)}`;
const promotePath = (v: PushedVersion, environment: string): string => `${versionPath(v)}/promote/${environment}`;

/** The promote control after `environment`'s gate card: `form` (enabled), or the disabled button's reason. */
function control(text: string, environment: string): { kind: 'form'; expectCurrent: string } | { kind: 'disabled'; reason: string } | { kind: 'none' } {
  const card = text.indexOf(`data-environment="${environment}"`);
  expect(card, `a gate card for ${environment}`).toBeGreaterThan(0);
  const after = text.slice(text.indexOf('</section>', card));
  const next = after.indexOf('<section class="gate-card"');
  const tail = next < 0 ? after.slice(0, after.indexOf('<h2>')) : after.slice(0, next);
  const form = /<form class="promote" method="post" action="[^"]+">[\s\S]*?name="expectCurrent" value="([^"]+)"/.exec(tail);
  if (form?.[1] !== undefined) return { kind: 'form', expectCurrent: form[1] };
  const disabled = /<button type="button" disabled aria-describedby="([^"]+)">Request promotion to [a-z]+<\/button> <span id="([^"]+)" class="muted">([^<]*)<\/span>/.exec(tail);
  if (disabled !== null) {
    expect(disabled[1]).toBe(disabled[2]);
    return { kind: 'disabled', reason: disabled[3] ?? '' };
  }
  return { kind: 'none' };
}

describe.each(BACKENDS)('promoting from the version page on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let alpha: PushedVersion;
  let bravo: PushedVersion;
  let charlie: PushedVersion;
  let admin: { cookie: string; csrf: string };

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    seed = await setUpSeed(reg);
    alpha = await pushModel(reg, 'fraud/detector', seed.keys.training);
    bravo = await pushModel(reg, 'fraud/blocked', seed.keys.training);
    await attestSeed(reg, alpha, seed.keys);
    await attestSeed(reg, bravo, seed.keys, { scan: 'critical' });
    admin = await signIn(reg, reg.token);
  }, 120_000);

  afterAll(async () => {
    await reg.stop();
  });

  it('offers the promotion only where it would be allowed and permitted, and says why not elsewhere', async () => {
    const ready = (await page(reg, versionPath(alpha), { cookie: admin.cookie })).text;
    expect(control(ready, 'staging')).toEqual({ kind: 'form', expectCurrent: 'none' });
    const production = control(ready, 'production');
    expect(production).toEqual({ kind: 'disabled', reason: 'Only service principals (the release pipeline) may promote into production; use custody promote from CI.' });
    const blocked = (await page(reg, versionPath(bravo), { cookie: admin.cookie })).text;
    expect(control(blocked, 'staging')).toEqual({ kind: 'disabled', reason: 'The checks above that are not PASS block it: the policy would deny this promotion now.' });
    const viewer = await createPrincipal(reg, `viewer-${backend}`, 'user', [{ role: 'viewer' }]);
    const viewed = (await page(reg, versionPath(alpha), { cookie: (await signIn(reg, viewer)).cookie })).text;
    expect(control(viewed, 'staging')).toEqual({ kind: 'disabled', reason: 'You do not hold promote:staging for namespace fraud.' });
  });

  it('promotes through the form: a logged allow decision, the alias moved, and a notice with the log index', async () => {
    const reply = await page(reg, promotePath(alpha, 'staging'), { cookie: admin.cookie, form: { csrf: admin.csrf, expectCurrent: 'none' } });
    expect(reply.status, reply.text).toBe(303);
    const [decision] = await decisionsOf(reg, alpha);
    expect(decision?.['outcome']).toBe('allow');
    expect(decision?.['environment']).toBe('staging');
    expect(reply.headers.get('location')).toBe(`${versionPath(alpha)}?promoted=staging&outcome=allow&log=${String(decision?.['logIndex'])}`);
    expect((await environmentsOf(reg, 'fraud/detector'))['staging']?.['version']).toBe(alpha.digest);
    const shown = await page(reg, reply.headers.get('location') ?? '', { cookie: admin.cookie });
    expect(shown.text).toContain(`<p role="status" class="badge">Promoted into staging: the decision is log entry <a href="/log/explorer?before=${Number(decision?.['logIndex']) + 1}">#${String(decision?.['logIndex'])}</a>.</p>`);
    // Already there: no control for staging any more.
    expect(control(shown.text, 'staging')).toEqual({ kind: 'none' });
  });

  it('refuses a promotion from a stale page (the environment moved since) with 409 ALIAS_MOVED', async () => {
    charlie = await pushModel(reg, 'fraud/detector', seed.keys.training);
    await attestSeed(reg, charlie, seed.keys);
    const stale = await page(reg, promotePath(charlie, 'staging'), { cookie: admin.cookie, form: { csrf: admin.csrf, expectCurrent: 'none' } });
    expect(stale.status).toBe(409);
    expect(stale.text).toContain('ALIAS_MOVED');
    expect((await environmentsOf(reg, 'fraud/detector'))['staging']?.['version']).toBe(alpha.digest);
    const fresh = control((await page(reg, versionPath(charlie), { cookie: admin.cookie })).text, 'staging');
    expect(fresh).toEqual({ kind: 'form', expectCurrent: alpha.digest });
  });

  it('refuses what the API refuses: the service-only rule, a missing permission, a missing CSRF token', async () => {
    const intoProduction = await page(reg, promotePath(alpha, 'production'), { cookie: admin.cookie, form: { csrf: admin.csrf, expectCurrent: 'none' } });
    expect(intoProduction.status).toBe(403);
    expect(intoProduction.text).toContain('only service principals may promote into production');
    const viewer = await signIn(reg, await createPrincipal(reg, `viewer2-${backend}`, 'user', [{ role: 'viewer' }]));
    expect((await page(reg, promotePath(charlie, 'staging'), { cookie: viewer.cookie, form: { csrf: viewer.csrf, expectCurrent: alpha.digest } })).status).toBe(403);
    expect((await page(reg, promotePath(charlie, 'staging'), { cookie: admin.cookie, form: { expectCurrent: alpha.digest } })).status).toBe(403);
    expect((await page(reg, promotePath(charlie, 'staging'), { cookie: admin.cookie, form: { csrf: admin.csrf, expectCurrent: 'garbage' } })).status).toBe(400);
    expect((await environmentsOf(reg, 'fraud/detector'))['staging']?.['version']).toBe(alpha.digest);
  });

  it('lets the CI service principal, signed in, promote into production from the page', async () => {
    const ci = await signIn(reg, seed.principals.ci);
    const text = (await page(reg, versionPath(alpha), { cookie: ci.cookie })).text;
    expect(control(text, 'production')).toEqual({ kind: 'form', expectCurrent: 'none' });
    const reply = await page(reg, promotePath(alpha, 'production'), { cookie: ci.cookie, form: { csrf: ci.csrf, expectCurrent: 'none' } });
    expect(reply.status, reply.text).toBe(303);
    expect(reply.headers.get('location')).toContain('promoted=production&outcome=allow');
    expect((await environmentsOf(reg, 'fraud/detector'))['production']?.['version']).toBe(alpha.digest);
  });
});
