/**
 * Policy documents (SPEC §6): strict parsing of YAML and JSON with errors naming the path,
 * hostile text (alias bombs, oversized, duplicate keys, foreign tags) refused, a digest that
 * depends on meaning rather than key order or formatting, and the diff `policy history` prints.
 */
import { describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { CustodyError } from '../../src/domain/errors.js';
import { diffPolicies, MAX_POLICY_DOCUMENT_BYTES, parsePolicyDocument, policyDigest } from '../../src/policy/policy-document.js';
import { exampleDocument } from './seed-policy.js';

const MINIMAL = `
apiVersion: custody.dev/v1
kind: PromotionPolicy
metadata: {name: p, environment: production}
spec:
  attestations:
    scan: {predicateType: https://in-toto.io/attestation/vulns/v0.2, signers: [security-scanner]}
  gates:
    - {name: g1, expr: 'scan.size() > 0', message: needs a scan}
`;

function invalid(text: string): CustodyError {
  try {
    parsePolicyDocument(text, 'doc.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(CustodyError);
    expect((error as CustodyError).code).toBe('POLICY_INVALID');
    return error as CustodyError;
  }
  throw new Error('the document was accepted');
}

interface EditableRequirement { [key: string]: unknown; predicateType: string; signers: string[]; threshold: number }
interface EditableGate { [key: string]: unknown; name: string; expr: string; message: string }
/** MINIMAL's parsed form, open to edits that make it invalid. */
interface Editable {
  [key: string]: unknown;
  metadata: { name: string; environment: string };
  spec: { attestations: { [name: string]: EditableRequirement; scan: EditableRequirement }; gates: [EditableGate, ...EditableGate[]]; tests?: unknown[]; chain?: unknown };
}

/** MINIMAL with `edit` applied to its parsed form, as JSON text. */
function edited(edit: (doc: Editable) => void): string {
  const doc = JSON.parse(JSON.stringify(parsePolicyDocument(MINIMAL))) as Editable;
  edit(doc);
  return JSON.stringify(doc);
}

describe('parsePolicyDocument', () => {
  it('reads the shipped production policy with the seed\'s requirements, gates and tests', () => {
    const doc = exampleDocument('production');
    expect(doc.metadata).toEqual({ name: 'production-gate', environment: 'production' });
    expect(doc.spec.requireFrom).toBe('staging');
    expect(Object.keys(doc.spec.attestations)).toEqual(['redteam', 'sandbox', 'scan', 'training']);
    expect(doc.spec.attestations['scan']).toEqual({ predicateType: 'https://in-toto.io/attestation/vulns/v0.2', signers: ['security-scanner'], threshold: 1 });
    expect(doc.spec.attestations['training']?.message).toBe('Model has no verified training provenance from the training cluster');
    expect(doc.spec.gates.map((g) => [g.name, g.message])).toEqual([
      ['no-critical-vulns', 'Model has critical vulnerabilities'],
      ['sandbox-passed', 'Model failed sandbox behavioural tests'],
      ['red-team-approved', 'Red team assessment is pending or rejected'],
    ]);
    expect(doc.spec.chain).toBeUndefined();
    expect(doc.spec.tests.length).toBeGreaterThanOrEqual(5);
  });

  it('gives the same digest to YAML and JSON with other key orders and an explicit default threshold', () => {
    const fromYaml = parsePolicyDocument(MINIMAL);
    const json = JSON.stringify({
      spec: {
        gates: [{ message: 'needs a scan', expr: 'scan.size() > 0', name: 'g1' }],
        attestations: { scan: { threshold: 1, signers: ['security-scanner'], predicateType: 'https://in-toto.io/attestation/vulns/v0.2' } },
      },
      metadata: { environment: 'production', name: 'p' },
      kind: 'PromotionPolicy',
      apiVersion: 'custody.dev/v1',
    });
    const fromJson = parsePolicyDocument(json);
    expect(policyDigest(fromJson)).toBe(policyDigest(fromYaml));
    expect(policyDigest(fromYaml)).toMatch(/^sha256:[0-9a-f]{64}$/);
    // And the shipped example round-trips through YAML without changing its digest.
    const seed = exampleDocument('production');
    expect(policyDigest(parsePolicyDocument(stringifyYaml(seed)))).toBe(policyDigest(seed));
  });

  it('changes the digest when any rule changes', () => {
    const base = policyDigest(parsePolicyDocument(MINIMAL));
    expect(policyDigest(parsePolicyDocument(edited((d) => (d.spec.attestations.scan.threshold = 2))))).not.toBe(base);
    expect(policyDigest(parsePolicyDocument(edited((d) => (d.spec.gates[0].expr = 'scan.size() > 1'))))).not.toBe(base);
    expect(policyDigest(parsePolicyDocument(edited((d) => (d.spec.gates[0].message = 'other'))))).not.toBe(base);
  });

  it.each([
    ['an unknown top-level key', (d: Editable) => (d['extra'] = 1), '(root): unknown key(s) extra'],
    ['an unknown gate key', (d: Editable) => (d.spec.gates[0].when = 'x'), 'spec.gates.0: unknown key(s) when'],
    ['an unknown requirement key', (d: Editable) => (d.spec.attestations.scan.optional = true), 'spec.attestations.scan: unknown key(s) optional'],
    ['an empty expression', (d: Editable) => d.spec.gates.push({ name: 'g2', expr: '', message: 'm' }), 'spec.gates.1.expr: must not be empty'],
    ['an expression over 4,000 characters', (d: Editable) => (d.spec.gates[0].expr = `${'1 + '.repeat(1000)}1 > 0`), 'spec.gates.0.expr: must be at most 4000 characters'],
    ['a requirement name that is not a CEL identifier', (d: Editable) => (d.spec.attestations['Red-Team'] = d.spec.attestations.scan), 'spec.attestations.Red-Team: requirement name "Red-Team" must be a CEL identifier'],
    ['a requirement named like an input variable', (d: Editable) => (d.spec.attestations['version'] = d.spec.attestations.scan), 'spec.attestations.version: requirement name "version" is reserved'],
    ['a requirement named attestations', (d: Editable) => (d.spec.attestations['attestations'] = d.spec.attestations.scan), 'is reserved'],
    ['a requirement named like a CEL keyword', (d: Editable) => (d.spec.attestations['in'] = d.spec.attestations.scan), 'is a CEL keyword'],
    ['two gates with one name', (d: Editable) => d.spec.gates.push({ ...d.spec.gates[0] }), 'spec.gates.1.name: gate name "g1" is used twice'],
    ['a threshold of 0', (d: Editable) => (d.spec.attestations.scan.threshold = 0), 'spec.attestations.scan.threshold: must be at least 1'],
    ['a fractional threshold', (d: Editable) => (d.spec.attestations.scan.threshold = 1.5), 'spec.attestations.scan.threshold: must be an integer'],
    ['no signers', (d: Editable) => (d.spec.attestations.scan.signers = []), 'spec.attestations.scan.signers: must name at least one signer key'],
    ['a repeated signer', (d: Editable) => (d.spec.attestations.scan.signers = ['a', 'a']), 'spec.attestations.scan.signers: must not repeat a signer'],
    ['another apiVersion', (d: Editable) => (d['apiVersion'] = 'custody.dev/v2'), 'apiVersion:'],
    ['another kind', (d: Editable) => (d['kind'] = 'Policy'), 'kind:'],
    ['a bad environment name', (d: Editable) => (d.metadata.environment = 'Prod!'), 'metadata.environment: must be an environment name'],
    ['a test with both a fixture and an inline input', (d: Editable) => (d.spec.tests = [{ name: 't', input: { fixture: 'a.json', inline: {} }, expect: 'allow' }]), 'spec.tests.0.input: must be either {fixture: PATH} or {inline: FIXTURE}'],
    ['a test expecting something else', (d: Editable) => (d.spec.tests = [{ name: 't', input: { fixture: 'a.json' }, expect: 'maybe' }]), 'spec.tests.0.expect:'],
    ['an inline fixture with an unknown key', (d: Editable) => (d.spec.tests = [{ name: 't', input: { inline: { attestations: [{ predicateType: 'x', signer: { name: 'a' }, colour: 'red' }] } }, expect: 'deny' }]), 'spec.tests.0.input.inline.attestations.0: unknown key(s) colour'],
    ['a chain without steps', (d: Editable) => (d.spec.chain = { steps: [], roots: [] }), 'spec.chain.steps: must list at least one step'],
  ])('refuses %s, naming the path', (_what, edit, expected) => {
    const error = invalid(edited(edit));
    expect(error.message).toContain('doc.yaml: ');
    expect(error.message).toContain(expected);
  });

  it('refuses duplicate keys, naming the line', () => {
    const error = invalid(MINIMAL.replace('kind: PromotionPolicy', 'kind: PromotionPolicy\nkind: PromotionPolicy'));
    expect(error.message).toMatch(/Map keys must be unique.*line 4/);
    expect(invalid('{"apiVersion": "custody.dev/v1", "apiVersion": "custody.dev/v1"}').message).toContain('Map keys must be unique');
  });

  it('refuses YAML that is not one plain document: syntax errors, several documents, foreign tags, non-finite numbers', () => {
    expect(invalid('spec: [1, 2').message).toMatch(/line 1/);
    expect(invalid(`${MINIMAL}\n---\n${MINIMAL}`).message).toContain('multiple documents');
    expect(invalid(MINIMAL.replace('metadata:', 'blob: !!binary aGVsbG8=\nmetadata:')).message).toContain('doc.yaml');
    expect(invalid(MINIMAL.replace('metadata:', 'x: !custom thing\nmetadata:')).message).toContain('doc.yaml');
    expect(invalid(MINIMAL.replace('metadata:', 'x: .inf\nmetadata:')).message).toContain('not a JSON number');
    expect(invalid('   \n').message).toContain('empty document');
    expect(invalid('just a string').message).toContain('(root)');
  });

  it('refuses an alias bomb before it expands', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array.from({ length: 10 }, () => `*${prev}`).join(',')}]`);
    }
    const started = Date.now();
    const error = invalid(levels.join('\n'));
    expect(error.message).toMatch(/alias/i);
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('refuses a document over the size limit without parsing it', () => {
    const big = `${MINIMAL}\n# ${'x'.repeat(MAX_POLICY_DOCUMENT_BYTES)}\n`;
    const error = invalid(big);
    expect(error.message).toContain(`more than the limit of ${MAX_POLICY_DOCUMENT_BYTES}`);
  });
});

