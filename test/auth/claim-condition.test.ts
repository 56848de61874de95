/**
 * Claim conditions (SPEC §7 "claim conditions", §10 "CEL bounds; compile-time check"): the SPEC's
 * example expression, int claims, deny-by-default at runtime, and every compile-time refusal
 * naming its position.
 */
import { describe, expect, it } from 'vitest';
import { compileClaimCondition, MAX_CLAIM_CONDITION_LENGTH } from '../../src/auth/claim-condition.js';
import { CustodyError } from '../../src/domain/errors.js';

const SPEC_EXAMPLE = 'claims.repository == "acme/fraud" && claims.ref == "refs/heads/main"';

function compileFailure(source: string): CustodyError {
  try {
    compileClaimCondition(source);
  } catch (error) {
    if (error instanceof CustodyError) return error;
    throw error;
  }
  throw new Error(`compiled: ${source}`);
}

describe('compileClaimCondition', () => {
  it('accepts the SPEC example for the main branch of the named repository only', () => {
    const condition = compileClaimCondition(SPEC_EXAMPLE);
    expect(condition.source).toBe(SPEC_EXAMPLE);
    expect(condition.evaluate({ repository: 'acme/fraud', ref: 'refs/heads/main', sub: 'repo:acme/fraud:ref:refs/heads/main' })).toBe(true);
    expect(condition.evaluate({ repository: 'acme/fraud', ref: 'refs/heads/feature' })).toBe(false);
    expect(condition.evaluate({ repository: 'acme/other', ref: 'refs/heads/main' })).toBe(false);
  });

  it('compares integer claims from JSON with CEL int literals', () => {
    const condition = compileClaimCondition('claims.run_attempt == 1 && claims.run_number > 41');
    expect(condition.evaluate({ run_attempt: 1, run_number: 42 })).toBe(true);
    expect(condition.evaluate({ run_attempt: 2, run_number: 42 })).toBe(false);
    expect(condition.evaluate({ run_attempt: 1, run_number: 41 })).toBe(false);
  });

  it('gives integer-valued JSON numbers the CEL type int, so int arithmetic works on them', () => {
    // A JSON number left as a double has no `double % int` or `double + int` overload in CEL.
    expect(compileClaimCondition('claims.run_number % 2 == 0 && claims.run_attempt + 1 == 2').evaluate({ run_number: 42, run_attempt: 1 })).toBe(true);
    expect(compileClaimCondition('type(claims.run_attempt) == int').evaluate({ run_attempt: 1 })).toBe(true);
    expect(compileClaimCondition('type(claims.ratio) == double').evaluate({ ratio: 0.5 })).toBe(true);
  });

  it('reads nested claims and lists', () => {
    const condition = compileClaimCondition('"ml-ci" in claims.groups && claims.job.env == "prod" && claims.groups.exists(g, g.startsWith("ml-"))');
    expect(condition.evaluate({ groups: ['ml-ci', 'ops'], job: { env: 'prod' } })).toBe(true);
    expect(condition.evaluate({ groups: ['ops'], job: { env: 'prod' } })).toBe(false);
  });

  it('denies when a claim is missing or has another type', () => {
    const condition = compileClaimCondition(SPEC_EXAMPLE);
    expect(condition.evaluate({ repository: 'acme/fraud' })).toBe(false);
    expect(condition.evaluate({})).toBe(false);
    const numeric = compileClaimCondition('claims.run_attempt > 0');
    expect(numeric.evaluate({ run_attempt: 'one' })).toBe(false);
    expect(numeric.evaluate({ run_attempt: null })).toBe(false);
  });

  it('does not expose JavaScript object properties as claims', () => {
    const condition = compileClaimCondition('has(claims.constructor) || claims.toString != ""');
    expect(condition.evaluate({ repository: 'acme/fraud' })).toBe(false);
  });

  it('denies claims nested beyond the depth limit instead of recursing without end', () => {
    let deep: unknown = 'x';
    for (let i = 0; i < 100; i++) deep = { a: deep };
    const condition = compileClaimCondition('has(claims.a)');
    expect(condition.evaluate({ a: { a: 1 } })).toBe(true);
    expect(condition.evaluate({ a: deep })).toBe(false);
  });

  it('refuses an expression that is not a bool, with its position', () => {
    const error = compileFailure('claims.repository');
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(/must be a bool.*line 1, column 1/);
    const typed = compileFailure('claims.ref == "refs/heads/main" &&\n  claims.run_attempt + 1');
    expect(typed.code).toBe('VALIDATION_FAILED');
    expect(typed.message).toMatch(/line \d+, column \d+/);
  });

  it('refuses a syntax error, naming line and column', () => {
    const error = compileFailure('claims.repository == "acme/fraud"\n  && claims.ref = "refs/heads/main"');
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('line 2, column 17');
    expect(error.details).toEqual({ position: { offset: 50, line: 2, column: 17 } });
  });

  it('refuses unknown variables', () => {
    expect(compileFailure('token.ref == "x"').message).toMatch(/Unknown variable: token.*line 1, column 1/);
  });

  it('refuses an over-long source before parsing it', () => {
    const long = `${'claims.a == "x" || '.repeat(110)}true`;
    expect(long.length).toBeGreaterThan(MAX_CLAIM_CONDITION_LENGTH);
    const error = compileFailure(long);
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain(`longer than ${MAX_CLAIM_CONDITION_LENGTH}`);
    expect(compileClaimCondition(`${'claims.a == "x" || '.repeat(50)}true`).evaluate({})).toBe(true);
  });

  it('refuses expressions deeper than the nesting limit', () => {
    const nested = `${'('.repeat(40)}true${')'.repeat(40)}`;
    expect(compileFailure(nested).message).toMatch(/maxDepth/);
  });

  it('refuses matches(), whose backtracking a claim value could trigger', () => {
    // The position is where the call expression starts (its receiver).
    const error = compileFailure('claims.ref == "x" || claims.ref.matches("^refs/tags/v(a+)+$")');
    expect(error.message).toMatch(/matches\(\) is not allowed.*line 1, column 22/);
  });

  it('refuses a comprehension nested in another', () => {
    const error = compileFailure('claims.groups.all(a, claims.groups.exists(b, a == b))');
    expect(error.message).toMatch(/exists\(\) inside another comprehension/);
  });

  it('refuses an empty expression', () => {
    expect(compileFailure('  ').code).toBe('VALIDATION_FAILED');
  });
});
