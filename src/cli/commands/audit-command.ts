/** `custody audit`: the log's events, newest first, with filters (SPEC §8). */
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';

interface AuditOptions {
  model?: string;
  type?: string;
  since?: string;
  before?: string;
  limit: string;
}

interface EventView {
  type?: string;
  time?: string;
  model?: string;
  actor?: { principal?: string };
  digest?: string;
  code?: string;
}

export function registerAudit(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('audit')
    .description('list log events, newest first')
    .option('--model <ns/name>', 'only events about this model')
    .option('--type <type>', 'only this event type (e.g. version.registered)')
    .option('--since <time>', 'only events at or after this RFC 3339 time')
    .option('--before <index>', 'only entries with a smaller log index (next page)')
    .option('--limit <n>', 'page size (1–1000)', '100')
    .action((opts: AuditOptions) =>
      run(async () => {
        const out = ctx.output();
        if (opts.since !== undefined && Number.isNaN(Date.parse(opts.since))) throw new CustodyError('USAGE', '--since must be an RFC 3339 time');
        const client = await ctx.client();
        try {
          const page = await client.audit({
            limit: Number(opts.limit),
            ...(opts.model === undefined ? {} : { model: opts.model }),
            ...(opts.type === undefined ? {} : { type: opts.type }),
            ...(opts.since === undefined ? {} : { since: new Date(opts.since).toISOString() }),
            ...(opts.before === undefined ? {} : { before: Number(opts.before) }),
          });
          out.result(page, () => {
            const rows = page.items.map((item) => {
              const e = item.event as EventView;
              return [String(item.index), e.time ?? '', e.type ?? '', e.model ?? '-', e.actor?.principal ?? '-', e.digest ?? e.code ?? ''];
            });
            return table(['index', 'time', 'type', 'model', 'actor', 'detail'], rows) + (page.nextBefore === null ? '' : `\nmore: --before ${page.nextBefore}`);
          });
        } finally {
          client.close();
        }
      }),
    );
}
