/** `custody push PATH --model NS/NAME`: upload what the registry lacks, register the version. */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import { parseModelName } from '../../domain/model-ref.js';
import type { CliContext } from '../context.js';
import { createProgress } from '../progress.js';
import { formatBytes } from '../output.js';

async function readAnnotations(file: string): Promise<Record<string, unknown>> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch (error) {
    throw new CustodyError('USAGE', `--annotations ${file}: ${error instanceof SyntaxError ? 'not valid JSON' : ((error as NodeJS.ErrnoException).code ?? 'unreadable')}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CustodyError('USAGE', '--annotations must hold a JSON object');
  return value as Record<string, unknown>;
}

export function registerPush(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('push')
    .description('hash a local model, upload the blobs the registry lacks (resumable), register the version')
    .argument('<path>', 'model directory or single file')
    .requiredOption('--model <ns/name>', 'model to register the version under')
    .option('--annotations <file>', 'JSON object of free annotations (always shown as unverified)')
    .option('--ignore-path <path...>', 'leave out a path relative to the model (and its subtree)')
    .action((target: string, opts: { model: string; annotations?: string; ignorePath?: string[] }) =>
      run(async () => {
        const out = ctx.output();
        const model = parseModelName(opts.model);
        const annotations = opts.annotations === undefined ? undefined : await readAnnotations(opts.annotations);
        const client = await ctx.client();
        const progress = createProgress(!out.quiet);
        let hashTotal = 0;
        try {
          const result = await client.push(target, {
            model,
            ...(annotations === undefined ? {} : { annotations }),
            ...(opts.ignorePath === undefined ? {} : { ignorePaths: opts.ignorePath }),
            onProgress: (phase, done, total) => {
              if (phase === 'hash' && total > 0) hashTotal = total;
              progress.update(phase, done, phase === 'hash' ? hashTotal : total);
            },
          });
          progress.stop();
          const v = result.version;
          out.result(
            {
              model: `${v.namespace}/${v.name}`,
              number: v.number,
              digest: v.digest,
              omsRootDigest: v.omsRootDigest,
              created: result.created,
              uploadedFiles: result.uploadedFiles,
              uploadedBytes: result.uploadedBytes,
              skippedFiles: result.skippedFiles,
              receipt: v.receipt ?? null,
            },
            () =>
              `${result.created ? 'registered' : 'already registered'} ${v.namespace}/${v.name}@v${v.number}\n` +
              `digest:   ${v.digest}\n` +
              `uploaded: ${result.uploadedFiles} file(s), ${formatBytes(result.uploadedBytes)}; ${result.skippedFiles} already stored` +
              (v.receipt === null || v.receipt === undefined ? '' : `\nlogged:   entry ${v.receipt.logIndex} in a signed checkpoint of ${v.receipt.treeSize} entries`),
          );
        } finally {
          progress.stop();
          client.close();
        }
      }),
    );
}
