/**
 * `custody sign PATH --key FILE [--output FILE]`: an OpenSSF Model Signing v1.0 signature bundle
 * for a local model, offline, in the shape the reference `model_signing verify` accepts
 * (SPEC §8; reference/oms.md §6.4). With `--cert-chain` the bundle carries the X.509 chain
 * (certificate method) instead of the key hint. The signature file is left out of the model and
 * recorded in `ignore_paths` when it lies inside it.
 */
import type { Command } from 'commander';
import { createModelSignature } from '../../oms/sign-model.js';
import type { CliContext } from '../context.js';
import { hashProgress } from '../progress.js';
import { readLimitedText, writeFileAtomically } from './signing-files.js';

const MAX_KEY_FILE_BYTES = 64 * 1024;
const MAX_CHAIN_FILE_BYTES = 1024 * 1024;
/** model_signing's default signature file name. */
const DEFAULT_SIGNATURE = 'model.sig';

interface SignOptions {
  key: string;
  output: string;
  certChain?: string[];
  ignorePath?: string[];
}

export function registerSign(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('sign')
    .description('write an OpenSSF Model Signing (OMS v1.0) signature bundle for a local model (offline)')
    .argument('<path>', 'model directory or single file')
    .requiredOption('--key <file>', 'private key (PKCS#8 or SEC1 PEM; ECDSA P-256/P-384 for model_signing interop, or Ed25519)')
    .option('--output <file>', 'where to write the bundle', DEFAULT_SIGNATURE)
    .option('--cert-chain <pem...>', 'certificate method: the leaf certificate for the key, then intermediates (PEM)')
    .option('--ignore-path <path...>', 'leave out a path relative to the model (and its subtree); recorded in the signature')
    .action((target: string, opts: SignOptions) =>
      run(async () => {
        const out = ctx.output();
        const privateKeyPem = await readLimitedText(opts.key, MAX_KEY_FILE_BYTES, 'the private key file');
        const chainTexts = await Promise.all((opts.certChain ?? []).map((file) => readLimitedText(file, MAX_CHAIN_FILE_BYTES, 'the certificate file')));
        const progress = hashProgress(!out.quiet);
        const signed = await createModelSignature({
          modelPath: target,
          privateKeyPem,
          signaturePath: opts.output,
          ...(opts.ignorePath === undefined ? {} : { ignorePaths: opts.ignorePath }),
          ...(chainTexts.length === 0 ? {} : { certificateChainPem: chainTexts.join('\n') }),
          onScanned: progress.onScanned,
          onProgress: progress.onProgress,
        }).finally(progress.stop);
        await writeFileAtomically(opts.output, `${signed.bundleJson}\n`);
        out.result(
          {
            signature: opts.output,
            method: chainTexts.length === 0 ? 'key' : 'certificate',
            keyId: signed.keyId,
            rootDigest: signed.rootDigest,
            files: signed.files,
            ignorePaths: signed.ignorePaths,
          },
          () =>
            [
              `signed ${signed.files} file${signed.files === 1 ? '' : 's'} of ${target} with key ${signed.keyId}`,
              `oms root:  ${signed.rootDigest}`,
              `signature: ${opts.output}`,
            ].join('\n'),
        );
      }),
    );
}
