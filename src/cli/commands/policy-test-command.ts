/**
 * `custody policy test FILE [--baseline FILE]` (SPEC §6.2): parses and compiles a policy
 * document and runs its embedded tests offline, fixtures read relative to FILE. Prints each test
 * PASS/FAIL with the messages of the requirements and gates that did not pass. Exit 0 when every
 * test passes; 1 with POLICY_TEST_FAILED naming the failing tests; 1 with POLICY_INVALID (the
 * gate and position) when the document does not compile.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import { compilePolicy } from '../../policy/compile-policy.js';
import { parseBaselineText } from '../../policy/parse-baseline.js';
import { MAX_POLICY_DOCUMENT_BYTES, parsePolicyDocument, policyDigest } from '../../policy/policy-document.js';
import { closePolicyEvaluator, type Evaluation } from '../../policy/evaluate-policy.js';
import { runPolicyTests, type PolicyTestResult } from '../../policy/policy-tests.js';
import type { CliContext } from '../context.js';
import { readLimitedText } from './signing-files.js';

interface PolicyTestOptions {
  baseline?: string;
}

export function registerPolicyTest(policy: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  policy
    .command('test')
    .description('run a policy document\'s tests offline (fixtures relative to the document)')
    .argument('<file>', 'the policy document (YAML or JSON)')
    .option('--baseline <file>', 'server baseline to test against (YAML/JSON: name → requirement, or the server config\'s baseline section)')
    .action((file: string, opts: PolicyTestOptions) =>
      run(async () => {
        const out = ctx.output();
        // Read up to twice the limit so an oversized document is reported by the parser, as POLICY_INVALID.
        const doc = parsePolicyDocument(await readLimitedText(file, 2 * MAX_POLICY_DOCUMENT_BYTES, 'the policy file'), path.basename(file));
        const baseline = opts.baseline === undefined ? {} : parseBaselineText(await readLimitedText(opts.baseline, 2 * MAX_POLICY_DOCUMENT_BYTES, 'the baseline file'), doc.metadata.environment, path.basename(opts.baseline));
        const compiled = compilePolicy(doc, baseline);
        let results: PolicyTestResult[];
        try {
          results = await runPolicyTests(doc, { baseDir: path.dirname(path.resolve(file)), baseline });
        } finally {
          await closePolicyEvaluator();
        }
        const failed = results.filter((r) => !r.passed);
        const report = {
          policy: doc.metadata.name,
          environment: doc.metadata.environment,
          digest: policyDigest(doc),
          effectiveDigest: compiled.effectiveDigest,
          passed: failed.length === 0,
          tests: results.map((r) => ({ name: r.name, expected: r.expected, outcome: r.outcome, passed: r.passed, ...(r.error === undefined ? {} : { error: r.error }), ...(r.evaluation === undefined ? {} : { evaluation: r.evaluation }) })),
        };
        if (!out.json || failed.length === 0) out.result(report, () => formatReport(report.digest, doc.metadata.name, doc.metadata.environment, results));
        if (results.length === 0) out.note('the policy has no tests');
        if (failed.length > 0) {
          throw new CustodyError('POLICY_TEST_FAILED', `${failed.length} of ${results.length} policy tests failed: ${failed.map((r) => `"${r.name}"`).join(', ')}`, {
            details: out.json ? { report } : { failed: failed.map((r) => r.name) },
          });
        }
      }),
    );
}

function formatReport(digest: string, name: string, environment: string, results: readonly PolicyTestResult[]): string {
  const lines = [`policy ${name} (${environment}) ${digest}`];
  for (const r of results) {
    const verdict = r.passed ? 'PASS' : 'FAIL';
    lines.push(`${verdict}  ${r.name}  (expected ${r.expected}, got ${r.outcome})`);
    if (r.error !== undefined) lines.push(`        error: ${r.error}`);
    if (r.evaluation !== undefined) lines.push(...reasons(r.evaluation).map((line) => `        ${line}`));
  }
  const passed = results.filter((r) => r.passed).length;
  lines.push(`${passed} of ${results.length} tests passed`);
  return lines.join('\n');
}

/** One line per requirement and gate that did not pass, with its message. */
export function reasons(evaluation: Evaluation): string[] {
  return [
    ...evaluation.requirements.filter((r) => r.result !== 'PASS').map((r) => `requirement ${r.name} (${r.source}) ${r.result}: ${r.message}`),
    ...evaluation.gates.filter((g) => g.result !== 'PASS').map((g) => `gate ${g.name} ${g.result}: ${g.message}${g.detail === undefined ? '' : ` — ${g.detail}`}`),
  ];
}
