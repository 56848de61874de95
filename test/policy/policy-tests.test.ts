/**
 * A policy's embedded tests (SPEC §6.2): the shipped examples' own tests pass; fixtures come from
 * the document's directory (never outside it) or, for a push, from the contents the client sent;
 * failing and broken tests are reported, never thrown; a baseline can make a test fail.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { closePolicyEvaluator } from '../../src/policy/evaluate-policy.js';
import { parsePolicyDocument, type PolicyDocument } from '../../src/policy/policy-document.js';
import { loadPolicyFixture, MAX_FIXTURE_BYTES, readPolicyFixtures, runPolicyTests } from '../../src/policy/policy-tests.js';
import { EXAMPLES, exampleDocument } from './seed-policy.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'custody-policy-tests-'));
afterAll(async () => {
  rmSync(scratch, { recursive: true, force: true });
  await closePolicyEvaluator();
});

function withTests(tests: unknown[]): PolicyDocument {
  const seed = exampleDocument('production');
  return parsePolicyDocument(JSON.stringify({ ...seed, spec: { ...seed.spec, tests } }));
}

describe('runPolicyTests', () => {
  it.each(['production', 'staging'] as const)('passes every test of the shipped %s policy', async (name) => {
    const doc = exampleDocument(name);
    const results = await runPolicyTests(doc, { baseDir: EXAMPLES });
    expect(results.map((r) => [r.name, r.passed, r.error])).toEqual(doc.spec.tests.map((t) => [t.name, true, undefined]));
    expect(results.map((r) => r.outcome)).toEqual(doc.spec.tests.map((t) => t.expect));
  });

  it('gives the same results from fixture contents sent by a client, without reading any file', async () => {
    const doc = exampleDocument('production');
    const fixtures = await readPolicyFixtures(doc, EXAMPLES);
    expect(Object.keys(fixtures).sort()).toEqual(doc.spec.tests.flatMap((t) => ('fixture' in t.input ? [t.input.fixture] : [])).sort());
    // A JSON round trip stands for the request body the server would receive.
    const received = JSON.parse(JSON.stringify(fixtures)) as Record<string, unknown>;
    const fromContents = await runPolicyTests(doc, { fixtures: received });
    const fromDisk = await runPolicyTests(doc, { baseDir: EXAMPLES });
    expect(fromContents.map((r) => [r.name, r.outcome, r.evaluation?.inputDigest])).toEqual(fromDisk.map((r) => [r.name, r.outcome, r.evaluation?.inputDigest]));

    const { ['fixtures/clean.json']: _dropped, ...partial } = received;
    const missing = await runPolicyTests(doc, { fixtures: partial });
    expect(missing[0]).toMatchObject({ name: 'clean model passes', outcome: 'error', passed: false });
    expect(missing[0]?.error).toContain('fixture fixtures/clean.json was not provided');
    expect(missing.slice(1).every((r) => r.passed)).toBe(true);
  });

  it('reports a test whose expectation is wrong, with the evaluation that explains it', async () => {
    const results = await runPolicyTests(withTests([{ name: 'pending passes?', input: { fixture: 'fixtures/redteam-pending.json' }, expect: 'allow' }]), { baseDir: EXAMPLES });
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({ name: 'pending passes?', expected: 'allow', outcome: 'deny', passed: false });
    expect(results[0]?.evaluation?.gates.find((g) => g.result !== 'PASS')?.message).toBe('Red team assessment is pending or rejected');
  });

  it('runs inline fixtures', async () => {
    const results = await runPolicyTests(withTests([{ name: 'nothing at all', input: { inline: {} }, expect: 'deny' }]), { baseDir: scratch });
    expect(results[0]).toMatchObject({ outcome: 'deny', passed: true });
  });

  it('fails, without throwing, a test whose fixture is malformed, oversized, absent or outside the document\'s directory', async () => {
    const dir = path.join(scratch, 'policy');
    mkdirSync(path.join(dir, 'fixtures'), { recursive: true });
    writeFileSync(path.join(scratch, 'outside.json'), readFileSync(path.join(EXAMPLES, 'fixtures', 'clean.json')));
    writeFileSync(path.join(dir, 'fixtures', 'bad.json'), JSON.stringify({ attestations: [], colour: 'red' }));
    writeFileSync(path.join(dir, 'fixtures', 'big.json'), `{"x": "${'a'.repeat(MAX_FIXTURE_BYTES)}"}`);
    writeFileSync(path.join(dir, 'fixtures', 'not-json.json'), '{"a": [1, 2');
    symlinkSync(path.join(scratch, 'outside.json'), path.join(dir, 'fixtures', 'link-out.json'));
    const cases: [string, string][] = [
      ['fixtures/bad.json', 'unknown key(s) colour'],
      ['fixtures/big.json', `limit of ${MAX_FIXTURE_BYTES}`],
      ['fixtures/not-json.json', 'fixture fixtures/not-json.json'],
      ['fixtures/absent.json', 'cannot be read'],
      ['../outside.json', 'must not contain ".."'],
      [path.join(scratch, 'outside.json'), 'must be relative'],
      ['fixtures/link-out.json', 'resolves outside'],
      ['fixtures', 'not a regular file'],
    ];
    const results = await runPolicyTests(
      withTests(cases.map(([fixture], i) => ({ name: `case ${i}`, input: { fixture }, expect: 'deny' }))),
      { baseDir: dir },
    );
    expect(results.map((r) => [r.outcome, r.passed])).toEqual(cases.map(() => ['error', false]));
    results.forEach((r, i) => {
      expect(r.error).toContain(cases[i]?.[1]);
    });
  });

  it('reads YAML fixtures as well as JSON', async () => {
    const dir = path.join(scratch, 'yaml');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'empty.yaml'), 'attestations: []\nversion: {environments: [staging]}\n');
    expect(await loadPolicyFixture(dir, 'empty.yaml')).toEqual({ attestations: [], version: { environments: ['staging'] } });
    const results = await runPolicyTests(withTests([{ name: 'yaml', input: { fixture: 'empty.yaml' }, expect: 'deny' }]), { baseDir: dir });
    expect(results[0]).toMatchObject({ outcome: 'deny', passed: true });
  });

  it('fails the clean test when the server baseline requires something the fixture lacks', async () => {
    const results = await runPolicyTests(exampleDocument('production'), {
      baseDir: EXAMPLES,
      baseline: { evaluation: { predicateType: 'https://custody.dev/attestation/evaluation/v1', signers: ['qa'], threshold: 1 } },
    });
    expect(results[0]).toMatchObject({ name: 'clean model passes', outcome: 'deny', passed: false });
    expect(results[0]?.evaluation?.requirements.find((r) => r.source === 'baseline')).toMatchObject({ name: 'evaluation', result: 'MISSING' });
  });

  it('throws POLICY_INVALID for a document whose gates do not compile', async () => {
    const seed = exampleDocument('production');
    const broken = { ...seed, spec: { ...seed.spec, gates: [{ name: 'broken', expr: 'scan.all(s, ', message: 'm' }] } };
    await expect(runPolicyTests(broken, { baseDir: EXAMPLES })).rejects.toThrow(CustodyError);
    await expect(runPolicyTests(broken, { baseDir: EXAMPLES })).rejects.toMatchObject({ code: 'POLICY_INVALID' });
  });
});
