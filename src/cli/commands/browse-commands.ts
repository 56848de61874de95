/** `custody models`, `custody versions NS/NAME`, `custody show REF`: browse the registry. */
import type { Command } from 'commander';
import { parseModelName, parseModelRef } from '../../domain/model-ref.js';
import type { CliContext } from '../context.js';
import { formatBytes, table } from '../output.js';

export function registerBrowse(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('models')
    .description('list models with their latest version')
    .option('--namespace <ns>', 'only this namespace')
    .option('--limit <n>', 'page size (1–1000)', '100')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action((opts: { namespace?: string; limit: string; cursor?: string }) =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) =>
          c.listModels({ limit: Number(opts.limit), ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }), ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) }),
        );
        out.result(page, () =>
          page.items.length === 0
            ? 'no models yet: push one with  custody push PATH --model NS/NAME'
            : table(
                ['model', 'versions', 'latest', 'digest', 'registered'],
                page.items.map((m) => [`${m.namespace}/${m.name}`, String(m.versionCount), m.latest === null ? '-' : `v${m.latest.number}`, m.latest?.digest ?? '-', m.latest?.registeredAt ?? '-']),
              ) + (page.nextCursor === null ? '' : `\nmore: --cursor ${page.nextCursor}`),
        );
      }),
    );
  program
    .command('versions')
    .description('list the versions of a model, newest first')
    .argument('<model>', 'NS/NAME')
    .option('--limit <n>', 'page size (1–1000)', '100')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action((model: string, opts: { limit: string; cursor?: string }) =>
      run(async () => {
        const out = ctx.output();
        const name = parseModelName(model);
        const page = await ctx.withClient((c) => c.listVersions(name, { limit: Number(opts.limit), ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) }));
        out.result(page, () =>
          table(
            ['version', 'digest', 'files', 'size', 'registered', 'by'],
            page.items.map((v) => [`v${v.number}`, v.digest, String(v.fileCount), formatBytes(v.totalSize), v.registeredAt, v.registeredBy]),
          ) + (page.nextCursor === null ? '' : `\nmore: --cursor ${page.nextCursor}`),
        );
      }),
    );
  program
    .command('show')
    .description('show a version: digest, number, files, who pushed it and when, annotations (unverified)')
    .argument('<ref>', 'NS/NAME@vN or NS/NAME@sha256:<hex>')
    .action((refText: string) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const v = await ctx.withClient((c) => c.getVersion(ref));
        out.result({ ...v, annotationsVerified: false }, () =>
          [
            `${v.namespace}/${v.name}@v${v.number}  (immutable)`,
            `digest:      ${v.digest}`,
            `oms root:    ${v.omsRootDigest}`,
            `registered:  ${v.registeredAt} by ${v.registeredBy}`,
            `size:        ${formatBytes(v.totalSize)} in ${v.fileCount} file(s)${v.singleFile ? ' (single-file model)' : ''}`,
            '',
            table(['path', 'size', 'digest'], v.files.map((f) => [f.path, formatBytes(f.size), f.digest])),
            '',
            v.annotations === null || v.annotations === undefined
              ? 'annotations: none'
              : `annotations (UNVERIFIED, supplied by the pusher):\n${JSON.stringify(v.annotations, null, 2)}`,
          ].join('\n'),
        );
      }),
    );
}
