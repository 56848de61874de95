/**
 * The reaction to a stolen signing key over real HTTP on SQLite and PostgreSQL (SPEC §10 "stolen
 * signing key"; issue 6 §8 and acceptance): revoking the security scanner's key as compromised
 * since before its scans quarantines exactly the placements (version × environment) that relied
 * on them — shown by the environment status and logged as `version.quarantined` — and nothing
 * else; a revocation compromised only after the scans quarantines nothing; a later valid
 * promotion (a new scan by another scanner key, promoted again) clears the quarantine; and a
 * revocation racing a promotion never leaves a placement that relied on the key unquarantined.
 *
 * The shipped policies are used with more scanner keys among the scan's signers, so that a
 * version can carry a scan that the revocation does not touch. The tests share one registry and
 * run in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import {
  activatePolicy,
  attest,
  attestSeed,
  editablePolicy,
  environmentsOf,
  examplePolicy,
  loggedEvents,
  promote,
  promoteExpecting,
  pushModel,
  scanPredicate,
  setUpSeed,
  type PushedVersion,
  type Seed,
} from '../support/promotion-fixtures.js';
import { addKey, api, makeKey, VULNS, type TestKey } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;

const RACE_ROUNDS = 4;
const scanner2 = makeKey('security-scanner-2');
const scanner3 = makeKey('security-scanner-3');
const raceScanners = Array.from({ length: RACE_ROUNDS }, (_, i) => makeKey(`race-scanner-${i}`));
const SCAN_SIGNERS = ['security-scanner', scanner2.name, scanner3.name, ...raceScanners.map((k) => k.name)];

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The quarantines of every environment of `model`, as `environment:count`, for the environments that have any. */
async function quarantined(reg: TestRegistry, model: string): Promise<string[]> {
  const environments = await environmentsOf(reg, model);
  return Object.values(environments)
    .filter((e) => (e['quarantines'] as Json[]).length > 0)
    .map((e) => `${String(e['environment'])}:${(e['quarantines'] as Json[]).length}`);
}

async function revoke(reg: TestRegistry, key: TestKey, compromisedSince: string): Promise<Json> {
  const reply = await api(reg, 'POST', `/api/v1/keys/${key.name}/revoke`, { reason: 'the key was stolen', compromisedSince });
  expect(reply.status, JSON.stringify(reply.json)).toBe(200);
  return reply.json;
}

let counter = 0;
const fresh = (what: string): string => `fraud/${what}-${++counter}`;

