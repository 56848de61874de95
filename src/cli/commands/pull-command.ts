/** `custody pull REF`: download, verify every file and the version digest, write atomically. */
import type { Command } from 'commander';
import { parseModelRef } from '../../domain/model-ref.js';
import type { CliContext } from '../context.js';
import { createProgress } from '../progress.js';
import { formatBytes } from '../output.js';
import { openWitness, saveWitness } from '../log-trust.js';

export function registerPull(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('pull')
    .description('download a version, verify every file and its digest, and write it atomically')
    .argument('<ref>', 'NS/NAME@vN or NS/NAME@sha256:<hex>')
    .option('-o, --output <path>', 'target directory (or file, for a single-file model)')
    .option('--force', 'replace a non-empty target')
    .option('--log-key <vkey>', 'the log key to trust (default: the one pinned for this server)')
    .action((refText: string, opts: { output?: string; force?: boolean; logKey?: string }) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const client = await ctx.client();
        const progress = createProgress(!out.quiet);
        try {
          const witness = await openWitness(client, opts.logKey);
          let logged: { logIndex: number; treeSize: number } | undefined;
          const result = await client.pull(ref, {
            verifyVersion: async (version) => {
              logged = await witness.verifyRegistration(client, version);
              await saveWitness(client, witness);
            },
            ...(opts.output === undefined ? {} : { output: opts.output }),
            force: opts.force === true,
            onProgress: (done, total) => {
              progress.update('pull', done, total);
            },
          });
          progress.stop();
          const v = result.version;
          out.result(
            { model: `${v.namespace}/${v.name}`, number: v.number, digest: v.digest, path: result.path, files: result.files, bytes: result.bytes, verified: true, log: logged ?? null },
            () =>
              `pulled ${v.namespace}/${v.name}@v${v.number} into ${result.path}\ndigest:   ${v.digest} (verified: ${result.files} file(s), ${formatBytes(result.bytes)})` +
              (logged === undefined ? '' : `\nlog:      registration is entry ${logged.logIndex}, included in a checkpoint of ${logged.treeSize} entries signed by the pinned key`),
          );
        } finally {
          progress.stop();
          client.close();
        }
      }),
    );
}
