/**
 * Evaluating the effective policy (SPEC §6.1): the seed's four gates each deny with the seed's
 * message when their attestation is missing, invalid, revoked or says so, and allow when all
 * hold; thresholds count distinct keys; `requireFrom`; the baseline is a floor no document can
 * remove or weaken; the input digest names exactly what the gates saw.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compilePolicy, type Baseline } from '../../src/policy/compile-policy.js';
import { closePolicyEvaluator, evaluatePolicy, type Evaluation, type PolicyInput } from '../../src/policy/evaluate-policy.js';
import { parsePolicyDocument, type PolicyDocument } from '../../src/policy/policy-document.js';
import { MAX_INPUT_ATTESTATIONS, MAX_PREDICATE_BYTES } from '../../src/policy/policy-input.js';
import { addAttestation, attestation, editAttestations, exampleDocument, fixtureInput, REDTEAM, SANDBOX, SCAN, TRAINING } from './seed-policy.js';

afterAll(() => closePolicyEvaluator());

const production = compilePolicy(exampleDocument('production'));
const clean = (): PolicyInput => fixtureInput('clean.json');

const requirement = (e: Evaluation, name: string) => e.requirements.find((r) => r.name === name);
const gate = (e: Evaluation, name: string) => e.gates.find((g) => g.name === name);
const notPassing = (e: Evaluation) => [
  ...e.requirements.filter((r) => r.result !== 'PASS').map((r) => `${r.name}:${r.result}`),
  ...e.gates.filter((g) => g.result !== 'PASS').map((g) => `${g.name}:${g.result}`),
];

/** The part of a vulns v0.2 predicate the seed's gate reads. */
interface ScanPredicate { scanner: { result: { id: string; severity: { method: string; score: string }[] }[] } }

function withPredicate(input: PolicyInput, predicateType: string, edit: (p: Record<string, unknown>) => void): PolicyInput {
  return editAttestations(input, predicateType, (a) => {
    const predicate = structuredClone(a.predicate) as Record<string, unknown>;
    edit(predicate);
    return { ...a, predicate };
  });
}

const gated = [
  { gate: 'no-critical-vulns', requirement: 'scan', type: SCAN, signer: 'security-scanner', message: 'Model has critical vulnerabilities' },
  { gate: 'sandbox-passed', requirement: 'sandbox', type: SANDBOX, signer: 'sandbox', message: 'Model failed sandbox behavioural tests' },
  { gate: 'red-team-approved', requirement: 'redteam', type: REDTEAM, signer: 'red-team', message: 'Red team assessment is pending or rejected' },
] as const;

