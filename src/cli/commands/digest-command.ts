/** `custody digest PATH`: a local model's manifest, version digest and OMS root digest, offline. */
import type { Command } from 'commander';
import { scanModel } from '../../sdk/local-model.js';
import type { CliContext } from '../context.js';
import { hashProgress } from '../progress.js';
import { formatBytes, table } from '../output.js';

export function registerDigest(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('digest')
    .description('compute a local model\'s manifest, its version (manifest) digest and its OMS root digest (offline)')
    .argument('<path>', 'model directory or single file')
    .option('--ignore-path <path...>', 'leave out a path relative to the model (and its subtree), as OMS --ignore-paths')
    .action((target: string, opts: { ignorePath?: string[] }) =>
      run(async () => {
        const out = ctx.output();
        const progress = hashProgress(!out.quiet);
        const model = await scanModel(target, {
          ...(opts.ignorePath === undefined ? {} : { ignorePaths: opts.ignorePath }),
          onScanned: progress.onScanned,
          onProgress: progress.onProgress,
        }).finally(progress.stop);
        out.result(
          {
            digest: model.digest,
            omsRootDigest: model.omsRootDigest,
            singleFile: model.singleFile,
            files: model.files.map((f) => ({ path: f.path, size: f.size, digest: `sha256:${f.sha256}` })),
          },
          () =>
            [
              table(
                ['path', 'size', 'sha256'],
                model.files.map((f) => [f.path, formatBytes(f.size), f.sha256]),
              ),
              '',
              `digest:    ${model.digest}`,
              `oms root:  ${model.omsRootDigest}`,
            ].join('\n'),
        );
      }),
    );
}
