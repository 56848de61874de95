/**
 * Gated promotion over real HTTP on SQLite and PostgreSQL (SPEC §2, §6.1, §7, §10; issue 6
 * acceptance): the seed's four gates as shipped in examples/policies/production.yaml each deny
 * with the seed's message when their attestation is missing, signed by a wrong key, revoked or
 * says so, and allow when all hold — the decision names the policy, effective and input digests
 * and every requirement and gate, is logged as `promotion.decided`, moves the alias and carries a
 * VSA that verifies (Custody's verifyVsa and @sigstore/verify) for that digest only; requireFrom;
 * the seed's rule; `expectCurrent`; a decision is never changed by a later attestation and a
 * racing one is seen whole or not at all; 50 concurrent promotions end consistent.
 *
 * The main suite leaves staging without a policy, so each production requirement can be taken
 * away on its own (the staging policy would refuse a version without training or scan); the
 * concurrency suite runs the shipped staging policy's requirements and gate.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyConsistency } from '../../src/log/merkle.js';
import { parseVerifierKey } from '../../src/log/signed-note.js';
import { verifyVsa } from '../../src/promotion/vsa.js';
import { verifyStore } from '../../src/service/store-verifier.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  activatePolicy,
  attest,
  attestSeed,
  checkpointOf,
  createPrincipal,
  decisionsOf,
  editablePolicy,
  environmentsOf,
  examplePolicy,
  loggedEvents,
  promote,
  promoteExpecting,
  pushModel,
  redTeamPredicate,
  scanPredicate,
  setUpSeed,
  verifyWithSigstore,
  vsaKeyOf,
  type PushedVersion,
  type Seed,
  type SeedAttestations,
} from '../support/promotion-fixtures.js';
import { addKey, api, makeKey, provenancePredicate, RED_TEAM, signBundle, SLSA, TEST_RESULT, VULNS, type TestKey } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;
interface Check { name: string; result: string; message: string; source?: string; satisfiedBy?: string[]; detail?: string }

const requirements = (d: Json): Check[] => d['requirements'] as Check[];
const gates = (d: Json): Check[] => d['gates'] as Check[];
const notPassing = (d: Json): string[] => [...requirements(d), ...gates(d)].filter((c) => c.result !== 'PASS').map((c) => `${c.name}:${c.result}`);
const requirement = (d: Json, name: string): Check | undefined => requirements(d).find((r) => r.name === name);
const gate = (d: Json, name: string): Check | undefined => gates(d).find((g) => g.name === name);

/** The seed's four gates: the training requirement (its own message) and the three CEL gates over their requirements. */
const SEED_GATES = [
  { requirement: 'training', gate: null, message: 'Model has no verified training provenance from the training cluster' },
  { requirement: 'scan', gate: 'no-critical-vulns', message: 'Model has critical vulnerabilities' },
  { requirement: 'sandbox', gate: 'sandbox-passed', message: 'Model failed sandbox behavioural tests' },
  { requirement: 'redteam', gate: 'red-team-approved', message: 'Red team assessment is pending or rejected' },
] as const;
type SeedGate = (typeof SEED_GATES)[number];

/** What a decision denied only for `g` with `result` looks like. */
function expectDeniedBy(decision: Json, g: SeedGate, result: string): void {
  expect(decision['outcome']).toBe('deny');
  expect(decision['vsa']).toBeNull();
  expect(notPassing(decision)).toEqual(g.gate === null ? [`${g.requirement}:${result}`] : [`${g.requirement}:${result}`, `${g.gate}:${result}`]);
  if (g.gate === null) expect(requirement(decision, g.requirement)?.message).toBe(g.message);
  else expect(gate(decision, g.gate)).toMatchObject({ result, message: g.message });
}

let counter = 0;
const fresh = (what: string): string => `fraud/${what}-${++counter}`;

