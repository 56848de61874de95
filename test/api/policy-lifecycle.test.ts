/**
 * The policy lifecycle over real HTTP on SQLite and PostgreSQL (SPEC §6.1, §6.2, §10 "weaken a
 * policy" and "policy as a weapon"; issue 6 acceptance): a single admin's weakened production
 * policy stays proposed and changes nothing until a second principal approves it, and each step
 * is logged with the digest and shown in the history with a diff; a policy without the two-person
 * rule is active at once; the baseline floor outlives a policy that leaves it out; a policy whose
 * own tests fail or whose gate exceeds the bounds is refused with nothing stored; a runaway gate
 * is caught by its test at push or denied with ERROR at the time limit; policy:propose is checked
 * for the document's environment.
 *
 * The first suite's tests share one registry and run in order (staging gets its policy in the
 * second test).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  activatePolicy,
  addSeedKeys,
  approvePolicy,
  attest,
  attestSeed,
  createPrincipal,
  editablePolicy,
  examplePolicy,
  loggedEvents,
  makeSeedKeys,
  promote,
  promoteExpecting,
  pushModel,
  pushPolicy,
  setUpSeed,
  type EditablePolicy,
  type Seed,
} from '../support/promotion-fixtures.js';
import { api, SLSA, VULNS } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;
interface Check { name: string; result: string; message: string; source?: string; detail?: string }

const notPassing = (d: Json): string[] =>
  [...(d['requirements'] as Check[]), ...(d['gates'] as Check[])].filter((c) => c.result !== 'PASS').map((c) => `${c.name}:${c.result}`);

async function history(reg: TestRegistry, environment: string): Promise<Json[]> {
  const reply = await api(reg, 'GET', `/api/v1/environments/${environment}/policy/history`);
  expect(reply.status).toBe(200);
  return reply.json['items'] as Json[];
}

async function effective(reg: TestRegistry, environment: string): Promise<Json> {
  const reply = await api(reg, 'GET', `/api/v1/environments/${environment}/policy`);
  expect(reply.status).toBe(200);
  return reply.json;
}

/** A staging policy over the scan whose one gate is `expr`, with `tests`. */
function scanPolicy(name: string, expr: string, tests: EditablePolicy['spec']['tests']): EditablePolicy {
  return {
    apiVersion: 'custody.dev/v1',
    kind: 'PromotionPolicy',
    metadata: { name, environment: 'staging' },
    spec: { attestations: { scan: { predicateType: VULNS, signers: ['security-scanner'] } }, gates: [{ name: 'cubic', expr, message: 'the scan list is not acceptable' }], tests },
  };
}

const XS = 'scan[0].predicate.xs';
const CUBIC = `${XS}.all(a, ${XS}.all(b, ${XS}.all(c, a + b + c >= 0)))`;
const scanFixture = (length: number): Json => ({ attestations: [{ predicateType: VULNS, signer: { name: 'security-scanner' }, predicate: { xs: Array.from({ length }, (_, i) => i) } }] });

let counter = 0;
const fresh = (what: string): string => `fraud/${what}-${++counter}`;

