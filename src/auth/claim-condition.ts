/**
 * Claim conditions on a workload identity (SPEC §7: a service principal matches issuer + subject
 * "+ claim conditions, e.g. `claims.ref == "refs/heads/main"`"): a CEL expression over the
 * verified token's claims, compiled and type-checked once when the binding is made, evaluated on
 * every request. https://github.com/google/cel-spec/blob/master/doc/langdef.md
 *
 * Bounded (SPEC §10, "policy as a weapon"): the source length, AST size and nesting are limited
 * at parse time; `matches` is refused because JavaScript regular expressions backtrack and claim
 * values (branch names, repository names) are chosen by whoever triggers the CI job; and
 * comprehensions may not nest, so evaluation stays linear in the size of the token. Evaluation
 * denies by default: a missing claim, a wrong type or any runtime error is `false`.
 */
import { Environment, type ParseResult } from '@marcbachmann/cel-js';
import { CustodyError } from '../domain/errors.js';

export interface ClaimCondition {
  readonly source: string;
  /** True only when the expression evaluates to `true`; any error is `false`. */
  evaluate(claims: Readonly<Record<string, unknown>>): boolean;
}

export const MAX_CLAIM_CONDITION_LENGTH = 2_000;
// Nested JSON deeper than this is not a CI token; such claims make a condition false.
const MAX_CLAIM_DEPTH = 32;
const COMPREHENSIONS = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const FORBIDDEN_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['matches', 'matches() is not allowed in claim conditions (regular expressions can be made to run for a long time); use startsWith, endsWith, contains, == or in'],
]);

const environment = new Environment({
  limits: { maxAstNodes: 500, maxDepth: 32, maxListElements: 100, maxMapEntries: 100, maxCallArguments: 8 },
}).registerVariable('claims', 'map<string, dyn>');

/** Compiles and type-checks a CEL expression over `claims` (a map of dyn); must return bool. Bounded: source ≤ 2,000 chars, AST/nesting limits if cel-js offers them. Compile errors → CustodyError('VALIDATION_FAILED', message with the position). evaluate() returns false on any runtime error (missing claim, wrong type) — deny by default. */
export function compileClaimCondition(source: string): ClaimCondition {
  if (typeof source !== 'string' || source.trim() === '') throw new CustodyError('VALIDATION_FAILED', 'claim condition: the expression is empty');
  if (source.length > MAX_CLAIM_CONDITION_LENGTH) {
    throw new CustodyError('VALIDATION_FAILED', `claim condition: the expression is longer than ${MAX_CLAIM_CONDITION_LENGTH} characters`, {
      details: { length: source.length, limit: MAX_CLAIM_CONDITION_LENGTH },
    });
  }
  let program: ParseResult;
  try {
    program = environment.parse(source);
  } catch (error) {
    throw compileError(source, celSummary(error) ?? 'syntax error', celOffset(error));
  }
  const checked = program.check();
  if (!checked.valid) throw compileError(source, celSummary(checked.error) ?? 'type error', celOffset(checked.error));
  if (checked.type !== 'bool') throw compileError(source, `the expression must be a bool, not ${checked.type ?? 'unknown'}`, 0);
  rejectUnboundedConstructs(source, program.ast, 0);

  return {
    source,
    evaluate(claims) {
      try {
        return program({ claims: toCelValue(claims, 0) }) === true;
      } catch {
        return false;
      }
    },
  };
}

/** Walks the AST: no forbidden function anywhere, no comprehension inside another. */
function rejectUnboundedConstructs(source: string, node: unknown, comprehensionDepth: number): void {
  if (Array.isArray(node)) {
    for (const child of node) rejectUnboundedConstructs(source, child, comprehensionDepth);
    return;
  }
  if (typeof node !== 'object' || node === null || !('op' in node) || !('args' in node)) return;
  const { op, args } = node;
  let depth = comprehensionDepth;
  if ((op === 'call' || op === 'rcall') && Array.isArray(args) && typeof args[0] === 'string') {
    const name = args[0];
    const offset = 'pos' in node && typeof node.pos === 'number' ? node.pos : 0;
    const forbidden = FORBIDDEN_FUNCTIONS.get(name);
    if (forbidden !== undefined) throw compileError(source, forbidden, offset);
    if (op === 'rcall' && COMPREHENSIONS.has(name)) {
      depth += 1;
      if (depth > 1) throw compileError(source, `${name}() inside another comprehension is not allowed in claim conditions`, offset);
    }
  }
  rejectUnboundedConstructs(source, args, depth);
}

/**
 * JSON claims → CEL values: integer-valued numbers become `int` (BigInt) so `claims.run_attempt == 1`
 * compares ints, objects become prototype-free maps, anything deeper than the limit throws.
 */
function toCelValue(value: unknown, depth: number): unknown {
  if (depth > MAX_CLAIM_DEPTH) throw new RangeError('claims nested too deeply');
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map((item: unknown) => toCelValue(item, depth + 1));
  if (typeof value === 'object' && value !== null) {
    const map: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
    for (const [key, item] of Object.entries(value)) map[key] = toCelValue(item, depth + 1);
    return map;
  }
  return value;
}

function celSummary(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const summary = (error as { summary?: unknown }).summary;
  return typeof summary === 'string' && summary !== '' ? summary : undefined;
}

function celOffset(error: unknown): number {
  const range = typeof error === 'object' && error !== null ? (error as { range?: { start?: unknown } }).range : undefined;
  return typeof range?.start === 'number' ? range.start : 0;
}

/** VALIDATION_FAILED naming line and column (1-based) of `offset` in the source. */
function compileError(source: string, problem: string, offset: number): CustodyError {
  const clamped = Math.max(0, Math.min(offset, source.length));
  const before = source.slice(0, clamped).split('\n');
  const line = before.length;
  const column = (before.at(-1) ?? '').length + 1;
  return new CustodyError('VALIDATION_FAILED', `claim condition: ${problem} (line ${line}, column ${column})`, {
    details: { position: { offset: clamped, line, column } },
  });
}