describe.each(BACKENDS)('promotion API (%s)', (backend) => {
  describe('the seed production policy', () => {
    let reg: TestRegistry;
    let seed: Seed;
    const rogue = { training: makeKey('rogue-trainer'), scanner: makeKey('rogue-scanner'), sandbox: makeKey('rogue-sandbox'), redTeam: makeKey('rogue-red-team') };

    beforeAll(async () => {
      reg = await startTestRegistry(backend);
      seed = await setUpSeed(reg, ['production']);
      await addKey(reg, rogue.training, [SLSA]);
      await addKey(reg, rogue.scanner, [VULNS]);
      await addKey(reg, rogue.sandbox, [TEST_RESULT]);
      await addKey(reg, rogue.redTeam, [RED_TEAM]);
    });
    afterAll(async () => {
      await reg.stop();
    });

    /** A fresh model's version with provenance (by `trainer`) and the seed attestations `options` say, placed in staging by the CI. */
    async function inStaging(what: string, options: SeedAttestations & { trainer?: TestKey | null } = {}): Promise<PushedVersion> {
      const version = await pushModel(reg, fresh(what), options.trainer === undefined ? seed.keys.training : options.trainer);
      await attestSeed(reg, version, seed.keys, options);
      await promoteExpecting(reg, version, 'staging', seed.principals.ci, 'allow');
      return version;
    }

    it('allows when all four hold: the decision names every digest, requirement and gate, is logged, moves the alias and @production resolves', async () => {
      const version = await inStaging('all-hold');
      const before = await environmentsOf(reg, version.model);
      expect(before['production']?.['version']).toBeNull();
      const reply = await promote(reg, version, 'production', seed.principals.ci);
      expect(reply.status, JSON.stringify(reply.json)).toBe(200);
      const decision = reply.json;
      expect(decision).toMatchObject({ outcome: 'allow', model: version.model, version: version.digest, environment: 'production', principal: 'ci-release', principalKind: 'service' });
      const shown = await api(reg, 'GET', '/api/v1/environments/production/policy');
      expect(decision['policyDigest']).toBe(seed.policies['production']?.['digest']);
      expect(decision['effectiveDigest']).toBe(shown.json['effectiveDigest']);
      expect(decision['inputDigest']).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(requirements(decision).map((r) => [r.name, r.result]).sort()).toEqual([
        ['redteam', 'PASS'], ['requireFrom', 'PASS'], ['sandbox', 'PASS'], ['scan', 'PASS'], ['training', 'PASS'],
      ]);
      expect(gates(decision).map((g) => [g.name, g.result])).toEqual([['no-critical-vulns', 'PASS'], ['sandbox-passed', 'PASS'], ['red-team-approved', 'PASS']]);
      const stored = (await api(reg, 'GET', `/api/v1/models/${version.model}/versions/${version.digest}/attestations`)).json['items'] as Json[];
      for (const name of ['training', 'scan', 'sandbox', 'redteam']) {
        const satisfiedBy = requirement(decision, name)?.satisfiedBy ?? [];
        expect(satisfiedBy).toHaveLength(1);
        expect(stored.map((a) => a['bundleDigest'])).toContain(satisfiedBy[0]);
      }

      const logged = (await loggedEvents(reg, 'promotion.decided', version.model)).find((e) => e['decision'] === decision['id']);
      expect(logged).toMatchObject({ index: decision['logIndex'], outcome: 'allow', version: version.digest, environment: 'production', previous: null, policyDigest: decision['policyDigest'], inputDigest: decision['inputDigest'] });
      const after = await environmentsOf(reg, version.model);
      expect(after['production']).toMatchObject({ version: version.digest, number: version.number, decision: decision['id'], logIndex: decision['logIndex'] });
      const resolved = await api(reg, 'GET', `/api/v1/models/${version.model}/versions/production`);
      expect(resolved.json['digest']).toBe(version.digest);
      const record = await api(reg, 'GET', `/api/v1/models/${version.model}/environments/production`);
      expect(record.json['decision']).toMatchObject({ id: decision['id'], vsa: decision['vsa'] });
    });

    it('issues a VSA that verifies with the pinned VSA key and with @sigstore/verify, for that digest only', async () => {
      const version = await inStaging('vsa');
      const decision = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'allow');
      const vsa = decision['vsa'];
      expect(typeof vsa).toBe('string');
      const key = await vsaKeyOf(reg);
      const verified = verifyVsa(vsa as string, { publicKey: key.publicKey, expectedDigest: version.digest, expectedEnvironment: 'production' });
      expect(verified.facts).toMatchObject({ versionDigest: version.digest, environment: 'production', policyDigest: decision['effectiveDigest'] });
      const inputs = (verified.statement.predicate['inputAttestations'] as { digest: { sha256: string } }[]).map((i) => `sha256:${i.digest.sha256}`).sort();
      expect(inputs).toEqual(requirements(decision).flatMap((r) => r.satisfiedBy ?? []).sort());
      expect(verified.statement.predicate['https://custody.dev/verification_summary/promotion/v1']).toEqual({ environment: 'production', decisionId: decision['id'] });

      const signer = verifyWithSigstore(vsa as string, key.publicKey);
      expect(signer.key.export({ type: 'spki', format: 'pem' })).toBe(key.publicKey);

      const other = await inStaging('vsa-other');
      expect(() => verifyVsa(vsa as string, { publicKey: key.publicKey, expectedDigest: other.digest, expectedEnvironment: 'production' })).toThrow(/the VSA is for another version/);
      expect(() => verifyVsa(vsa as string, { publicKey: key.publicKey, expectedDigest: version.digest, expectedEnvironment: 'staging' })).toThrow(/environment/);
    });

    describe.each(SEED_GATES)('the $requirement gate', (g) => {
      const without: SeedAttestations = g.requirement === 'training' ? {} : { [g.requirement]: null };
      const signedBy = (key: TestKey): SeedAttestations =>
        g.requirement === 'scan' ? { signers: { scanner: key } } : g.requirement === 'sandbox' ? { signers: { sandbox: key } } : { signers: { redTeam: key } };

      it('denies with the seed\'s message when its attestation is missing, and logs the denial without moving the alias', async () => {
        const version = await inStaging(`missing-${g.requirement}`, g.requirement === 'training' ? { trainer: null } : without);
        const decision = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'deny');
        expectDeniedBy(decision, g, 'MISSING');
        const logged = (await loggedEvents(reg, 'promotion.decided', version.model)).filter((e) => e['environment'] === 'production');
        expect(logged.map((e) => [e['decision'], e['outcome'], e['index']])).toEqual([[decision['id'], 'deny', decision['logIndex']]]);
        expect((await environmentsOf(reg, version.model))['production']?.['version']).toBeNull();
        expect((await api(reg, 'GET', `/api/v1/models/${version.model}/versions/production`)).status).toBe(404);
      });

      it('denies with the seed\'s message when its attestation is signed by a key that is not one of its signers', async () => {
        const version = await inStaging(
          `wrong-key-${g.requirement}`,
          g.requirement === 'training' ? { trainer: rogue.training } : signedBy(g.requirement === 'scan' ? rogue.scanner : g.requirement === 'sandbox' ? rogue.sandbox : rogue.redTeam),
        );
        expectDeniedBy(await promoteExpecting(reg, version, 'production', seed.principals.ci, 'deny'), g, 'MISSING');
      });
    });

    it.each([
      ['a critical vulnerability', { scan: 'critical' }, 'no-critical-vulns', 'Model has critical vulnerabilities'],
      ['a FAILED sandbox run', { sandbox: 'FAILED' }, 'sandbox-passed', 'Model failed sandbox behavioural tests'],
      ['a PENDING red-team assessment', { redteam: 'PENDING' }, 'red-team-approved', 'Red team assessment is pending or rejected'],
    ] as const)('denies with the seed\'s message when the attestation reports %s', async (_what, options, gateName, message) => {
      const version = await inStaging(gateName, options);
      const decision = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'deny');
      expect(notPassing(decision)).toEqual([`${gateName}:FAIL`]);
      expect(gate(decision, gateName)).toMatchObject({ result: 'FAIL', message });
    });

    it('denies "must currently be in staging" for a version that is not in staging', async () => {
      const version = await pushModel(reg, fresh('not-in-staging'), seed.keys.training);
      await attestSeed(reg, version, seed.keys);
      const decision = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'deny');
      expect(notPassing(decision)).toEqual(['requireFrom:FAIL']);
      expect(requirement(decision, 'requireFrom')).toMatchObject({ source: 'requireFrom', message: 'must currently be in staging' });
    });

    it('keeps a user out of production (the seed\'s rule) while the service with the same binding gets a decision', async () => {
      const version = await inStaging('seed-rule');
      const refused = await promote(reg, version, 'production', seed.principals.user);
      expect(refused.status).toBe(403);
      expect(refused.json).toMatchObject({ code: 'FORBIDDEN', rule: 'lastEnvironmentServiceOnly' });
      expect(await decisionsOf(reg, version)).toHaveLength(1); // the staging one only
      // The same user may promote into staging.
      expect((await promote(reg, version, 'staging', seed.principals.user)).status).toBe(200);
      const decided = await promote(reg, version, 'production', seed.principals.ci);
      expect(decided.status).toBe(200);
      expect(decided.json).toMatchObject({ principal: 'ci-release', principalKind: 'service' });
    });

    it('refuses a stale expectCurrent with ALIAS_MOVED and logs no decision; none works on an empty environment', async () => {
      const first = await pushModel(reg, fresh('cas'), seed.keys.training);
      const placed = await promote(reg, first, 'staging', seed.principals.ci, { expectCurrent: 'none' });
      expect(placed.status, JSON.stringify(placed.json)).toBe(200);
      expect(placed.json['outcome']).toBe('allow');
      const second = await pushModel(reg, first.model, seed.keys.training);
      const decidedBefore = await loggedEvents(reg, 'promotion.decided', first.model);

      const stale = await promote(reg, second, 'staging', seed.principals.ci, { expectCurrent: 'none' });
      expect(stale.status).toBe(409);
      expect(stale.json).toMatchObject({ code: 'ALIAS_MOVED', environment: 'staging', current: first.digest });
      const wrong = await promote(reg, second, 'staging', seed.principals.ci, { expectCurrent: second.digest });
      expect(wrong.json['code']).toBe('ALIAS_MOVED');
      const production = await promote(reg, first, 'production', seed.principals.ci, { expectCurrent: first.digest });
      expect(production.json).toMatchObject({ code: 'ALIAS_MOVED', current: 'none' });
      expect(await loggedEvents(reg, 'promotion.decided', first.model)).toEqual(decidedBefore);
      expect(await decisionsOf(reg, second)).toEqual([]);
      expect((await environmentsOf(reg, first.model))['staging']?.['version']).toBe(first.digest);

      const current = await promote(reg, second, 'staging', seed.principals.ci, { expectCurrent: first.digest });
      expect(current.json).toMatchObject({ outcome: 'allow', version: second.digest });
      expect((await environmentsOf(reg, first.model))['staging']?.['version']).toBe(second.digest);
    });

    it('never changes a decision already made when an attestation is added after it', async () => {
      const version = await inStaging('after-decision', { redteam: null });
      const denied = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'deny');
      await attest(reg, version, seed.keys.redTeam, RED_TEAM, redTeamPredicate('APPROVED'));
      const [again] = await decisionsOf(reg, version);
      expect(again).toMatchObject({ id: denied['id'], outcome: 'deny', inputDigest: denied['inputDigest'], requirements: denied['requirements'], gates: denied['gates'] });
      // The attestation does count for what is decided now.
      const now = await api(reg, 'GET', `/api/v1/models/${version.model}/environments/production/evaluation?version=${version.digest}`);
      const evaluation = now.json['evaluation'] as Json;
      expect(evaluation['outcome']).toBe('allow');
      expect(evaluation['inputDigest']).not.toBe(denied['inputDigest']);

      const allowed = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'allow');
      await attest(reg, version, seed.keys.scanner, VULNS, scanPredicate('critical'));
      const [latest] = await decisionsOf(reg, version);
      expect(latest).toMatchObject({ id: allowed['id'], outcome: 'allow', inputDigest: allowed['inputDigest'], vsa: allowed['vsa'] });
      expect((await environmentsOf(reg, version.model))['production']?.['decision']).toBe(allowed['id']);
    });

    /** Races adding a red-team approval with a promotion of a version that lacks only that; returns both replies. */
    async function raceApproval(): Promise<{ version: PushedVersion; added: Json; decision: Json }> {
      const version = await inStaging('race', { redteam: null });
      const bundle = signBundle(seed.keys.redTeam, version.digest, RED_TEAM, redTeamPredicate('APPROVED'));
      const [added, promoted] = await Promise.all([
        api(reg, 'POST', `/api/v1/models/${version.model}/versions/${version.digest}/attestations`, { bundle }),
        promote(reg, version, 'production', seed.principals.ci),
      ]);
      expect(added.status).toBe(201);
      expect(promoted.status, JSON.stringify(promoted.json)).toBe(200);
      return { version, added: added.json, decision: promoted.json };
    }

    it('decides on a racing attestation whole or not at all: before (deny, nothing from it) or after (allow, satisfied by it)', async () => {
      for (let round = 0; round < 6; round++) {
        const { version, added, decision } = await raceApproval();
        const redteam = requirement(decision, 'redteam');
        if (decision['outcome'] === 'allow') {
          expect(notPassing(decision)).toEqual([]);
          expect(redteam?.satisfiedBy).toEqual([added['bundleDigest']]);
          expect((await environmentsOf(reg, version.model))['production']?.['version']).toBe(version.digest);
        } else {
          expect(notPassing(decision)).toEqual(['redteam:MISSING', 'red-team-approved:MISSING']);
          expect(redteam?.satisfiedBy).toEqual([]);
          expect((await environmentsOf(reg, version.model))['production']?.['version']).toBeNull();
        }
        const [stored] = await decisionsOf(reg, version);
        expect(stored).toMatchObject({ id: decision['id'], outcome: decision['outcome'], inputDigest: decision['inputDigest'], requirements: decision['requirements'] });
      }
    });

    it('decides on exactly the attestations logged before its decision: the log order is the order the decision saw', async () => {
      // SPEC §10 "race / TOCTOU": the decision's reads are serialised with the change; an
      // attestation logged before promotion.decided must have been seen by it, one logged after not.
      for (let round = 0; round < 6; round++) {
        const { added, decision } = await raceApproval();
        const attestedAt = (added['receipt'] as { logIndex: number }).logIndex;
        const seenBy = decision['outcome'] === 'allow' ? 'after' : 'before';
        expect({ attestedAt, decidedAt: decision['logIndex'], seenBy }).toEqual({ attestedAt, decidedAt: decision['logIndex'], seenBy: attestedAt < Number(decision['logIndex']) ? 'after' : 'before' });
      }
    });
  });

  describe('revoked signer keys', () => {
    let reg: TestRegistry;
    let seed: Seed;
    const versions = new Map<string, PushedVersion>();

    /**
     * Four versions, each carrying every seed attestation. Each one's attestation for "its" gate
     * is logged after an instant T and all others before it; then the four keys are revoked as
     * compromised since T, so each version loses exactly its own gate's attestation.
     */
    beforeAll(async () => {
      reg = await startTestRegistry(backend);
      seed = await setUpSeed(reg, ['production']);
      for (const g of SEED_GATES) {
        const version = await pushModel(reg, fresh(`revoked-${g.requirement}`), g.requirement === 'training' ? null : seed.keys.training);
        await attestSeed(reg, version, seed.keys, g.requirement === 'training' ? {} : { [g.requirement]: null });
        await promoteExpecting(reg, version, 'staging', seed.principals.ci, 'allow');
        versions.set(g.requirement, version);
      }
      await new Promise((resolve) => setTimeout(resolve, 5));
      const compromisedSince = new Date().toISOString();
      for (const g of SEED_GATES) {
        const version = versions.get(g.requirement);
        if (version === undefined) throw new Error('no version');
        if (g.requirement === 'training') await attest(reg, version, seed.keys.training, SLSA, provenancePredicate());
        else await attestSeed(reg, version, seed.keys, { scan: null, sandbox: null, redteam: null, [g.requirement]: g.requirement === 'scan' ? 'clean' : g.requirement === 'sandbox' ? 'PASSED' : 'APPROVED' });
      }
      for (const key of [seed.keys.training, seed.keys.scanner, seed.keys.sandbox, seed.keys.redTeam]) {
        const revoked = await api(reg, 'POST', `/api/v1/keys/${key.name}/revoke`, { reason: 'stolen', compromisedSince });
        expect(revoked.status, JSON.stringify(revoked.json)).toBe(200);
      }
    });
    afterAll(async () => {
      await reg.stop();
    });

    it.each(SEED_GATES)('denies with the seed\'s message when the $requirement attestation\'s key is revoked', async (g) => {
      const version = versions.get(g.requirement);
      if (version === undefined) throw new Error('no version');
      const decision = await promoteExpecting(reg, version, 'production', seed.principals.ci, 'deny');
      expectDeniedBy(decision, g, 'REVOKED');
    });
  });

  describe('the seed\'s rule switched off', () => {
    let reg: TestRegistry;

    beforeAll(async () => {
      reg = await startTestRegistry(backend, { promotion: { lastEnvironmentServiceOnly: false } });
    });
    afterAll(async () => {
      await reg.stop();
    });

    it('gives a user with promoter for production a decision', async () => {
      const user = await createPrincipal(reg, 'dana', 'user', [{ role: 'promoter', environments: ['staging', 'production'] }]);
      const version = await pushModel(reg, fresh('rule-off'), null);
      await promoteExpecting(reg, version, 'staging', user, 'allow');
      const decided = await promote(reg, version, 'production', user);
      expect(decided.status, JSON.stringify(decided.json)).toBe(200);
      expect(decided.json).toMatchObject({ outcome: 'allow', principal: 'dana', principalKind: 'user', environment: 'production' });
    });
  });

  describe('50 concurrent promotions into one environment', () => {
    let reg: TestRegistry;
    let seed: Seed;

    beforeAll(async () => {
      reg = await startTestRegistry(backend);
      seed = await setUpSeed(reg, []);
      // The shipped staging policy's requirements and gate; without requireFrom, since only one
      // version of a model can be in development (the one registered last).
      const staging = await examplePolicy('staging');
      const doc = editablePolicy(staging.document);
      delete doc.spec.requireFrom;
      await activatePolicy(reg, doc, staging.fixtures, seed.principals.approver);
    });
    afterAll(async () => {
      await reg.stop();
    });

    it('decides and logs every one, ends with the alias on the last decided, and keeps log and state consistent', async () => {
      const model = fresh('concurrent');
      const versions: PushedVersion[] = [];
      for (let i = 0; i < 50; i++) {
        const version = await pushModel(reg, model, seed.keys.training);
        await attest(reg, version, seed.keys.scanner, VULNS, scanPredicate('clean'));
        versions.push(version);
      }
      const before = await checkpointOf(reg);
      const replies = await Promise.all(versions.map((v) => promote(reg, v, 'staging', seed.principals.ci)));
      const after = await checkpointOf(reg);

      for (const reply of replies) {
        expect(reply.status, JSON.stringify(reply.json)).toBe(200);
        expect(reply.json['outcome']).toBe('allow');
      }
      const decisions = replies.map((r) => r.json).sort((a, b) => Number(a['logIndex']) - Number(b['logIndex']));
      expect(new Set(decisions.map((d) => d['logIndex'])).size).toBe(50);
      expect(new Set(decisions.map((d) => d['version']))).toEqual(new Set(versions.map((v) => v.digest)));
      expect(after.size - before.size).toBe(50n);
      const proof = await api(reg, 'GET', `/api/v1/log/proof/consistency?from=${before.size}&to=${after.size}`);
      verifyConsistency(before.size, after.size, (proof.json['proof'] as string[]).map((h) => Buffer.from(h, 'hex')), before.rootHash, after.rootHash);

      // Every decision is in the log, and each saw the alias the one before it left: one serial order.
      const logged = (await loggedEvents(reg, 'promotion.decided', model)).sort((a, b) => a.index - b.index);
      expect(logged.map((e) => [e.index, e['decision'], e['version'], e['outcome']])).toEqual(decisions.map((d) => [d['logIndex'], d['id'], d['version'], 'allow']));
      expect(logged.map((e) => e['previous'])).toEqual([null, ...decisions.slice(0, -1).map((d) => d['version'])]);

      const last = decisions.at(-1);
      const staging = (await environmentsOf(reg, model))['staging'];
      expect(staging).toMatchObject({ version: last?.['version'], decision: last?.['id'], logIndex: last?.['logIndex'] });
      expect((await api(reg, 'GET', `/api/v1/models/${model}/versions/staging`)).json['digest']).toBe(last?.['version']);
      for (const d of decisions) {
        const entry = await api(reg, 'GET', `/api/v1/log/entries/${String(d['logIndex'])}`);
        expect(entry.json['event']).toMatchObject({ type: 'promotion.decided', decision: d['id'], version: d['version'] });
      }
      const logKey = await api(reg, 'GET', '/api/v1/log/key');
      const report = await verifyStore({ metadata: reg.registry.metadata, blobs: reg.registry.blobStore, logVerifier: parseVerifierKey(String(logKey.json['verifierKey'])) });
      expect(report.problems).toEqual([]);
      expect(report.counts.logEntries).toBe(Number(after.size));
    });
  });
});
