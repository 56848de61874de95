/**
 * `custody policy test FILE [--baseline FILE]` through the BUILT CLI (run `npm run build`
 * first): the shipped examples pass (exit 0); a failing test, a gate that does not compile and a
 * baseline the fixtures do not meet each exit 1 naming the test or the gate and position. Also:
 * a process that evaluated a policy and never closed the evaluator still exits on its own.
 */
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/registry.js';
import { EXAMPLES, REPO } from './seed-policy.js';

const scratch = mkdtempSync(path.join(tmpdir(), 'custody-policy-cli-'));
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A copy of the examples directory with production.yaml edited by `edit`. */
function editedCopy(name: string, edit: (text: string) => string): string {
  const dir = path.join(scratch, name);
  cpSync(EXAMPLES, dir, { recursive: true });
  const file = path.join(dir, 'production.yaml');
  writeFileSync(file, edit(readFileSync(file, 'utf8')));
  return file;
}

describe('custody policy test', () => {
  it.each(['production', 'staging'])('passes the shipped %s policy with exit 0, one line per test', async (name) => {
    const result = await runCli(['policy', 'test', `examples/policies/${name}.yaml`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const tests = result.stdout.split('\n').filter((l) => /^(PASS|FAIL) {2}/.test(l));
    expect(tests.length).toBeGreaterThanOrEqual(3);
    expect(tests.every((l) => l.startsWith('PASS'))).toBe(true);
    expect(result.stdout).toMatch(/(\d+) of \1 tests passed/);
  });

  it('prints the deny reasons of the seed\'s tests', async () => {
    const result = await runCli(['policy', 'test', path.join(EXAMPLES, 'production.yaml')]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('gate red-team-approved FAIL: Red team assessment is pending or rejected');
    expect(result.stdout).toContain('gate no-critical-vulns FAIL: Model has critical vulnerabilities');
    expect(result.stdout).toContain('gate sandbox-passed FAIL: Model failed sandbox behavioural tests');
    expect(result.stdout).toContain('requirement requireFrom (requireFrom) FAIL: must currently be in staging');
  });

  it('prints one JSON document with --json', async () => {
    const result = await runCli(['--json', 'policy', 'test', 'examples/policies/production.yaml']);
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout) as { passed: boolean; digest: string; tests: { name: string; passed: boolean }[] };
    expect(report.passed).toBe(true);
    expect(report.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(report.tests.every((t) => t.passed)).toBe(true);
  });

  it('exits 1 naming a failing test and the gate message that explains it', async () => {
    const file = editedCopy('failing', (text) =>
      text.replace('name: a pending red-team assessment is denied\n      input: {fixture: fixtures/redteam-pending.json}\n      expect: deny', 'name: pending is fine really\n      input: {fixture: fixtures/redteam-pending.json}\n      expect: allow'),
    );
    const result = await runCli(['policy', 'test', file]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAIL  pending is fine really  (expected allow, got deny)');
    expect(result.stdout).toContain('Red team assessment is pending or rejected');
    expect(result.stderr).toContain('1 of 6 policy tests failed: "pending is fine really" (POLICY_TEST_FAILED)');

    const json = await runCli(['--json', 'policy', 'test', file]);
    expect(json.code).toBe(1);
    const body = JSON.parse(json.stdout) as { error: { code: string; details: { report: { tests: { name: string; passed: boolean }[] } } } };
    expect(body.error.code).toBe('POLICY_TEST_FAILED');
    expect(body.error.details.report.tests.filter((t) => !t.passed).map((t) => t.name)).toEqual(['pending is fine really']);
  });

  it('exits 1 with POLICY_INVALID naming the gate and the position when a gate does not compile', async () => {
    const file = editedCopy('broken', (text) => text.replace('sandbox.exists(t, t.predicate.result == "PASSED")', 'sandbox.exists(t, t.predicate.result == PASSED)'));
    const result = await runCli(['policy', 'test', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('gate "sandbox-passed" (spec.gates.1.expr)');
    expect(result.stderr).toContain('PASSED');
    expect(result.stderr).toMatch(/line 1, column 41 of the expression\) \(POLICY_INVALID\)/);
    expect(result.stdout).toBe('');
  });

  it('exits 1 with POLICY_INVALID naming the path of a schema error', async () => {
    const file = editedCopy('schema', (text) => text.replace('threshold: 1}', 'threshold: 0}'));
    const result = await runCli(['policy', 'test', file]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('production.yaml: spec.attestations.redteam.threshold: must be at least 1 (POLICY_INVALID)');
  });

  it('fails the tests a baseline makes fail', async () => {
    const baseline = path.join(scratch, 'baseline.yaml');
    // The server config's own `baseline:` section, as an operator would copy it.
    writeFileSync(baseline, 'production:\n  attestations:\n    evaluation: {predicateType: "https://custody.dev/attestation/evaluation/v1", signers: [qa], message: QA metrics are required}\n');
    const result = await runCli(['policy', 'test', 'examples/policies/production.yaml', '--baseline', baseline]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAIL  clean model passes  (expected allow, got deny)');
    expect(result.stdout).toContain('requirement evaluation (baseline) MISSING: QA metrics are required');
    expect(result.stderr).toContain('POLICY_TEST_FAILED');
  });

  it('exits 2 for a policy file that does not exist', async () => {
    const result = await runCli(['policy', 'test', path.join(scratch, 'absent.yaml')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot read the policy file');
  });
});

describe('the gate evaluator worker', () => {
  it('never keeps a process alive after an evaluation, even unclosed', async () => {
    const policyModule = pathToFileURL(path.join(REPO, 'dist', 'policy', 'index.js')).href;
    const script = `
      import { readFileSync } from 'node:fs';
      const { compilePolicy, evaluatePolicy, parsePolicyDocument, fixtureToPolicyInput, policyFixtureSchema } = await import(${JSON.stringify(policyModule)});
      const doc = parsePolicyDocument(readFileSync(${JSON.stringify(path.join(EXAMPLES, 'production.yaml'))}, 'utf8'));
      const fixture = policyFixtureSchema.parse(JSON.parse(readFileSync(${JSON.stringify(path.join(EXAMPLES, 'fixtures', 'clean.json'))}, 'utf8')));
      const evaluation = await evaluatePolicy(compilePolicy(doc), fixtureToPolicyInput(fixture, 'production'));
      console.log(evaluation.outcome);
    `;
    const started = Date.now();
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('error', reject);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve({ code: exitCode, stdout: out });
      });
    });
    expect(stdout.trim()).toBe('allow');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
