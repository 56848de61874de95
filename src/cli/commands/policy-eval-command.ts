/**
 * `custody policy eval REF --env ENV` (SPEC §6.1, §8): what promoting REF into ENV would decide
 * now — every requirement and gate with its result and message, the policy, effective and input
 * digests — without deciding or logging anything. Exit 0 when it would allow, 3 when it would deny.
 */
import type { Command } from 'commander';
import { parseModelRef } from '../../domain/model-ref.js';
import type { EvaluationBody } from '../../sdk/promotion-api.js';
import type { CliContext } from '../context.js';
import { exitDenied } from '../denied-exit.js';
import { displayText } from './browse-commands.js';
import { checkLines } from './check-results.js';

function evaluationText(e: EvaluationBody): string {
  const ev = e.evaluation;
  const verdict = ev.outcome === 'allow' ? 'would be ALLOWED' : 'would be DENIED';
  return [
    `${displayText(e.model, 260)}@v${e.number} (${e.version}) into ${displayText(e.environment, 64)}: ${verdict}`,
    `policy:    ${ev.policyDigest ?? 'none (baseline only)'}; effective ${ev.effectiveDigest}`,
    `input:     ${ev.inputDigest}`,
    ...checkLines(ev),
    'nothing was decided or logged (custody promote decides)',
  ].join('\n');
}

export function registerPolicyEval(policy: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  policy
    .command('eval')
    .description('show what promoting REF into ENV would decide now, without deciding (exit 0 allow, 3 deny)')
    .argument('<ref>', 'NS/NAME@vN, NS/NAME@sha256:<hex> or NS/NAME@<environment>')
    .requiredOption('--env <env>', 'the environment to evaluate the promotion into')
    .action((refText: string, opts: { env: string }) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const evaluation = await ctx.withClient((c) => c.promotion.evaluate(ref, opts.env));
        out.result(evaluation, () => evaluationText(evaluation));
        if (evaluation.evaluation.outcome === 'deny') exitDenied();
      }),
    );
}