describe('the seed production policy', () => {
  it('allows a version in staging whose four attestations all hold', async () => {
    const evaluation = await evaluatePolicy(production, clean());
    expect(notPassing(evaluation)).toEqual([]);
    expect(evaluation.outcome).toBe('allow');
    expect(evaluation.policyDigest).toBe(production.digest);
    expect(evaluation.effectiveDigest).toBe(production.effectiveDigest);
    expect(evaluation.inputDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(requirement(evaluation, 'scan')?.satisfiedBy).toEqual([clean().attestations.find((a) => a.predicateType === SCAN)?.digest]);
  });

  describe.each(gated)('gate $gate', ({ gate: gateName, requirement: name, type, signer, message }) => {
    it('denies with the seed\'s message when the attestation is missing', async () => {
      const evaluation = await evaluatePolicy(production, editAttestations(clean(), type, () => null));
      expect(evaluation.outcome).toBe('deny');
      expect(requirement(evaluation, name)).toMatchObject({ result: 'MISSING', message: `no valid ${type} attestation signed by ${signer}` });
      expect(gate(evaluation, gateName)).toMatchObject({ result: 'MISSING', message });
      expect(gate(evaluation, gateName)?.detail).toContain(`requirement ${name} is MISSING`);
      expect(notPassing(evaluation)).toEqual([`${name}:MISSING`, `${gateName}:MISSING`]);
    });

    it('denies with the seed\'s message when the attestation is invalid', async () => {
      const evaluation = await evaluatePolicy(production, editAttestations(clean(), type, (a) => ({ ...a, status: 'invalid', reason: 'signature does not verify' })));
      expect(evaluation.outcome).toBe('deny');
      expect(requirement(evaluation, name)?.result).toBe('FAIL');
      expect(requirement(evaluation, name)?.message).toContain('signature does not verify');
      expect(gate(evaluation, gateName)).toMatchObject({ result: 'FAIL', message });
    });

    it('denies with the seed\'s message when the attestation\'s key is revoked', async () => {
      const evaluation = await evaluatePolicy(production, editAttestations(clean(), type, (a) => ({ ...a, status: 'revoked' })));
      expect(evaluation.outcome).toBe('deny');
      expect(requirement(evaluation, name)?.result).toBe('REVOKED');
      expect(gate(evaluation, gateName)).toMatchObject({ result: 'REVOKED', message });
    });

    it('denies when the attestation is signed by a key that is not one of its signers', async () => {
      const evaluation = await evaluatePolicy(production, editAttestations(clean(), type, (a) => ({ ...a, signer: { name: 'someone-else', keyId: 'ab'.repeat(32) } })));
      expect(evaluation.outcome).toBe('deny');
      expect(requirement(evaluation, name)?.result).toBe('MISSING');
      expect(gate(evaluation, gateName)?.message).toBe(message);
    });
  });

  it('denies "Model has critical vulnerabilities" when the scan reports a CRITICAL finding', async () => {
    const input = withPredicate(clean(), SCAN, (p) => {
      (p as unknown as ScanPredicate).scanner.result.push({ id: 'CVE-2026-9', severity: [{ method: 'cvss_v3', score: 'CRITICAL' }] });
    });
    const evaluation = await evaluatePolicy(production, input);
    expect(notPassing(evaluation)).toEqual(['no-critical-vulns:FAIL']);
    expect(gate(evaluation, 'no-critical-vulns')).toMatchObject({ result: 'FAIL', message: 'Model has critical vulnerabilities' });
  });

  it('denies "Model failed sandbox behavioural tests" when the sandbox result is FAILED', async () => {
    const evaluation = await evaluatePolicy(production, withPredicate(clean(), SANDBOX, (p) => (p['result'] = 'FAILED')));
    expect(notPassing(evaluation)).toEqual(['sandbox-passed:FAIL']);
    expect(gate(evaluation, 'sandbox-passed')?.message).toBe('Model failed sandbox behavioural tests');
  });

  it.each(['PENDING', 'REJECTED'])('denies "Red team assessment is pending or rejected" when the red team says %s', async (status) => {
    const evaluation = await evaluatePolicy(production, withPredicate(clean(), REDTEAM, (p) => (p['status'] = status)));
    expect(notPassing(evaluation)).toEqual(['red-team-approved:FAIL']);
    expect(gate(evaluation, 'red-team-approved')?.message).toBe('Red team assessment is pending or rejected');
  });

  it.each([
    ['missing', (a: PolicyInput) => editAttestations(a, TRAINING, () => null), 'MISSING'],
    ['invalid', (a: PolicyInput) => editAttestations(a, TRAINING, (t) => ({ ...t, status: 'invalid' })), 'FAIL'],
    ['revoked', (a: PolicyInput) => editAttestations(a, TRAINING, (t) => ({ ...t, status: 'revoked' })), 'REVOKED'],
  ] as const)('denies with the training requirement\'s message when the provenance is %s', async (_what, edit, result) => {
    const evaluation = await evaluatePolicy(production, edit(clean()));
    expect(notPassing(evaluation)).toEqual([`training:${result}`]);
    expect(requirement(evaluation, 'training')).toMatchObject({ source: 'policy', message: 'Model has no verified training provenance from the training cluster' });
  });

  it('denies "must currently be in staging" for a version that is not in staging', async () => {
    const input = clean();
    const evaluation = await evaluatePolicy(production, { ...input, version: { ...input.version, environments: ['development'] } });
    expect(notPassing(evaluation)).toEqual(['requireFrom:FAIL']);
    expect(requirement(evaluation, 'requireFrom')).toMatchObject({ source: 'requireFrom', message: 'must currently be in staging' });
  });

  it('keeps a revoked attestation from counting even when a valid one of another type exists', async () => {
    // A revoked red-team approval beside a valid PENDING one: the gate sees only the valid PENDING.
    const input = addAttestation(
      withPredicate(clean(), REDTEAM, (p) => (p['status'] = 'PENDING')),
      { ...attestation(REDTEAM, 'red-team', 'cd'.repeat(32), { status: 'APPROVED' }), status: 'revoked' },
    );
    const evaluation = await evaluatePolicy(production, input);
    expect(notPassing(evaluation)).toEqual(['red-team-approved:FAIL']);
  });
});

describe('thresholds', () => {
  const twoPerson = compilePolicy(
    parsePolicyDocument(
      JSON.stringify({
        apiVersion: 'custody.dev/v1',
        kind: 'PromotionPolicy',
        metadata: { name: 'two', environment: 'production' },
        spec: { attestations: { redteam: { predicateType: REDTEAM, signers: ['red-team', 'red-team-lead'], threshold: 2 } } },
      }),
    ),
  );
  const base = { ...clean(), attestations: [] };

  it('does not count two attestations by one key twice', async () => {
    const key = '11'.repeat(32);
    const input = { ...base, attestations: [attestation(REDTEAM, 'red-team', key), attestation(REDTEAM, 'red-team', key)] };
    const evaluation = await evaluatePolicy(twoPerson, input);
    expect(evaluation.outcome).toBe('deny');
    expect(requirement(evaluation, 'redteam')).toMatchObject({ result: 'FAIL' });
    expect(requirement(evaluation, 'redteam')?.message).toContain('needs valid attestations from 2 distinct keys of red-team or red-team-lead; found 1 key');
  });

  it('is met by two distinct keys among its signers', async () => {
    const input = { ...base, attestations: [attestation(REDTEAM, 'red-team', '11'.repeat(32)), attestation(REDTEAM, 'red-team-lead', '22'.repeat(32))] };
    const evaluation = await evaluatePolicy(twoPerson, input);
    expect(evaluation.outcome).toBe('allow');
    expect(requirement(evaluation, 'redteam')?.satisfiedBy).toHaveLength(2);
  });

  it('does not count a second key once it is revoked', async () => {
    const input = { ...base, attestations: [attestation(REDTEAM, 'red-team', '11'.repeat(32)), { ...attestation(REDTEAM, 'red-team-lead', '22'.repeat(32)), status: 'revoked' as const }] };
    expect((await evaluatePolicy(twoPerson, input)).outcome).toBe('deny');
  });
});

describe('the baseline floor', () => {
  const baseline: Baseline = {
    training: { predicateType: TRAINING, signers: ['training-cluster'], threshold: 1, message: 'baseline: training provenance is required' },
  };
  const doc = (attestations: Record<string, unknown>, gates: unknown[] = []): PolicyDocument =>
    parsePolicyDocument(JSON.stringify({ apiVersion: 'custody.dev/v1', kind: 'PromotionPolicy', metadata: { name: 'weak', environment: 'production' }, spec: { attestations, gates } }));

  it('still requires the baseline training provenance when the document leaves it out', async () => {
    const compiled = compilePolicy(doc({ scan: { predicateType: SCAN, signers: ['security-scanner'] } }), baseline);
    const evaluation = await evaluatePolicy(compiled, editAttestations(clean(), TRAINING, () => null));
    expect(evaluation.outcome).toBe('deny');
    expect(requirement(evaluation, 'training')).toMatchObject({ source: 'baseline', result: 'MISSING', message: 'baseline: training provenance is required' });
    expect((await evaluatePolicy(compiled, clean())).outcome).toBe('allow');
  });

  it('applies the baseline requirement beside a weaker document requirement of the same name', async () => {
    // The document lets any "laptop" key sign training provenance; the baseline still wants the cluster.
    const weak = doc({ training: { predicateType: TRAINING, signers: ['laptop'] } }, [{ name: 'trained', expr: 'training.size() > 0', message: 'no training' }]);
    const compiled = compilePolicy(weak, baseline);
    const input = editAttestations(clean(), TRAINING, (a) => ({ ...a, signer: { name: 'laptop', keyId: 'ee'.repeat(32) } }));
    const evaluation = await evaluatePolicy(compiled, input);
    expect(evaluation.requirements.filter((r) => r.name === 'training').map((r) => [r.source, r.result])).toEqual([
      ['baseline', 'MISSING'],
      ['policy', 'PASS'],
    ]);
    // The gate sees the document's list, and the decision is still deny.
    expect(gate(evaluation, 'trained')?.result).toBe('PASS');
    expect(evaluation.outcome).toBe('deny');
  });

  it('applies the baseline alone when no policy is active', async () => {
    const compiled = compilePolicy(null, baseline);
    const denied = await evaluatePolicy(compiled, editAttestations(clean(), TRAINING, () => null));
    expect(denied.outcome).toBe('deny');
    expect(denied.policyDigest).toBeNull();
    expect((await evaluatePolicy(compiled, clean())).outcome).toBe('allow');
  });
});

describe('the CEL input', () => {
  const probe = (expr: string): ReturnType<typeof compilePolicy> =>
    compilePolicy(
      parsePolicyDocument(
        JSON.stringify({
          apiVersion: 'custody.dev/v1',
          kind: 'PromotionPolicy',
          metadata: { name: 'probe', environment: 'production' },
          spec: { attestations: { scan: { predicateType: SCAN, signers: ['security-scanner'] } }, gates: [{ name: 'probe', expr, message: 'probe failed' }] },
        }),
      ),
    );

  it.each([
    ['integer-valued numbers are ints', 'scan.all(s, s.predicate.count == 3 && type(s.predicate.count) == int)'],
    ['other numbers are doubles', 'scan.all(s, s.predicate.ratio == 0.5 && type(s.predicate.ratio) == double)'],
    ['statements carry type, signer and loggedAt', `scan.all(s, s.predicateType == "${SCAN}" && s.signer.name == "security-scanner" && size(s.signer.keyId) == 64 && timestamp(s.loggedAt) < now)`],
    ['version, model, principal and environment', 'version.number == 3 && "staging" in version.environments && model.namespace == "fraud" && principal.kind == "service" && principal.claims.ref == "refs/heads/main" && environment == "production"'],
    ['now is a timestamp', 'now == timestamp("2026-11-26T12:00:00Z") && now - duration("48h") < timestamp(version.registeredAt) && now - duration("24h") > timestamp(version.registeredAt)'],
    ['a missing provenance is an empty map', '!has(provenance.trainingData) && size(provenance) == 0'],
  ])('%s', async (_what, expr) => {
    const input = withPredicate(clean(), SCAN, (p) => Object.assign(p, { count: 3, ratio: 0.5 }));
    const evaluation = await evaluatePolicy(probe(expr), input);
    expect(gate(evaluation, 'probe')).toEqual({ name: 'probe', result: 'PASS', message: 'probe failed' });
  });

  it('reports a gate that fails at run time as ERROR and denies', async () => {
    const evaluation = await evaluatePolicy(probe('scan.all(s, s.predicate.nothere == 1)'), clean());
    expect(evaluation.outcome).toBe('deny');
    expect(gate(evaluation, 'probe')?.result).toBe('ERROR');
    expect(gate(evaluation, 'probe')?.detail).toContain('nothere');
  });

  it('has a digest that is stable for equal input and changes with any byte of it', async () => {
    const input = clean();
    const digest = async (i: PolicyInput) => (await evaluatePolicy(production, i)).inputDigest;
    const first = await digest(input);
    expect(await digest(clean())).toBe(first);
    // Key order inside a predicate is not part of the input's meaning.
    const reordered = editAttestations(input, SANDBOX, (a) => ({ ...a, predicate: Object.fromEntries(Object.entries(a.predicate as object).reverse()) }));
    expect(await digest(reordered)).toBe(first);
    const changed = [
      withPredicate(input, SCAN, (p) => {
        const finding = (p as unknown as ScanPredicate).scanner.result[0]?.severity[0];
        if (finding !== undefined) finding.score = 'LOw';
      }),
      { ...input, now: '2026-11-26T12:00:01Z' },
      { ...input, version: { ...input.version, number: 4 } },
      { ...input, principal: { ...input.principal, claims: { ref: 'refs/heads/mainx' } } },
      { ...input, environment: 'production2' },
      editAttestations(input, TRAINING, (a) => ({ ...a, loggedAt: '2026-11-25T10:00:06Z' })),
    ];
    const digests = await Promise.all(changed.map(digest));
    expect(new Set([first, ...digests]).size).toBe(changed.length + 1);
  });

  it('fails every gate, without trimming, when the input is over its bounds', async () => {
    const many = { ...clean(), attestations: [...clean().attestations, ...Array.from({ length: MAX_INPUT_ATTESTATIONS }, () => attestation('https://example.com/other', 'x', '33'.repeat(32)))] };
    const tooMany = await evaluatePolicy(production, many);
    expect(tooMany.outcome).toBe('deny');
    expect(tooMany.gates.map((g) => g.result)).toEqual(['ERROR', 'ERROR', 'ERROR']);
    expect(tooMany.gates[0]?.detail).toContain(`limit of ${MAX_INPUT_ATTESTATIONS}`);

    const huge = withPredicate(clean(), SCAN, (p) => (p['padding'] = 'x'.repeat(MAX_PREDICATE_BYTES)));
    const tooBig = await evaluatePolicy(production, huge);
    expect(tooBig.outcome).toBe('deny');
    expect(tooBig.gates.every((g) => g.result === 'ERROR')).toBe(true);
    expect(tooBig.gates[0]?.detail).toContain(`limit of ${MAX_PREDICATE_BYTES}`);
  });

  it('evaluates a policy\'s provenance chain as one more requirement: no pipeline evidence denies, naming the step', async () => {
    const doc = exampleDocument('production');
    const withChain = compilePolicy({ ...doc, spec: { ...doc.spec, chain: { steps: [{ name: 'ingest', predicateType: 'https://in-toto.io/attestation/link/v0.3', signers: ['data-platform'] }], roots: [] } } });
    const evaluation = await evaluatePolicy(withChain, clean());
    expect(evaluation.outcome).toBe('deny');
    expect(notPassing(evaluation)).toEqual(['chain:FAIL']);
    expect(requirement(evaluation, 'chain')?.message).toBe('no valid attestation of step ingest signed by data-platform');
  });
});
