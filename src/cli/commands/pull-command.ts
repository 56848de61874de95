/** `custody pull REF`: download, verify every file and the version digest, write atomically. */
import type { Command } from 'commander';
import { parseModelRef } from '../../domain/model-ref.js';
import type { CliContext } from '../context.js';
import { createProgress } from '../progress.js';
import { formatBytes } from '../output.js';

export function registerPull(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('pull')
    .description('download a version, verify every file and its digest, and write it atomically')
    .argument('<ref>', 'NS/NAME@vN or NS/NAME@sha256:<hex>')
    .option('-o, --output <path>', 'target directory (or file, for a single-file model)')
    .option('--force', 'replace a non-empty target')
    .action((refText: string, opts: { output?: string; force?: boolean }) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const client = await ctx.client();
        const progress = createProgress(!out.quiet);
        try {
          const result = await client.pull(ref, {
            ...(opts.output === undefined ? {} : { output: opts.output }),
            force: opts.force === true,
            onProgress: (done, total) => {
              progress.update('pull', done, total);
            },
          });
          progress.stop();
          const v = result.version;
          out.result(
            { model: `${v.namespace}/${v.name}`, number: v.number, digest: v.digest, path: result.path, files: result.files, bytes: result.bytes, verified: true },
            () => `pulled ${v.namespace}/${v.name}@v${v.number} into ${result.path}\ndigest:   ${v.digest} (verified: ${result.files} file(s), ${formatBytes(result.bytes)})`,
          );
        } finally {
          progress.stop();
          client.close();
        }
      }),
    );
}