describe.each(BACKENDS)('policy lifecycle API (%s)', (backend) => {
  describe('pushing, approving and refusing policies', () => {
    let reg: TestRegistry;
    let seed: Seed;

    beforeAll(async () => {
      reg = await startTestRegistry(backend);
      seed = await setUpSeed(reg, ['production']);
    });
    afterAll(async () => {
      await reg.stop();
    });

    it('keeps a single admin\'s weakened production policy proposed and without effect until a second principal approves it', async () => {
      const production = await examplePolicy('production');
      const original = seed.policies['production'];
      const before = await effective(reg, 'production');
      expect(before['active']).toMatchObject({ id: original?.['id'], digest: original?.['digest'], status: 'active', proposedBy: 'admin', approvedBy: 'second-admin' });

      const weakened = editablePolicy(production.document);
      delete weakened.spec.attestations['redteam'];
      weakened.spec.gates = weakened.spec.gates.filter((g) => g.name !== 'red-team-approved');
      weakened.spec.tests = weakened.spec.tests.filter((t) => !t.name.includes('red-team'));
      const pushed = await pushPolicy(reg, weakened, production.fixtures);
      expect(pushed.status, JSON.stringify(pushed.json)).toBe(201);
      expect(pushed.json).toMatchObject({ status: 'proposed', proposedBy: 'admin', approvedBy: null, activatedAt: null });
      const id = String(pushed.json['id']);
      expect(((await api(reg, 'GET', '/api/v1/policies/proposed')).json['items'] as Json[]).map((p) => p['id'])).toContain(id);

      // Nothing changed: the effective policy and what promotions are judged by.
      const during = await effective(reg, 'production');
      expect(during['effectiveDigest']).toBe(before['effectiveDigest']);
      expect((during['active'] as Json)['digest']).toBe(original?.['digest']);
      const version = await pushModel(reg, fresh('weakened'), seed.keys.training);
      await attestSeed(reg, version, seed.keys, { redteam: 'PENDING' });
      await promoteExpecting(reg, version, 'staging', seed.principals.ci, 'allow');
      const judged = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'deny');
      expect(judged['policyDigest']).toBe(original?.['digest']);
      expect(notPassing(judged)).toEqual(['red-team-approved:FAIL']);

      const self = await approvePolicy(reg, id, reg.token);
      expect(self.status).toBe(403);
      expect(self.json).toMatchObject({ code: 'FORBIDDEN', rule: 'twoPersonPolicyChange' });
      expect((await effective(reg, 'production'))['effectiveDigest']).toBe(before['effectiveDigest']);

      const approved = await approvePolicy(reg, id, seed.principals.approver);
      expect(approved.status, JSON.stringify(approved.json)).toBe(200);
      expect(approved.json).toMatchObject({ id, status: 'active', proposedBy: 'admin', approvedBy: 'second-admin', digest: pushed.json['digest'] });
      const after = await effective(reg, 'production');
      expect((after['active'] as Json)['digest']).toBe(pushed.json['digest']);
      expect(after['effectiveDigest']).not.toBe(before['effectiveDigest']);

      const approvals = await loggedEvents(reg, 'policy.approved');
      expect(approvals[0]).toMatchObject({ environment: 'production', digest: pushed.json['digest'], proposedBy: 'admin', actor: { principal: 'second-admin' } });
      const activations = await loggedEvents(reg, 'policy.activated');
      expect(activations[0]).toMatchObject({ environment: 'production', digest: pushed.json['digest'], previous: original?.['digest'], approvedBy: 'second-admin' });
      expect(activations[0]?.index).toBeGreaterThan(approvals[0]?.index ?? Infinity);

      const items = await history(reg, 'production');
      expect(items.map((p) => [p['digest'], p['status'], p['proposedBy'], p['approvedBy']])).toEqual([
        [pushed.json['digest'], 'active', 'admin', 'second-admin'],
        [original?.['digest'], 'superseded', 'admin', 'second-admin'],
      ]);
      expect(String(items[0]?.['diff'])).toMatch(/^-.*red-team-approved/m);
      expect(String(items[0]?.['diff'])).not.toMatch(/^\+.*red-team/m);

      // From now on promotions are judged by the approved policy.
      const now = await promote(reg, version, 'production', seed.principals.ci);
      expect(now.json['policyDigest']).toBe(pushed.json['digest']);
      expect(now.json['outcome']).toBe('allow');
    });

    it('activates a staging policy (no two-person rule there) at once, logged with its digest', async () => {
      const staging = await examplePolicy('staging');
      const pushed = await pushPolicy(reg, staging.document, staging.fixtures);
      expect(pushed.status, JSON.stringify(pushed.json)).toBe(201);
      expect(pushed.json).toMatchObject({ status: 'active', proposedBy: 'admin', approvedBy: null });
      expect((pushed.json['tests'] as Json[]).every((t) => t['passed'] === true)).toBe(true);
      expect(((await effective(reg, 'staging'))['active'] as Json)['digest']).toBe(pushed.json['digest']);
      const [proposed] = await loggedEvents(reg, 'policy.proposed');
      const [activated] = await loggedEvents(reg, 'policy.activated');
      expect(proposed).toMatchObject({ environment: 'staging', digest: pushed.json['digest'], twoPerson: false });
      expect(activated).toMatchObject({ environment: 'staging', digest: pushed.json['digest'], previous: null, approvedBy: null });
    });

    it('refuses a policy whose own tests fail (POLICY_TEST_FAILED naming the test) and stores nothing', async () => {
      const staging = await examplePolicy('staging');
      const doc = editablePolicy(staging.document);
      doc.spec.tests.push({ name: 'a critical vulnerability is let through', input: { fixture: 'fixtures/staging-critical-vuln.json' }, expect: 'allow' });
      const before = await history(reg, 'staging');
      const proposals = await loggedEvents(reg, 'policy.proposed');
      const refused = await pushPolicy(reg, doc, staging.fixtures);
      expect(refused.status).toBe(422);
      expect(refused.json).toMatchObject({ code: 'POLICY_TEST_FAILED', failed: ['a critical vulnerability is let through'] });
      expect(String(refused.json['detail'])).toContain('a critical vulnerability is let through (expected allow, got deny)');
      expect(await history(reg, 'staging')).toEqual(before);
      expect(await loggedEvents(reg, 'policy.proposed')).toEqual(proposals);
    });

    it.each([
      ['comprehensions nested 4 deep', 'scan.all(a, a.predicate.scanner.result.all(r, r.severity.all(x, scan.all(b, x.score != "CRITICAL"))))', /nests comprehensions 4 deep; at most 3/],
      ['matches()', 'scan.all(s, s.predicate.scanner.uri.matches("^pkg:.*"))', /matches\(\) is not allowed/],
    ])('refuses a gate with %s (POLICY_INVALID naming the gate and position) and stores nothing', async (_what, expr, problem) => {
      const staging = await examplePolicy('staging');
      const doc = editablePolicy(staging.document);
      doc.spec.gates.push({ name: 'weapon', expr, message: 'never shown' });
      const before = await history(reg, 'staging');
      const refused = await pushPolicy(reg, doc, staging.fixtures);
      expect(refused.status).toBe(400);
      expect(refused.json).toMatchObject({ code: 'POLICY_INVALID', gate: 'weapon', path: 'spec.gates.1.expr' });
      expect(String(refused.json['detail'])).toMatch(problem);
      const position = refused.json['position'] as { offset: number; line: number; column: number };
      expect(position.line).toBe(1);
      expect(position.column).toBe(position.offset + 1);
      expect(position.offset).toBeGreaterThan(0);
      expect(position.offset).toBeLessThan(expr.length);
      expect(String(refused.json['detail'])).toContain(`line 1, column ${position.column}`);
      expect(await history(reg, 'staging')).toEqual(before);
    });

    it('checks policy:propose and policy:approve for the document\'s environment', async () => {
      const token = await createPrincipal(reg, 'staging-admin', 'user', [{ role: 'policy-admin', environments: ['staging'] }]);
      const production = await examplePolicy('production');
      const before = await history(reg, 'production');
      const refused = await pushPolicy(reg, production.document, production.fixtures, token);
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ code: 'FORBIDDEN', permission: 'policy:propose' });
      expect(await history(reg, 'production')).toEqual(before);

      const proposed = await pushPolicy(reg, production.document, production.fixtures);
      expect(proposed.json['status']).toBe('proposed');
      const approval = await approvePolicy(reg, String(proposed.json['id']), token);
      expect(approval.status).toBe(403);
      expect(approval.json).toMatchObject({ code: 'FORBIDDEN', permission: 'policy:approve' });

      const staging = editablePolicy((await examplePolicy('staging')).document);
      staging.metadata.name = 'staging-gate-by-staging-admin';
      const own = await pushPolicy(reg, staging, (await examplePolicy('staging')).fixtures, token);
      expect(own.status, JSON.stringify(own.json)).toBe(201);
      expect(own.json).toMatchObject({ status: 'active', proposedBy: 'staging-admin' });
    });
  });

  describe('the baseline floor', () => {
    let reg: TestRegistry;
    let seed: Seed;

    beforeAll(async () => {
      reg = await startTestRegistry(backend, { baseline: { production: { attestations: { training: { predicateType: SLSA, signers: ['training-cluster'] } } } } });
      seed = await setUpSeed(reg, []);
    });
    afterAll(async () => {
      await reg.stop();
    });

    it('accepts a policy without the baseline requirement, and promotions still require it', async () => {
      const production = await examplePolicy('production');
      const doc = editablePolicy(production.document);
      delete doc.spec.attestations['training'];
      const active = await activatePolicy(reg, doc, production.fixtures, seed.principals.approver);
      const shown = await effective(reg, 'production');
      expect((shown['active'] as Json)['digest']).toBe(active['digest']);
      expect(shown['baseline']).toMatchObject({ training: { predicateType: SLSA, signers: ['training-cluster'] } });
      expect((shown['requirements'] as Json[]).filter((r) => r['name'] === 'training')).toEqual([
        { name: 'training', source: 'baseline', predicateType: SLSA, signers: ['training-cluster'], threshold: 1 },
      ]);

      const untrained = await pushModel(reg, fresh('untrained'), null);
      await attestSeed(reg, untrained, seed.keys);
      await promoteExpecting(reg, untrained, 'staging', seed.principals.ci, 'allow');
      const denied = await promoteExpecting(reg, untrained, 'production', seed.principals.ci, 'deny');
      expect(notPassing(denied)).toEqual(['training:MISSING']);
      expect((denied['requirements'] as Check[]).find((r) => r.name === 'training')).toMatchObject({
        source: 'baseline',
        message: `no valid ${SLSA} attestation signed by training-cluster`,
      });
      expect(denied['policyDigest']).toBe(active['digest']);

      const trained = await pushModel(reg, fresh('trained'), seed.keys.training);
      await attestSeed(reg, trained, seed.keys);
      await promoteExpecting(reg, trained, 'staging', seed.principals.ci, 'allow');
      await promoteExpecting(reg, trained, 'production', seed.principals.ci, 'allow');
    });
  });

  describe('a runaway gate', () => {
    let reg: TestRegistry;
    const keys = makeSeedKeys();

    beforeAll(async () => {
      reg = await startTestRegistry(backend, { promotion: { evaluationTimeLimitMs: 500 } });
      await addSeedKeys(reg, keys);
    });
    afterAll(async () => {
      await reg.stop();
    });

    it('is caught by its own test at push (POLICY_TEST_FAILED) within the time limit, with nothing stored', async () => {
      const doc = scanPolicy('runaway-at-push', CUBIC, [{ name: 'a scan with a long list passes', input: { fixture: 'fixtures/long.json' }, expect: 'allow' }]);
      const started = performance.now();
      const refused = await pushPolicy(reg, doc, { 'fixtures/long.json': scanFixture(1_000) });
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(refused.status).toBe(422);
      expect(refused.json).toMatchObject({ code: 'POLICY_TEST_FAILED', failed: ['a scan with a long list passes'] });
      expect(await history(reg, 'staging')).toEqual([]);
    });

    it('passes its tests on short lists, then denies with ERROR at the evaluation time limit on a long one, and the next evaluation works', async () => {
      const doc = scanPolicy('runaway-at-promotion', CUBIC, [
        { name: 'a short list passes', input: { fixture: 'fixtures/short.json' }, expect: 'allow' },
        { name: 'no scan is denied', input: { inline: {} }, expect: 'deny' },
      ]);
      const pushed = await pushPolicy(reg, doc, { 'fixtures/short.json': scanFixture(3) });
      expect(pushed.status, JSON.stringify(pushed.json)).toBe(201);
      expect(pushed.json['status']).toBe('active');

      const long = await pushModel(reg, fresh('long-list'), keys.training);
      await attest(reg, long, keys.scanner, VULNS, { xs: Array.from({ length: 1_000 }, (_, i) => i) });
      const started = performance.now();
      const denied = await promoteExpecting(reg, long, 'staging', reg.token, 'deny');
      expect(performance.now() - started).toBeLessThan(10_000);
      expect(notPassing(denied)).toEqual(['cubic:ERROR']);
      expect((denied['gates'] as Check[])[0]?.detail).toContain('time limit of 500 ms');

      const short = await pushModel(reg, fresh('short-list'), keys.training);
      await attest(reg, short, keys.scanner, VULNS, { xs: [1, 2, 3] });
      const evaluation = await api(reg, 'GET', `/api/v1/models/${short.model}/environments/staging/evaluation?version=${short.digest}`);
      expect((evaluation.json['evaluation'] as Json)['outcome']).toBe('allow');
    });
  });
});
