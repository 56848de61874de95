/**
 * `custody policy push FILE`, `policy approve ID`, `policy reject ID --reason TEXT` and `policy
 * proposed` (SPEC §6.2, §8, issue 8 §1): the lifecycle of a policy document. `push` sends the document as written together with the
 * fixtures its tests name (read relative to FILE), so the registry runs the same tests; the
 * policy is active at once, or — where the two-person rule applies — proposed until a different
 * principal with `policy:approve` approves it, or one rejects it with a reason (its proposer may
 * withdraw its own). Each step prints its log entry.
 */
import path from 'node:path';
import type { Command } from 'commander';
import { MAX_POLICY_DOCUMENT_BYTES, parsePolicyDocument, readPolicyFixtures } from '../../policy/index.js';
import type { PolicyBody } from '../../sdk/promotion-api.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { displayText } from './browse-commands.js';
import { loggedLine } from './principal-commands.js';
import { readLimitedText } from './signing-files.js';

/** `production #2 sha256:… ACTIVE` — the policy's status as a word. */
export function policyHeadline(p: PolicyBody): string {
  return `${displayText(p.environment, 64)} #${p.number} ${p.digest} ${p.status.toUpperCase()}`;
}

/** `proposed by A at T; approved by B at T` (or `not approved`, or `rejected by B at T: why`). */
export function whoLine(p: PolicyBody): string {
  const approved =
    p.rejection !== undefined
      ? `rejected by ${displayText(p.rejection.by, 60)} at ${displayText(p.endedAt ?? '?', 40)} (log ${p.rejection.logIndex}): ${displayText(p.rejection.reason, 200)}`
      : p.approvedBy === null
        ? 'not approved'
        : `approved by ${displayText(p.approvedBy, 60)} at ${displayText(p.approvedAt ?? '?', 40)}`;
  return `proposed by ${displayText(p.proposedBy, 60)} at ${displayText(p.proposedAt, 40)}; ${approved}`;
}

function testLines(p: PolicyBody, when: string): string[] {
  const tests = p.tests ?? [];
  if (tests.length === 0) return [`tests:    none ${when}`];
  const passed = tests.filter((t) => t.passed).length;
  return [
    `tests:    ${passed} of ${tests.length} passed ${when}`,
    ...tests.map((t) => `  ${t.passed ? '✓ PASS' : '✗ FAIL'}  ${displayText(t.name, 120)} (expected ${t.expected}, got ${t.outcome})`),
  ];
}

function pushedText(p: PolicyBody, name: string): string {
  const lines = [`policy ${displayText(name, 100)}: ${policyHeadline(p)}`, `id:       ${p.id}`, ...testLines(p, 'at push')];
  lines.push(loggedLine(p.receipt, p.status === 'active' ? 'policy.activated' : 'policy.proposed'));
  if (p.status === 'proposed') {
    lines.push(
      `not active yet: the two-person rule applies to ${displayText(p.environment, 64)}; another principal with policy:approve approves it with`,
      `  custody policy approve ${p.id}`,
    );
  } else if (p.status === 'active') {
    lines.push(`active now: promotions into ${displayText(p.environment, 64)} are judged by it (with the baseline)`);
  }
  return lines.join('\n');
}

export function registerPolicyLifecycle(policy: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  policy
    .command('push')
    .description('propose a policy document; its tests run on the registry with the fixtures they name (read relative to FILE)')
    .argument('<file>', 'the policy document (YAML or JSON)')
    .action((file: string) =>
      run(async () => {
        const out = ctx.output();
        // Read up to twice the limit so an oversized document is reported by the parser, as POLICY_INVALID.
        const document = await readLimitedText(file, 2 * MAX_POLICY_DOCUMENT_BYTES, 'the policy file');
        const doc = parsePolicyDocument(document, path.basename(file));
        const fixtures = await readPolicyFixtures(doc, path.dirname(path.resolve(file)));
        const pushed = await ctx.withClient((c) => c.promotion.pushPolicy({ document, ...(Object.keys(fixtures).length === 0 ? {} : { fixtures }) }));
        out.result(pushed, () => pushedText(pushed, doc.metadata.name));
      }),
    );
  policy
    .command('approve')
    .description('approve a proposed policy (a principal other than its proposer); its tests run again and it becomes active')
    .argument('<id>', 'the policy id (see policy proposed)')
    .action((id: string) =>
      run(async () => {
        const out = ctx.output();
        const approved = await ctx.withClient((c) => c.promotion.approvePolicy(id));
        out.result(approved, () =>
          [`approved policy ${policyHeadline(approved)}`, `id:       ${approved.id}`, whoLine(approved), ...testLines(approved, 'again at activation'), loggedLine(approved.receipt, 'policy.activated')].join('\n'),
        );
      }),
    );
  policy
    .command('reject')
    .description('reject a proposed policy with a reason (needs policy:approve for its environment; its proposer may withdraw its own); it never becomes active')
    .argument('<id>', 'the policy id (see policy proposed)')
    .requiredOption('--reason <text>', 'why it is rejected (1–1000 characters, logged in policy.rejected)')
    .action((id: string, opts: { reason: string }) =>
      run(async () => {
        const out = ctx.output();
        const rejected = await ctx.withClient((c) => c.promotion.rejectPolicy(id, opts.reason));
        out.result(rejected, () =>
          [
            `rejected policy ${policyHeadline(rejected)}`,
            `id:       ${rejected.id}`,
            whoLine(rejected),
            loggedLine(rejected.receipt, 'policy.rejected'),
          ].join('\n'),
        );
      }),
    );
  policy
    .command('proposed')
    .description('list the policies waiting for approval, oldest first')
    .action(() =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) => c.promotion.listProposedPolicies());
        out.result(page, () =>
          page.items.length === 0
            ? 'no policy is waiting for approval'
            : table(
                ['id', 'environment', 'number', 'digest', 'proposed by', 'proposed at'],
                page.items.map((p) => [p.id, displayText(p.environment, 64), `#${p.number}`, p.digest, displayText(p.proposedBy, 60), displayText(p.proposedAt, 40)]),
              ),
        );
      }),
    );
}
