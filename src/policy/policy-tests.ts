/**
 * A policy's embedded tests (SPEC §6 `tests`, §6.2: they must pass at push and at activation).
 * Each test names a fixture (see `policy-fixture.ts` for the format) and the outcome it expects;
 * the runner compiles the document with the baseline, evaluates it on each fixture exactly as a
 * promotion would be evaluated, and reports every test — a failing or broken test is a result,
 * never an exception.
 *
 * Where fixtures come from:
 * - offline (`custody policy test FILE`): `baseDir` is the document's directory and fixture
 *   paths are read relative to it — relative paths only, no `..`, and the real path (symlinks
 *   resolved) must stay inside `baseDir`; at most 1 MiB each, JSON or YAML;
 * - server side (`policy push`): the server cannot read the pusher's disk, so the client sends
 *   the fixtures' parsed contents (`readPolicyFixtures`) and the server passes them as
 *   `fixtures`, keyed by the path exactly as the document writes it; `baseDir` is then unused.
 *   A path missing from `fixtures` fails its test.
 */
import { open, realpath } from 'node:fs/promises';
import path from 'node:path';
import { CustodyError } from '../domain/errors.js';
import { compilePolicy, type Baseline } from './compile-policy.js';
import { evaluatePolicy, type Evaluation } from './evaluate-policy.js';
import type { PolicyDocument } from './policy-document.js';
import { fixtureToPolicyInput, policyFixtureSchema } from './policy-fixture.js';
import { parsePolicyText } from './parse-policy-text.js';
import { validatePolicyValue } from './policy-schema.js';

export type { PolicyFixture } from './policy-fixture.js';

/** A fixture file is at most this many bytes. */
export const MAX_FIXTURE_BYTES = 1024 * 1024;

export interface PolicyTestOptions {
  /** Directory fixture paths are relative to (the document's directory); needed unless `fixtures` is given. */
  readonly baseDir?: string;
  readonly baseline?: Baseline;
  /** Fixture contents keyed by the path the document writes; when given, no file is read. */
  readonly fixtures?: Readonly<Record<string, unknown>>;
  readonly timeLimitMs?: number;
}

export interface PolicyTestResult {
  readonly name: string;
  readonly expected: 'allow' | 'deny';
  readonly outcome: 'allow' | 'deny' | 'error';
  readonly passed: boolean;
  readonly evaluation?: Evaluation;
  /** Why the test could not run (fixture unreadable or malformed). */
  readonly error?: string;
}

/**
 * Runs the document's tests in order. Throws only when the document itself does not compile
 * (POLICY_INVALID) or the baseline is malformed; a failing or broken test is reported.
 */
export async function runPolicyTests(doc: PolicyDocument, options: PolicyTestOptions): Promise<PolicyTestResult[]> {
  const compiled = compilePolicy(doc, options.baseline ?? {});
  const results: PolicyTestResult[] = [];
  for (const test of doc.spec.tests) {
    const base = { name: test.name, expected: test.expect };
    try {
      const raw = 'inline' in test.input ? test.input.inline : await fixtureContent(test.input.fixture, options);
      const where = 'inline' in test.input ? `test "${test.name}": inline fixture` : `test "${test.name}": fixture ${test.input.fixture}`;
      const fixture = validatePolicyValue(policyFixtureSchema, raw, where, 'VALIDATION_FAILED');
      const evaluation = await evaluatePolicy(compiled, fixtureToPolicyInput(fixture, doc.metadata.environment), options.timeLimitMs === undefined ? {} : { timeLimitMs: options.timeLimitMs });
      results.push({ ...base, outcome: evaluation.outcome, passed: evaluation.outcome === test.expect, evaluation });
    } catch (error) {
      results.push({ ...base, outcome: 'error', passed: false, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return results;
}

async function fixtureContent(fixturePath: string, options: PolicyTestOptions): Promise<unknown> {
  if (options.fixtures !== undefined) {
    if (!Object.hasOwn(options.fixtures, fixturePath)) throw new CustodyError('VALIDATION_FAILED', `fixture ${fixturePath} was not provided`);
    return options.fixtures[fixturePath];
  }
  if (options.baseDir === undefined) throw new CustodyError('VALIDATION_FAILED', `fixture ${fixturePath}: no directory to read fixtures from`);
  return loadPolicyFixture(options.baseDir, fixturePath);
}

/**
 * The parsed contents of every fixture file `doc` names, read relative to `baseDir`, keyed by
 * the path as written: what a client sends with `policy push`. Throws on the first bad fixture.
 */
export async function readPolicyFixtures(doc: PolicyDocument, baseDir: string): Promise<Record<string, unknown>> {
  const fixtures: Record<string, unknown> = {};
  for (const test of doc.spec.tests) {
    if (!('fixture' in test.input) || Object.hasOwn(fixtures, test.input.fixture)) continue;
    fixtures[test.input.fixture] = await loadPolicyFixture(baseDir, test.input.fixture);
  }
  return fixtures;
}

/** Reads one fixture file inside `baseDir` (no absolute paths, no `..`, no symlink out), bounded, as parsed JSON/YAML. */
export async function loadPolicyFixture(baseDir: string, fixturePath: string): Promise<unknown> {
  const refuse = (why: string): never => {
    throw new CustodyError('VALIDATION_FAILED', `fixture ${fixturePath}: ${why}`, { details: { fixture: fixturePath } });
  };
  if (fixturePath.includes('\0') || fixturePath.includes('\\')) refuse('the path holds a NUL or a backslash');
  if (path.posix.isAbsolute(fixturePath) || path.isAbsolute(fixturePath)) refuse('the path must be relative to the policy document');
  if (fixturePath.split('/').some((segment) => segment === '..')) refuse('the path must not contain ".."');
  let root: string;
  let real: string;
  try {
    root = await realpath(baseDir);
    real = await realpath(path.resolve(root, fixturePath));
  } catch {
    return refuse('cannot be read');
  }
  if (!real.startsWith(root + path.sep)) refuse('resolves outside the policy document\'s directory');
  const handle = await open(real, 'r').catch(() => refuse('cannot be opened'));
  let text: string;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) refuse('is not a regular file');
    if (stat.size > MAX_FIXTURE_BYTES) refuse(`${stat.size} bytes is more than the limit of ${MAX_FIXTURE_BYTES}`);
    const buffer = Buffer.alloc(Math.min(stat.size, MAX_FIXTURE_BYTES) + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    if (bytesRead > MAX_FIXTURE_BYTES) refuse(`more than the limit of ${MAX_FIXTURE_BYTES} bytes`);
    text = new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, bytesRead));
  } catch (error) {
    if (error instanceof CustodyError) throw error;
    return refuse('is not UTF-8 text');
  } finally {
    await handle.close();
  }
  return parsePolicyText(text, { maxBytes: MAX_FIXTURE_BYTES, source: `fixture ${fixturePath}`, code: 'VALIDATION_FAILED' });
}
