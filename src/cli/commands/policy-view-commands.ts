/**
 * `custody policy show ENV` and `policy history ENV` (SPEC §6.1, §6.2, §8): an environment's
 * effective policy — the server's baseline requirements, which no policy can remove, the active
 * document and the effective digest every decision names — and its policy versions, newest
 * first, with their digests, who proposed and approved each, and the diff from the one before.
 */
import type { Command } from 'commander';
import type { EffectivePolicyBody, PolicyBody } from '../../sdk/promotion-api.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { displayText } from './browse-commands.js';
import { policyHeadline, whoLine } from './policy-lifecycle-commands.js';

/** Multi-line server text (a YAML document, a diff), each line terminal-safe and indented. */
function indented(text: string, prefix: string): string[] {
  return text.replace(/\n$/, '').split('\n').map((line) => `${prefix}${displayText(line, 500)}`);
}

function requirementRows(p: EffectivePolicyBody, source: 'baseline' | 'policy'): string[][] {
  return p.requirements
    .filter((r) => r.source === source)
    .map((r) => [displayText(r.name, 60), displayText(r.predicateType, 100), displayText(r.signers.join(', '), 200), String(r.threshold)]);
}

function requirementTable(rows: string[][]): string[] {
  return rows.length === 0 ? ['  none'] : table(['name', 'predicate type', 'signers', 'threshold'], rows).split('\n').map((l) => `  ${l}`);
}

function effectiveText(p: EffectivePolicyBody): string {
  const active = p.active;
  const lines = [
    `environment:       ${displayText(p.environment, 64)}`,
    `effective digest:  ${p.effectiveDigest}  (baseline ∪ active policy; every decision names it)`,
    '',
    'baseline requirements (server config; no policy can remove them):',
    ...requirementTable(requirementRows(p, 'baseline')),
    '',
    active === null ? 'active policy:     none (only the baseline applies)' : `active policy:     ${policyHeadline(active)}`,
  ];
  if (active !== null) {
    lines.push(`                   ${whoLine(active)}${active.activatedAt === null ? '' : `; active since ${displayText(active.activatedAt, 40)}`}`);
    lines.push('', 'policy requirements:', ...requirementTable(requirementRows(p, 'policy')));
  }
  lines.push('', 'gates:');
  if (p.gates.length === 0) lines.push('  none');
  for (const g of p.gates) lines.push(`  ${displayText(g.name, 60)}: ${displayText(g.expr, 500)}`, `    denies with: ${displayText(g.message, 300)}`);
  if (active?.document !== undefined) lines.push('', 'active document (YAML):', ...indented(active.document, '  '));
  return lines.join('\n');
}

function historyText(environment: string, items: readonly PolicyBody[]): string {
  if (items.length === 0) return `no policy was ever pushed for ${displayText(environment, 64)}`;
  const lines: string[] = [];
  items.forEach((p, i) => {
    if (i > 0) lines.push('');
    lines.push(policyHeadline(p), `  id: ${p.id}`, `  ${whoLine(p)}`);
    if (p.activatedAt !== null) lines.push(`  active from ${displayText(p.activatedAt, 40)}${p.endedAt === null ? '' : ` until ${displayText(p.endedAt, 40)}`}`);
    const diff = p.diff;
    if (diff === undefined || diff === '') lines.push('  diff: none (the same document as the version before)');
    else lines.push('  diff from the version before:', ...indented(diff, '    '));
  });
  return lines.join('\n');
}

export function registerPolicyView(policy: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  policy
    .command('show')
    .description("an environment's effective policy: baseline requirements, the active document and the effective digest")
    .argument('<env>', 'the environment, e.g. production')
    .action((environment: string) =>
      run(async () => {
        const out = ctx.output();
        const shown = await ctx.withClient((c) => c.promotion.showPolicy(environment));
        out.result(shown, () => effectiveText(shown));
      }),
    );
  policy
    .command('history')
    .description("an environment's policy versions, newest first: digest, status, who proposed and approved each, and the diff")
    .argument('<env>', 'the environment, e.g. production')
    .action((environment: string) =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) => c.promotion.policyHistory(environment));
        out.result(page, () => historyText(environment, page.items));
      }),
    );
}
