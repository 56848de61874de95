/**
 * Evaluating the effective policy for one promotion (SPEC §6.1): deny unless every requirement
 * holds and every gate is true. Monotonic: an absent attestation can only turn a result from
 * PASS to something else, and an input over its bounds fails the gates instead of being trimmed.
 *
 * Requirements: `requireFrom` (the version must currently be in that environment), every baseline
 * requirement and every document requirement — a document requirement with a baseline's name
 * does not replace the baseline one, both apply. Gates see, for each requirement name, the valid
 * statements of the document's requirement of that name, or of the baseline's when the document
 * has none. A gate naming a requirement that does not hold is not evaluated: it reports that
 * requirement's result with the gate's own message, so the seed's "Red team assessment is pending
 * or rejected" shows whether the red-team attestation is missing, invalid, revoked or says PENDING.
 * A document's `chain` is one more requirement, named `chain` (§6.3, `chain.ts`): pipeline evidence
 * counts only there, never toward a named requirement, and gates do not see it.
 */
import { checkChain } from './chain.js';
import { checkRequirement, type CheckResult, type RequirementResult } from './check-requirement.js';
import type { CompiledPolicy } from './compile-policy.js';
import { evaluateGates, type GateOutcome } from './gate-evaluator.js';
import { GATE_LIMITS } from './gate-environment.js';
import { buildCelInput, type PolicyInput, type RequirementList } from './policy-input.js';

export type { AttestationStatus, CandidateAttestation, CandidateRole, CandidateSubject, PolicyInput } from './policy-input.js';
export type { CheckResult, RequirementResult } from './check-requirement.js';
export { closePolicyEvaluator } from './gate-evaluator.js';

export interface GateResult {
  readonly name: string;
  readonly result: CheckResult;
  /** The gate's own message (what to show when it is not PASS). */
  readonly message: string;
  /** Why it is not PASS: the requirement that does not hold, false, the runtime error, the time limit. */
  readonly detail?: string;
}

export interface Evaluation {
  readonly outcome: 'allow' | 'deny';
  /** The document's digest; null when only the baseline applied. */
  readonly policyDigest: string | null;
  readonly effectiveDigest: string;
  /** `sha256:` of the RFC 8785 JSON of the exact CEL input. */
  readonly inputDigest: string;
  readonly requirements: readonly RequirementResult[];
  readonly gates: readonly GateResult[];
}

/** Default wall-clock limit for all of one policy's gates. */
export const DEFAULT_POLICY_TIME_LIMIT_MS = 250;
/** A requested limit is clamped to 1 ms … this. */
export const MAX_POLICY_TIME_LIMIT_MS = 60_000;

/** Evaluates `policy` for `input`; never throws for a failing requirement or gate (a gate that errors or runs out of time is ERROR). */
export async function evaluatePolicy(policy: CompiledPolicy, input: PolicyInput, options: { timeLimitMs?: number } = {}): Promise<Evaluation> {
  const requested = options.timeLimitMs ?? DEFAULT_POLICY_TIME_LIMIT_MS;
  const timeLimitMs = Number.isFinite(requested) ? Math.min(Math.max(Math.round(requested), 1), MAX_POLICY_TIME_LIMIT_MS) : DEFAULT_POLICY_TIME_LIMIT_MS;
  const document = policy.document;
  const requirements: RequirementResult[] = [];
  const requireFrom = document?.spec.requireFrom;
  if (requireFrom !== undefined) {
    const holds = input.version.environments.includes(requireFrom);
    requirements.push({
      name: 'requireFrom',
      source: 'requireFrom',
      result: holds ? 'PASS' : 'FAIL',
      message: holds ? `currently in ${requireFrom}` : `must currently be in ${requireFrom}`,
      satisfiedBy: [],
    });
  }

  // What each requirement name means to the gates: the document's requirement, else the baseline's.
  const forGates = new Map<string, { result: RequirementResult; list: RequirementList }>();
  for (const { name, source, requirement } of policy.requirements) {
    const check = checkRequirement(name, source, requirement, input.attestations);
    requirements.push(check.result);
    if (source === 'policy' || !forGates.has(name)) forGates.set(name, { result: check.result, list: { name, attestations: check.valid } });
  }
  if (document?.spec.chain !== undefined) requirements.push(checkChain(document.spec.chain, input.attestations, input.provenance));

  const celInput = buildCelInput(input, [...forGates.values()].map((entry) => entry.list));
  const gates: (GateResult | undefined)[] = policy.gates.map((gate) => {
    if (!celInput.ok) return { name: gate.name, result: 'ERROR', message: gate.message, detail: celInput.problem };
    for (const name of gate.requirements) {
      const requirement = forGates.get(name)?.result;
      if (requirement !== undefined && requirement.result !== 'PASS') {
        return { name: gate.name, result: requirement.result, message: gate.message, detail: `requirement ${name} is ${requirement.result}: ${requirement.message}` };
      }
    }
    return undefined;
  });

  const toRun = policy.gates.flatMap((gate, index) => (gates[index] === undefined ? [{ gate, index }] : []));
  if (toRun.length > 0 && celInput.ok) {
    const outcomes = await evaluateGates({
      variables: policy.variables,
      limits: GATE_LIMITS,
      exprs: toRun.map(({ gate }) => gate.expr),
      input: celInput.text,
      timeLimitMs,
    });
    toRun.forEach(({ gate, index }, i) => {
      gates[index] = gateResult(gate.name, gate.message, outcomes[i] ?? { kind: 'skipped', message: 'not evaluated' }, timeLimitMs);
    });
  }

  const gateResults = gates.map((g, index) => g ?? { name: policy.gates[index]?.name ?? '', result: 'ERROR' as const, message: 'not evaluated' });
  const allow = requirements.every((r) => r.result === 'PASS') && gateResults.every((g) => g.result === 'PASS');
  return {
    outcome: allow ? 'allow' : 'deny',
    policyDigest: document === null ? null : policy.digest,
    effectiveDigest: policy.effectiveDigest,
    inputDigest: celInput.digest,
    requirements,
    gates: gateResults,
  };
}

function gateResult(name: string, message: string, outcome: GateOutcome, timeLimitMs: number): GateResult {
  switch (outcome.kind) {
    case 'value':
      return outcome.value ? { name, result: 'PASS', message } : { name, result: 'FAIL', message, detail: 'the expression is false' };
    case 'error':
      return { name, result: 'ERROR', message, detail: `evaluation error: ${outcome.message}` };
    case 'timeout':
      return { name, result: 'ERROR', message, detail: `the policy's evaluation time limit of ${timeLimitMs} ms ran out in this gate` };
    case 'skipped':
      return { name, result: 'ERROR', message, detail: outcome.message };
  }
}
