/**
 * `custody status NS/NAME` (SPEC §2, §8, §10): which version each environment of a model holds,
 * since when, the decision that placed it there (or its registration, for the first
 * environment), and any quarantine with its reason — as words, never colour alone.
 */
import type { Command } from 'commander';
import { parseModelName } from '../../domain/model-ref.js';
import type { EnvironmentStatusBody, QuarantineBody } from '../../sdk/promotion-api.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { displayText } from './browse-commands.js';

/** `QUARANTINED: reason (since …)`, several joined by `; `, or `-`. */
export function quarantineText(quarantines: readonly QuarantineBody[]): string {
  if (quarantines.length === 0) return '-';
  return `QUARANTINED: ${quarantines.map((q) => `${displayText(q.reason, 200)} (since ${displayText(q.since, 40)})`).join('; ')}`;
}

/** The decision that placed a version, or `registration` when none did. */
export function placedByText(e: EnvironmentStatusBody): string {
  if (e.version === null) return '-';
  return e.decision === null ? 'registration' : displayText(e.decision, 64);
}

function statusRow(e: EnvironmentStatusBody): string[] {
  if (e.version === null) return [displayText(e.environment, 64), '-', '-', '-', '-', '-'];
  return [displayText(e.environment, 64), e.number === null ? '?' : `v${e.number}`, e.version, displayText(e.since ?? '-', 40), placedByText(e), quarantineText(e.quarantines)];
}

export function registerStatus(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('status')
    .description('which version each environment holds, since when, by which decision, and any quarantine')
    .argument('<model>', 'NS/NAME')
    .action((model: string) =>
      run(async () => {
        const out = ctx.output();
        const name = parseModelName(model);
        const status = await ctx.withClient((c) => c.promotion.status(name));
        out.result(status, () =>
          [
            displayText(status.model, 260),
            table(['environment', 'version', 'digest', 'since', 'decision', 'quarantine'], status.environments.map(statusRow)),
          ].join('\n'),
        );
      }),
    );
}
