/**
 * "What would change" for a pending policy proposal (reference/ui-screens.md §2.4) over real
 * HTTP on both metadata stores: the versions whose verdict would flip if the proposal became the
 * active production policy — a placement in production that would no longer pass there, and
 * versions in staging whose promotion would become allowed or denied — judged with the same
 * evaluation as real decisions (the evaluation API agrees before and after activation), with
 * nothing decided or logged, and only models the viewer may read.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvePolicy, attestSeed, createPrincipal, type EditablePolicy, promoteExpecting, proposeProduction, type PushedVersion, pushModel, type Seed, setUpSeed } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { api } from '../support/trust-fixtures.js';
import { page, signIn } from '../support/ui-session.js';

/** Each changed verdict on the page: `kind model@vN now→proposed`. */
function changes(text: string): string[] {
  return [...text.matchAll(/<tr data-kind="([a-z]+)" data-now="([a-z]+)" data-proposed="([a-z]+)">\s*<th scope="row"><a href="[^"]*">([^<]+)<\/a>/g)].map((m) => `${m[1] ?? ''} ${m[4] ?? ''} ${m[2] ?? ''}→${m[3] ?? ''}`);
}

async function productionOutcome(reg: TestRegistry, version: PushedVersion): Promise<string> {
  const reply = await api(reg, 'GET', `/api/v1/models/${version.model}/environments/production/evaluation?version=${version.digest}`);
  expect(reply.status).toBe(200);
  return (reply.json['evaluation'] as { outcome: string }).outcome;
}

describe.each(BACKENDS)('the policy proposal preview on %s', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  let alpha: PushedVersion;
  let bravo: PushedVersion;
  let cookie: string;
  /** Production without the red-team gate: bravo (red team pending) could then be promoted. */
  let lenient = '';
  /** Production retiring the model `fraud/alpha`: its placement there would no longer pass. */
  let strict = '';

  const propose = async (edit: (doc: EditablePolicy) => void): Promise<string> => String((await proposeProduction(reg, edit))['id']);

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    seed = await setUpSeed(reg);
    alpha = await pushModel(reg, 'fraud/alpha', seed.keys.training);
    bravo = await pushModel(reg, 'fraud/bravo', seed.keys.training);
    await attestSeed(reg, alpha, seed.keys);
    await attestSeed(reg, bravo, seed.keys, { redteam: 'PENDING' });
    for (const version of [alpha, bravo]) await promoteExpecting(reg, version, 'staging', seed.principals.ci, 'allow');
    await promoteExpecting(reg, alpha, 'production', seed.principals.ci, 'allow');
    lenient = await propose((doc) => {
      doc.spec.gates = doc.spec.gates.filter((g) => g.name !== 'red-team-approved');
      doc.spec.tests = doc.spec.tests.filter((t) => !t.name.includes('red-team'));
    });
    strict = await propose((doc) => {
      doc.spec.gates.push({ name: 'alpha-retired', expr: 'model.name != "alpha"', message: 'fraud/alpha is retired' });
    });
    ({ cookie } = await signIn(reg, reg.token));
  }, 120_000);

  afterAll(async () => {
    await reg.stop();
  });

  it('links each pending proposal to its preview from the policy page', async () => {
    const policy = await page(reg, '/policy', { cookie });
    for (const id of [lenient, strict]) expect(policy.text).toContain(`<a href="/policy/production/proposals/${id}/preview">`);
  });

  it('lists a candidate in staging whose promotion a weaker policy would allow, and nothing that would not change', async () => {
    const reply = await page(reg, `/policy/production/proposals/${lenient}/preview`, { cookie });
    expect(reply.status, reply.text).toBe(200);
    expect(changes(reply.text)).toEqual(['candidate fraud/bravo v1 deny→allow']);
    // Judged: alpha in production, alpha and bravo in staging.
    expect(reply.text).toContain('3 versions were judged');
  });

  it('lists the placement that would no longer pass, and the candidate that would be refused, with the failing gate', async () => {
    const reply = await page(reg, `/policy/production/proposals/${strict}/preview`, { cookie });
    expect(reply.status, reply.text).toBe(200);
    expect(changes(reply.text)).toEqual(['placed fraud/alpha v1 allow→deny', 'candidate fraud/alpha v1 allow→deny']);
    expect(reply.text).toContain('<li>alpha-retired FAIL: fraud/alpha is retired (the expression is false)</li>');
  });

  it('agrees with the evaluation API once the proposal is active, and decided or logged nothing before', async () => {
    const logSize = async (): Promise<number> => Number((await (await fetch(`${reg.url}/log/checkpoint`)).text()).split('\n')[1]);
    const size = await logSize();
    expect(size).toBeGreaterThan(0);
    await page(reg, `/policy/production/proposals/${lenient}/preview`, { cookie });
    expect(await logSize()).toBe(size);
    expect(await productionOutcome(reg, bravo)).toBe('deny');
    const approved = await approvePolicy(reg, lenient, seed.principals.approver);
    expect(approved.status, JSON.stringify(approved.json)).toBe(200);
    expect(await productionOutcome(reg, bravo)).toBe('allow');
    // The lenient policy is active now: previewing it again is a 404 (it is no longer pending).
    expect((await page(reg, `/policy/production/proposals/${lenient}/preview`, { cookie })).status).toBe(404);
  });

  it('judges and shows only models the viewer may read', async () => {
    const outsider = await createPrincipal(reg, `outsider-${backend}`, 'user', [{ role: 'viewer', namespaces: ['vision'] }]);
    const session = await signIn(reg, outsider);
    const reply = await page(reg, `/policy/production/proposals/${strict}/preview`, { cookie: session.cookie });
    expect(reply.status).toBe(200);
    expect(changes(reply.text)).toEqual([]);
    expect(reply.text).toContain('0 versions were judged');
    expect(reply.text).not.toContain('fraud/alpha v1');
    expect((await page(reg, `/policy/staging/proposals/${strict}/preview`, { cookie })).status).toBe(404);
  });
});