describe('diffPolicies', () => {
  it('shows a weakened gate as a removed and an added line, headed by both digests', () => {
    const before = exampleDocument('production');
    const after = parsePolicyDocument(
      JSON.stringify({ ...before, spec: { ...before.spec, gates: before.spec.gates.filter((g) => g.name !== 'red-team-approved') } }),
    );
    const diff = diffPolicies(before, after);
    expect(diff.split('\n').slice(0, 2)).toEqual([`--- ${policyDigest(before)}`, `+++ ${policyDigest(after)}`]);
    expect(diff).toContain('-    - name: red-team-approved');
    expect(diff).toContain('-      message: Red team assessment is pending or rejected');
    expect(diff).toMatch(/^@@ -\d+,\d+ \+\d+,\d+ @@$/m);
    expect(diff.split('\n').filter((l) => l.startsWith('+') && !l.startsWith('+++'))).toEqual([]);
  });

  it('shows every line as added for the first version, and nothing for equal documents', () => {
    const doc = parsePolicyDocument(MINIMAL);
    const first = diffPolicies(null, doc);
    expect(first.split('\n')[0]).toBe('--- (no policy)');
    expect(first).toContain('+apiVersion: custody.dev/v1');
    expect(first.split('\n').some((l) => l.startsWith('-') && !l.startsWith('---'))).toBe(false);
    expect(diffPolicies(doc, parsePolicyDocument(MINIMAL))).toBe('');
  });

  it('shows a lowered threshold as a changed line', () => {
    const strict = parsePolicyDocument(edited((d) => (d.spec.attestations.scan.threshold = 2)));
    const weak = parsePolicyDocument(MINIMAL);
    const diff = diffPolicies(strict, weak);
    expect(diff).toContain('-      threshold: 2');
    expect(diff).toContain('+      threshold: 1');
  });
});
