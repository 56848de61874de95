/**
 * SPEC §10 "policy as a weapon (a gate that loops or explodes)": a gate that compiles within the
 * bounds but runs away on a large input is cut at the evaluation time limit and reported as ERROR
 * (deny), and the evaluator recovers for the next evaluation. Also: concurrent evaluations queue
 * safely, and one evaluation of the seed policy with 20 attestations stays fast.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { compilePolicy } from '../../src/policy/compile-policy.js';
import { closePolicyEvaluator, evaluatePolicy, type PolicyInput } from '../../src/policy/evaluate-policy.js';
import { parsePolicyDocument } from '../../src/policy/policy-document.js';
import { attestation, exampleDocument, fixtureInput, REDTEAM, SANDBOX, SCAN, TRAINING } from './seed-policy.js';

afterAll(() => closePolicyEvaluator());

const production = compilePolicy(exampleDocument('production'));
const XS = 'scan[0].predicate.xs';

function hostile(gates: { name: string; expr: string }[]) {
  return compilePolicy(
    parsePolicyDocument(
      JSON.stringify({
        apiVersion: 'custody.dev/v1',
        kind: 'PromotionPolicy',
        metadata: { name: 'weapon', environment: 'production' },
        spec: { attestations: { scan: { predicateType: SCAN, signers: ['security-scanner'] } }, gates: gates.map((g) => ({ ...g, message: `${g.name} failed` })) },
      }),
    ),
  );
}

/** The clean fixture with a scan whose predicate carries a 1,000-element list (well inside the input bounds). */
function bigListInput(): PolicyInput {
  const input = fixtureInput('clean.json');
  return {
    ...input,
    attestations: input.attestations.map((a) => (a.predicateType === SCAN ? { ...a, predicate: { ...(a.predicate as object), xs: Array.from({ length: 1_000 }, (_, i) => i) } } : a)),
  };
}

describe('the evaluation time limit', () => {
  it('cuts three nested comprehensions over a 1,000-element list and denies with ERROR, then recovers', async () => {
    const policy = hostile([
      { name: 'cheap', expr: 'scan.size() == 1' },
      { name: 'cubic', expr: `${XS}.all(a, ${XS}.all(b, ${XS}.all(c, a + b + c >= 0)))` },
      { name: 'after', expr: 'true' },
    ]);
    const started = performance.now();
    const evaluation = await evaluatePolicy(policy, bigListInput(), { timeLimitMs: 200 });
    const elapsed = performance.now() - started;
    expect(evaluation.outcome).toBe('deny');
    expect(evaluation.gates.map((g) => [g.name, g.result])).toEqual([
      ['cheap', 'PASS'],
      ['cubic', 'ERROR'],
      ['after', 'ERROR'],
    ]);
    expect(evaluation.gates[1]?.detail).toContain('time limit of 200 ms');
    expect(evaluation.gates[2]?.detail).toContain('not evaluated');
    // A billion steps would take minutes; the cut comes at the limit (plus worker teardown).
    expect(elapsed).toBeLessThan(3_000);

    const next = await evaluatePolicy(production, fixtureInput('clean.json'));
    expect(next.outcome).toBe('allow');
  });

  it('cuts a gate that builds an exploding list, and the next evaluation still works', async () => {
    const policy = hostile([{ name: 'explode', expr: `${XS}.map(a, ${XS}.map(b, ${XS})).size() > 0` }]);
    const evaluation = await evaluatePolicy(policy, bigListInput(), { timeLimitMs: 250 });
    expect(evaluation.outcome).toBe('deny');
    expect(evaluation.gates[0]?.result).toBe('ERROR');
    expect((await evaluatePolicy(production, fixtureInput('clean.json'))).outcome).toBe('allow');
  });

  it('does not let one runaway evaluation fail evaluations queued behind it', async () => {
    const runaway = hostile([{ name: 'cubic', expr: `${XS}.all(a, ${XS}.all(b, ${XS}.all(c, a + b + c >= 0)))` }]);
    const [cut, ...others] = await Promise.all([
      evaluatePolicy(runaway, bigListInput(), { timeLimitMs: 150 }),
      ...Array.from({ length: 5 }, () => evaluatePolicy(production, fixtureInput('clean.json'))),
    ]);
    expect(cut?.gates[0]?.result).toBe('ERROR');
    expect(others.map((e) => e.outcome)).toEqual(['allow', 'allow', 'allow', 'allow', 'allow']);
  });

  it('evaluates 50 concurrent requests each with its own answer', async () => {
    const inputs = Array.from({ length: 50 }, (_, i) => {
      const input = fixtureInput(i % 2 === 0 ? 'clean.json' : 'redteam-pending.json');
      return input;
    });
    const outcomes = await Promise.all(inputs.map((input) => evaluatePolicy(production, input)));
    expect(outcomes.map((e) => e.outcome)).toEqual(inputs.map((_, i) => (i % 2 === 0 ? 'allow' : 'deny')));
  });

  it('keeps one evaluation of the seed policy with 20 attestations within a few milliseconds (p99)', async () => {
    const clean = fixtureInput('clean.json');
    const extra = [TRAINING, SCAN, SANDBOX, REDTEAM].flatMap((type) => {
      const original = clean.attestations.find((a) => a.predicateType === type);
      return Array.from({ length: 4 }, (_, i) => ({ ...attestation(type, original?.signer.name ?? '', `${i}${type.length}`.padEnd(64, 'a'), original?.predicate), loggedAt: '2026-11-26T00:00:00Z' }));
    });
    const input: PolicyInput = { ...clean, attestations: [...clean.attestations, ...extra] };
    expect(input.attestations).toHaveLength(20);
    for (let i = 0; i < 20; i++) await evaluatePolicy(production, input);
    const times: number[] = [];
    for (let i = 0; i < 300; i++) {
      const started = performance.now();
      const evaluation = await evaluatePolicy(production, input);
      times.push(performance.now() - started);
      expect(evaluation.outcome).toBe('allow');
    }
    times.sort((a, b) => a - b);
    const p50 = times[Math.floor(times.length * 0.5)] ?? 0;
    const p99 = times[Math.floor(times.length * 0.99)] ?? 0;
    console.log(`seed policy, 20 attestations: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`);
    // "A few ms" is the target (printed above). The asserted bounds leave room for a loaded CI
    // machine yet still catch a regression such as starting a worker per evaluation (~50 ms).
    expect(p50).toBeLessThan(5);
    expect(p99).toBeLessThan(50);
  });
});