describe.each(BACKENDS)('revocation and quarantine (%s)', (backend) => {
  let reg: TestRegistry;
  let seed: Seed;
  /** Scanned by the revoked key, in staging and production. */
  let alpha: PushedVersion;
  /** Scanned by the revoked key, in staging only. */
  let bravo: PushedVersion;
  /** Scanned by another key, in staging and production. */
  let charlie: PushedVersion;
  let compromisedSince: string;

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    seed = await setUpSeed(reg, []);
    for (const key of [scanner2, scanner3, ...raceScanners]) await addKey(reg, key, [VULNS]);
    for (const name of ['staging', 'production'] as const) {
      const example = await examplePolicy(name);
      const doc = editablePolicy(example.document);
      const scan = doc.spec.attestations['scan'];
      if (scan === undefined) throw new Error('the shipped policy has no scan requirement');
      scan.signers = SCAN_SIGNERS;
      await activatePolicy(reg, doc, example.fixtures, seed.principals.approver);
    }

    alpha = await pushModel(reg, fresh('alpha'), seed.keys.training);
    bravo = await pushModel(reg, fresh('bravo'), seed.keys.training);
    charlie = await pushModel(reg, fresh('charlie'), seed.keys.training);
    await pause(5);
    compromisedSince = new Date().toISOString();
    await attestSeed(reg, alpha, seed.keys);
    await attest(reg, bravo, seed.keys.scanner, VULNS, scanPredicate('clean'));
    await attestSeed(reg, charlie, seed.keys, { signers: { scanner: scanner2 } });
    for (const version of [alpha, bravo, charlie]) await promoteExpecting(reg, version, 'staging', seed.principals.ci, 'allow');
    for (const version of [alpha, charlie]) await promoteExpecting(reg, version, 'production', seed.principals.ci, 'allow');
  });
  afterAll(async () => {
    await reg.stop();
  });

  it('quarantines exactly the placements that relied on the revoked key\'s attestations', async () => {
    const before = await loggedEvents(reg, 'version.quarantined');
    const revoked = await revoke(reg, seed.keys.scanner, compromisedSince);
    const all = await loggedEvents(reg, 'version.quarantined');
    const events = all.slice(0, all.length - before.length);
    expect(events.map((e) => `${String(e['model'])}@${String(e['version'])}:${String(e['environment'])}`).sort()).toEqual(
      [`${alpha.model}@${alpha.digest}:production`, `${alpha.model}@${alpha.digest}:staging`, `${bravo.model}@${bravo.digest}:staging`].sort(),
    );
    for (const event of events) {
      expect(event).toMatchObject({ key: 'security-scanner', keyId: seed.keys.scanner.keyId });
      expect(event.index).toBeGreaterThan((revoked['receipt'] as { logIndex: number }).logIndex);
      expect(String(event['reason'])).toContain('key security-scanner was revoked');
    }

    expect(await quarantined(reg, alpha.model)).toEqual(['staging:1', 'production:1']);
    expect(await quarantined(reg, bravo.model)).toEqual(['staging:1']);
    expect(await quarantined(reg, charlie.model)).toEqual([]);
    const record = await api(reg, 'GET', `/api/v1/models/${alpha.model}/environments/production`);
    expect(record.json).toMatchObject({ version: alpha.digest, quarantines: [{ environment: 'production' }] });
    const quarantine = (record.json['quarantines'] as Json[])[0];
    expect(quarantine?.['logIndex']).toBe(events.find((e) => e['model'] === alpha.model && e['environment'] === 'production')?.index);
    expect(String(quarantine?.['reason'])).toContain('scan');
  });

  it('quarantines nothing for a revocation compromised only after the attestations', async () => {
    const before = await loggedEvents(reg, 'version.quarantined');
    await revoke(reg, scanner2, new Date().toISOString());
    expect(await loggedEvents(reg, 'version.quarantined')).toEqual(before);
    expect(await quarantined(reg, charlie.model)).toEqual([]);
    const evaluation = await api(reg, 'GET', `/api/v1/models/${charlie.model}/environments/production/evaluation?version=${charlie.digest}`);
    expect((evaluation.json['evaluation'] as Json)['outcome']).toBe('allow');
  });

  it('clears a placement\'s quarantine with a later valid promotion there (a new scan by another scanner key)', async () => {
    await attest(reg, alpha, scanner3, VULNS, scanPredicate('clean'));
    await promoteExpecting(reg, alpha, 'staging', seed.principals.ci, 'allow');
    expect(await quarantined(reg, alpha.model)).toEqual(['production:1']);
    await promoteExpecting(reg, alpha, 'production', seed.principals.ci, 'allow');
    expect(await quarantined(reg, alpha.model)).toEqual([]);
    expect(await quarantined(reg, bravo.model)).toEqual(['staging:1']);
  });

  it('never leaves a placement that relied on a key revoked meanwhile unquarantined: a racing promotion is denied or quarantined', async () => {
    for (const key of raceScanners) {
      const version = await pushModel(reg, fresh('race'), seed.keys.training);
      await pause(5);
      const since = new Date().toISOString();
      await attest(reg, version, key, VULNS, scanPredicate('clean'));
      const [revoked, promoted] = await Promise.all([
        api(reg, 'POST', `/api/v1/keys/${key.name}/revoke`, { reason: 'the key was stolen', compromisedSince: since }),
        promote(reg, version, 'staging', seed.principals.ci),
      ]);
      expect(revoked.status).toBe(200);
      expect(promoted.status, JSON.stringify(promoted.json)).toBe(200);
      const placed = (await environmentsOf(reg, version.model))['staging'];
      if (promoted.json['outcome'] === 'deny') {
        expect(placed?.['version']).toBeNull();
        expect((promoted.json['requirements'] as Json[]).find((r) => r['name'] === 'scan')?.['result']).toBe('REVOKED');
      } else {
        expect({ placed: placed?.['version'], quarantines: (placed?.['quarantines'] as Json[]).length }).toEqual({ placed: version.digest, quarantines: 1 });
      }
    }
  });
});
