/**
 * `custody push PATH --model NS/NAME --provenance FILE [--attest FILE]…`: upload what the
 * registry lacks, register the version with its signed training provenance and any further
 * attestations (SPEC §4.3, §8). The registry verifies every bundle; a refusal names its code.
 */
import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import { parseModelName } from '../../domain/model-ref.js';
import type { CliContext } from '../context.js';
import { createProgress } from '../progress.js';
import { formatBytes } from '../output.js';
import { MAX_ATTESTATION_BUNDLE_BYTES } from '../../sdk/attestation-check.js';
import { readLimitedText } from './signing-files.js';

/** Commander collector for a repeatable option. */
function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

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
    .option('--provenance <file>', 'signed training provenance: a Sigstore bundle (custody attest --predicate-type https://slsa.dev/provenance/v1)')
    .option('--attest <file>', 'a further attestation bundle to register with the version (repeatable)', collect, [])
    .option('--annotations <file>', 'JSON object of free annotations (always shown as unverified)')
    .option('--ignore-path <path...>', 'leave out a path relative to the model (and its subtree)')
    .action((target: string, opts: { model: string; provenance?: string; attest: string[]; annotations?: string; ignorePath?: string[] }) =>
      run(async () => {
        const out = ctx.output();
        const model = parseModelName(opts.model);
        const annotations = opts.annotations === undefined ? undefined : await readAnnotations(opts.annotations);
        // Read before any byte is hashed or sent: a missing file is a usage error, not a failed upload.
        const provenance = opts.provenance === undefined ? undefined : await readLimitedText(opts.provenance, MAX_ATTESTATION_BUNDLE_BYTES, 'the provenance bundle');
        const attestations: string[] = [];
        for (const file of opts.attest) attestations.push(await readLimitedText(file, MAX_ATTESTATION_BUNDLE_BYTES, 'the attestation bundle'));
        const client = await ctx.client();
        const progress = createProgress(!out.quiet);
        let hashTotal = 0;
        try {
          const result = await client.push(target, {
            model,
            ...(annotations === undefined ? {} : { annotations }),
            ...(provenance === undefined ? {} : { provenance }),
            ...(attestations.length === 0 ? {} : { attestations }),
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
              provenance: provenance !== undefined,
              attestations: attestations.length,
              receipt: v.receipt ?? null,
            },
            () =>
              `${result.created ? 'registered' : 'already registered'} ${v.namespace}/${v.name}@v${v.number}\n` +
              `digest:   ${v.digest}\n` +
              `uploaded: ${result.uploadedFiles} file(s), ${formatBytes(result.uploadedBytes)}; ${result.skippedFiles} already stored` +
              (provenance === undefined ? '' : `\nprovenance: verified by the registry${result.created ? '' : ' (the version was already registered; nothing new stored)'}`) +
              (attestations.length === 0 ? '' : `\nattestations: ${attestations.length} verified by the registry`) +
              (v.receipt === null || v.receipt === undefined ? '' : `\nlogged:   entry ${v.receipt.logIndex} in a signed checkpoint of ${v.receipt.treeSize} entries`),
          );
        } finally {
          progress.stop();
          client.close();
        }
      }),
    );
}
