/**
 * Compiling gates (SPEC §6.1, §10 "policy as a weapon"): a policy whose gates do not parse, do
 * not type-check against the §6.1 input, do not return bool, call `matches`, nest comprehensions
 * more than three deep or exceed the AST bounds is refused with POLICY_INVALID naming the gate and
 * the position; the effective digest binds baseline and document.
 */
import { describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { compilePolicy, NO_POLICY_DIGEST, type Baseline } from '../../src/policy/compile-policy.js';
import { parsePolicyDocument, policyDigest, type PolicyDocument } from '../../src/policy/policy-document.js';
import { exampleDocument, SCAN, TRAINING } from './seed-policy.js';

function policyWithGates(gates: readonly { name: string; expr: string }[]): PolicyDocument {
  return parsePolicyDocument(
    JSON.stringify({
      apiVersion: 'custody.dev/v1',
      kind: 'PromotionPolicy',
      metadata: { name: 'p', environment: 'production' },
      spec: {
        attestations: { scan: { predicateType: SCAN, signers: ['security-scanner'] } },
        gates: gates.map((g) => ({ ...g, message: `${g.name} failed` })),
      },
    }),
  );
}

function compileError(expr: string, baseline: Baseline = {}): CustodyError {
  try {
    compilePolicy(policyWithGates([{ name: 'fine', expr: 'true' }, { name: 'bad-gate', expr }]), baseline);
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe('POLICY_INVALID');
    return error as CustodyError;
  }
  throw new Error(`compiled: ${expr}`);
}

describe('compilePolicy', () => {
  it('compiles the seed policy: its gates read the requirements they name', () => {
    const compiled = compilePolicy(exampleDocument('production'));
    expect(compiled.gates.map((g) => [g.name, g.requirements])).toEqual([
      ['no-critical-vulns', ['scan']],
      ['sandbox-passed', ['sandbox']],
      ['red-team-approved', ['redteam']],
    ]);
    expect(compiled.digest).toBe(policyDigest(exampleDocument('production')));
    expect(compiled.variables.map(([name, type]) => `${name}: ${type}`)).toEqual([
      'redteam: list<dyn>',
      'sandbox: list<dyn>',
      'scan: list<dyn>',
      'training: list<dyn>',
      'version: map<string, dyn>',
      'model: map<string, dyn>',
      'provenance: map<string, dyn>',
      'principal: map<string, dyn>',
      'environment: string',
      'now: google.protobuf.Timestamp',
    ]);
  });

  it('accepts gates over every input variable, including now as a timestamp', () => {
    const compiled = compilePolicy(
      policyWithGates([
        { name: 'version', expr: 'version.number >= 1 && version.size > 0 && version.environments.exists(e, e == "staging")' },
        { name: 'model', expr: 'model.namespace == "fraud" && model.name.startsWith("det")' },
        { name: 'provenance', expr: '!has(provenance.trainingData) || provenance.trainingData != ""' },
        { name: 'principal', expr: 'principal.kind == "service" && has(principal.claims.ref)' },
        { name: 'time', expr: 'scan.all(s, timestamp(s.loggedAt) > now - duration("720h")) && environment == "production"' },
      ]),
    );
    expect(compiled.gates).toHaveLength(5);
  });

  it('names the gate and the line and column of a syntax error', () => {
    const error = compileError('scan.size() >\n  > 1');
    expect(error.message).toMatch(/^gate "bad-gate" \(spec\.gates\.1\.expr\): .+ \(line 2, column 3 of the expression\)$/);
    expect(error.details).toMatchObject({ gate: 'bad-gate', path: 'spec.gates.1.expr', position: { line: 2, column: 3 } });
  });

  it('refuses an unknown variable, naming it and its position', () => {
    const error = compileError('scan.size() > 0 && sbom.size() > 0');
    expect(error.message).toContain('gate "bad-gate"');
    expect(error.message).toContain('sbom');
    expect(error.details?.['position']).toMatchObject({ line: 1, column: 20 });
  });

  it('refuses a gate that does not return bool', () => {
    expect(compileError('scan.size()').message).toContain('must be a bool, not int');
    expect(compileError('scan[0].predicate.passed').message).toContain('must be a bool, not dyn');
  });

  it('refuses type errors such as adding a string to an int', () => {
    expect(compileError('scan.size() + "x" == 1').message).toMatch(/gate "bad-gate".*\+/);
    expect(compileError('environment > 3').message).toContain('gate "bad-gate"');
  });

  it('refuses matches() in any form, at its position', () => {
    const method = compileError('scan.exists(s, s.predicate.id.matches("^(a+)+$"))');
    expect(method.message).toContain('matches() is not allowed');
    expect(method.details?.['position']).toMatchObject({ line: 1, column: 16 });
    expect(compileError('matches(environment, "a+")').message).toContain('matches() is not allowed');
  });

  it('allows three nested comprehensions and refuses a fourth', () => {
    expect(() => compilePolicy(policyWithGates([{ name: 'three', expr: 'scan.all(a, scan.all(b, scan.all(c, a == b || b == c)))' }]))).not.toThrow();
    const error = compileError('scan.all(a, scan.exists(b, scan.map(c, c).filter(d, scan.all(e, d == e)).size() > 0))');
    expect(error.message).toContain('at most 3');
    // Chained comprehensions run one after another, they do not multiply.
    expect(() => compilePolicy(policyWithGates([{ name: 'chain', expr: 'scan.map(a, a).map(b, b).filter(c, true).map(d, d).all(e, true)' }]))).not.toThrow();
  });

  it('refuses expressions beyond the AST bounds', () => {
    expect(compileError(`${Array.from({ length: 600 }, () => '1').join('+')} > 0`).message).toMatch(/gate "bad-gate".*maxAstNodes/);
    expect(compileError(`${'('.repeat(60)}true${')'.repeat(60)}`).message).toMatch(/gate "bad-gate".*maxDepth/);
  });

  it('refuses an expression longer than 4,000 characters even when built in code', () => {
    const doc = policyWithGates([{ name: 'ok', expr: 'true' }]);
    const long: PolicyDocument = { ...doc, spec: { ...doc.spec, gates: [{ name: 'long', expr: `${'true && '.repeat(600)}true`, message: 'm' }] } };
    expect(() => compilePolicy(long)).toThrow(/gate "long".*longer than 4000/);
  });

  it('declares baseline requirement names for the gates too', () => {
    const baseline: Baseline = { training: { predicateType: TRAINING, signers: ['training-cluster'], threshold: 1 } };
    expect(() => compilePolicy(policyWithGates([{ name: 'uses-baseline', expr: 'training.size() > 0' }]), baseline)).not.toThrow();
    expect(() => compilePolicy(policyWithGates([{ name: 'uses-baseline', expr: 'training.size() > 0' }]))).toThrow(CustodyError);
  });

  it('refuses a malformed baseline with CONFIG_INVALID', () => {
    const bad = { Version: { predicateType: TRAINING, signers: ['t'], threshold: 1 } } as Baseline;
    expect(() => compilePolicy(null, bad)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error);
  });

  it('binds baseline and document in the effective digest; no document means the null-policy marker', () => {
    const doc = exampleDocument('production');
    const baseline: Baseline = { training: { predicateType: TRAINING, signers: ['training-cluster'], threshold: 1 } };
    const withBoth = compilePolicy(doc, baseline);
    const docOnly = compilePolicy(doc);
    const baselineOnly = compilePolicy(null, baseline);
    expect(new Set([withBoth.effectiveDigest, docOnly.effectiveDigest, baselineOnly.effectiveDigest]).size).toBe(3);
    expect(compilePolicy(doc, baseline).effectiveDigest).toBe(withBoth.effectiveDigest);
    expect(baselineOnly.digest).toBe(NO_POLICY_DIGEST);
    expect(baselineOnly.gates).toEqual([]);
    expect(baselineOnly.requirements.map((r) => [r.name, r.source])).toEqual([['training', 'baseline']]);
  });
});
