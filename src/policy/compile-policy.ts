/**
 * Compiling the effective policy (SPEC §6.1): baseline (server config) ∪ the active document.
 * Every gate is parsed, bounded and type-checked against the §6.1 input when the policy is
 * compiled (at push, at activation, before each evaluation), so a policy that does not compile
 * never becomes active; the error names the gate and the line/column inside its expression.
 * The effective digest binds both halves, so a decision names exactly the rules it applied.
 */
import type { ParseResult } from '@marcbachmann/cel-js';
import { canonicalJson } from '../crypto/canonical-json.js';
import { sha256Hex } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import { GateAstProblem, inspectGateAst } from './gate-ast.js';
import { createGateEnvironment, gateVariables, type CelVariable } from './gate-environment.js';
import { normaliseRequirements, policyDigest, type PolicyDocument, type Requirement } from './policy-document.js';
import { MAX_GATE_EXPRESSION_LENGTH, requirementsSchema, validatePolicyValue } from './policy-schema.js';

/** Server-config requirements for one environment; no document can remove them. */
export type Baseline = Readonly<Record<string, Requirement>>;

/** `CompiledPolicy.digest` when no policy document is active (baseline only). */
export const NO_POLICY_DIGEST = 'none';

/** A requirement of the effective policy and where it comes from. */
export interface EffectiveRequirement {
  readonly name: string;
  readonly source: 'baseline' | 'policy';
  readonly requirement: Requirement;
}

/** A gate that compiled: its expression, message and the requirement names it reads. */
export interface CompiledGate {
  readonly name: string;
  readonly expr: string;
  readonly message: string;
  readonly requirements: readonly string[];
}

export interface CompiledPolicy {
  readonly document: PolicyDocument | null;
  readonly baseline: Baseline;
  /** The document's digest, or NO_POLICY_DIGEST. */
  readonly digest: string;
  /** `sha256:` of the JCS of `{baseline, policy: digest | null}`. */
  readonly effectiveDigest: string;
  /** Baseline requirements first (name order), then the document's. */
  readonly requirements: readonly EffectiveRequirement[];
  readonly gates: readonly CompiledGate[];
  /** The CEL declarations the gates were checked against (and are evaluated with). */
  readonly variables: readonly CelVariable[];
}

/**
 * Type-checks every gate against the §6.1 input: each requirement name of document ∪ baseline
 * is `list<dyn>`, `version`/`model`/`provenance`/`principal` are `map<string, dyn>`,
 * `environment` is `string`, `now` is a timestamp (see `gate-environment.ts`). A gate must
 * return `bool`. Bounds: expression ≤ 4,000 characters, cel-js AST nodes ≤ 1,000 and depth ≤ 48,
 * comprehension nesting ≤ 3, `matches` refused. Errors → POLICY_INVALID naming the gate and the
 * position; a malformed baseline → CONFIG_INVALID. `doc` null = no active policy (baseline only).
 */
export function compilePolicy(doc: PolicyDocument | null, baseline: Baseline = {}): CompiledPolicy {
  const base = normaliseRequirements(validatePolicyValue(requirementsSchema, baseline, 'baseline', 'CONFIG_INVALID'));
  const documentRequirements = doc?.spec.attestations ?? {};
  const requirements: EffectiveRequirement[] = [
    ...Object.entries(base).map(([name, requirement]) => ({ name, source: 'baseline' as const, requirement })),
    ...Object.entries(documentRequirements).map(([name, requirement]) => ({ name, source: 'policy' as const, requirement })),
  ];
  const requirementNames = new Set(requirements.map((r) => r.name));
  const variables = gateVariables(requirementNames);
  const environment = createGateEnvironment(variables);
  const gates = (doc?.spec.gates ?? []).map((gate, index): CompiledGate => {
    const fail = (problem: string, offset: number): never => {
      throw gateError(gate.name, index, gate.expr, problem, offset);
    };
    if (gate.expr.length > MAX_GATE_EXPRESSION_LENGTH) fail(`the expression is longer than ${MAX_GATE_EXPRESSION_LENGTH} characters`, 0);
    let program: ParseResult | undefined;
    try {
      program = environment.parse(gate.expr);
    } catch (error) {
      fail(celSummary(error) ?? 'syntax error', celOffset(error));
    }
    if (program === undefined) return fail('syntax error', 0);
    let identifiers: ReadonlySet<string> = new Set();
    try {
      identifiers = inspectGateAst(program.ast);
    } catch (error) {
      if (error instanceof GateAstProblem) fail(error.message, error.offset);
      throw error;
    }
    const checked = program.check();
    if (!checked.valid) fail(celSummary(checked.error) ?? 'type error', celOffset(checked.error));
    if (checked.type !== 'bool') fail(`the expression must be a bool, not ${checked.type ?? 'unknown'} (compare it, e.g. \`… == true\`)`, 0);
    return { name: gate.name, expr: gate.expr, message: gate.message, requirements: [...requirementNames].filter((n) => identifiers.has(n)) };
  });
  const digest = doc === null ? NO_POLICY_DIGEST : policyDigest(doc);
  const effectiveDigest = `sha256:${sha256Hex(canonicalJson({ baseline: base, policy: doc === null ? null : digest }))}`;
  return { document: doc, baseline: base, digest, effectiveDigest, requirements, gates, variables };
}

function celSummary(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const summary = (error as { summary?: unknown }).summary;
  if (typeof summary === 'string' && summary !== '') return summary;
  const message = (error as { message?: unknown }).message;
  return typeof message === 'string' && message !== '' ? (message.split('\n')[0] ?? message) : undefined;
}

function celOffset(error: unknown): number {
  const range = typeof error === 'object' && error !== null ? (error as { range?: { start?: unknown } }).range : undefined;
  return typeof range?.start === 'number' ? range.start : 0;
}

/** POLICY_INVALID naming the gate, its path in the document and the 1-based line/column of `offset` in its expression. */
function gateError(gate: string, index: number, source: string, problem: string, offset: number): CustodyError {
  const clamped = Math.max(0, Math.min(offset, source.length));
  const before = source.slice(0, clamped).split('\n');
  const line = before.length;
  const column = (before.at(-1) ?? '').length + 1;
  const path = `spec.gates.${index}.expr`;
  return new CustodyError('POLICY_INVALID', `gate "${gate}" (${path}): ${problem} (line ${line}, column ${column} of the expression)`, {
    details: { gate, path, position: { offset: clamped, line, column } },
  });
}
