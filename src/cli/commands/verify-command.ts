/**
 * `custody verify PATH --signature FILE (--key PUB | --cert-chain PEM… | --identity ID --issuer
 * URL --trusted-root FILE)`: checks a local model against its OpenSSF Model Signing signature,
 * offline (SPEC §8; reference/oms.md §6.3). Exit 0 when every stage passes; a failure exits 4
 * (VERIFICATION_FAILED) with the stage and, for the manifest, the files in the message.
 */
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import { verifyModel, type OmsVerificationMethod } from '../../oms/verify-model.js';
import type { CliContext } from '../context.js';
import { hashProgress } from '../progress.js';
import { readLimitedText } from './signing-files.js';

const MAX_KEY_FILE_BYTES = 64 * 1024;
const MAX_CERT_FILE_BYTES = 1024 * 1024;
const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

interface VerifyOptions {
  signature: string;
  key?: string;
  certChain?: string[];
  identity?: string;
  issuer?: string;
  trustedRoot?: string;
  ignorePath?: string[];
  ignoreUnsignedFiles?: boolean;
  ignoreGitPaths: boolean;
}

async function methodOf(opts: VerifyOptions): Promise<OmsVerificationMethod> {
  const keyless = opts.identity !== undefined || opts.issuer !== undefined || opts.trustedRoot !== undefined;
  const chosen = [opts.key !== undefined, opts.certChain !== undefined, keyless].filter(Boolean).length;
  if (chosen !== 1) {
    throw new CustodyError('USAGE', 'give exactly one verification method: --key PUB, --cert-chain PEM…, or --identity ID --issuer URL --trusted-root FILE');
  }
  if (opts.key !== undefined) return { kind: 'key', publicKeyPem: await readLimitedText(opts.key, MAX_KEY_FILE_BYTES, 'the public key file') };
  if (opts.certChain !== undefined) {
    return { kind: 'certificate', anchorsPem: await Promise.all(opts.certChain.map((f) => readLimitedText(f, MAX_CERT_FILE_BYTES, 'the trust anchor file'))) };
  }
  if (opts.identity === undefined || opts.issuer === undefined || opts.trustedRoot === undefined) {
    throw new CustodyError('USAGE', 'Sigstore keyless verification needs all of --identity, --issuer and --trusted-root');
  }
  return {
    kind: 'sigstore',
    identity: opts.identity,
    issuer: opts.issuer,
    trustedRootJson: await readLimitedText(opts.trustedRoot, MAX_TRUSTED_ROOT_BYTES, 'the trusted root file'),
  };
}

export function registerVerify(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('verify')
    .description('verify a local model against its OpenSSF Model Signing signature (offline)')
    .argument('<path>', 'model directory or single file')
    .requiredOption('--signature <file>', 'the signature bundle (model.sig)')
    .option('--key <pub>', 'key method: the signer\'s public key (PEM)')
    .option('--cert-chain <pem...>', 'certificate method: trusted root certificate(s) (PEM)')
    .option('--identity <id>', 'Sigstore keyless: the exact certificate identity (email or URI)')
    .option('--issuer <url>', 'Sigstore keyless: the exact OIDC issuer')
    .option('--trusted-root <file>', 'Sigstore keyless: the trusted_root.json to verify against (offline)')
    .option('--ignore-path <path...>', 'leave out a path relative to the model (and its subtree)')
    .option('--ignore-unsigned-files', 'accept files on disk that the signature does not list')
    .option('--no-ignore-git-paths', 'include .git, .gitattributes, .github, .gitignore at the top level')
    .action((target: string, opts: VerifyOptions) =>
      run(async () => {
        const out = ctx.output();
        const method = await methodOf(opts);
        const progress = hashProgress(!out.quiet);
        const result = await verifyModel({
          modelPath: target,
          signaturePath: opts.signature,
          method,
          ...(opts.ignorePath === undefined ? {} : { ignorePaths: opts.ignorePath }),
          ignoreUnsignedFiles: opts.ignoreUnsignedFiles === true,
          ignoreGitPaths: opts.ignoreGitPaths,
          onScanned: progress.onScanned,
          onProgress: progress.onProgress,
        }).finally(progress.stop);
        out.result({ verified: true, model: target, signature: opts.signature, ...result }, () =>
          [
            `verified: ${target} matches ${opts.signature} (method ${result.method}), signed by ${result.signer}`,
            `files:     ${result.files.length}`,
            `oms root:  ${result.rootDigest ?? '- (legacy v0.1 predicate, no root digest)'}`,
            ...(result.legacySignature ? ['note:      signed with the model_signing v0.2 signature encoding'] : []),
          ].join('\n'),
        );
      }),
    );
}
