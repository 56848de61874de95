/**
 * `custody attest SUBJECT --predicate-type URI --predicate FILE --key FILE [--output FILE]`: a
 * signed in-toto Statement v1 in a DSSE envelope, as a Sigstore bundle v0.3, offline (SPEC §8,
 * §4.2). SUBJECT is `sha256:<hex>` or a local model path, whose subject is the model's VERSION
 * digest (the manifest digest, which binds file names) under the model's base name.
 */
import nodePath from 'node:path';
import type { Command } from 'commander';
import { createAttestation } from '../../crypto/attestation.js';
import { parseUntrustedJson, type StatementSubject } from '../../crypto/in-toto-statement.js';
import { parsePrivateKey } from '../../crypto/signing-keys.js';
import { parseDigest } from '../../domain/digest.js';
import { CustodyError } from '../../domain/errors.js';
import { scanModel } from '../../sdk/local-model.js';
import type { CliContext } from '../context.js';
import { hashProgress } from '../progress.js';
import { readLimitedText, writeFileAtomically } from './signing-files.js';

const MAX_KEY_FILE_BYTES = 64 * 1024;
/** SPEC §3.1 `limits.maxJsonBytes` default. */
const MAX_PREDICATE_BYTES = 1024 * 1024;

interface AttestOptions {
  predicateType: string;
  predicate: string;
  key: string;
  output?: string;
  ignorePath?: string[];
}

function checkPredicateType(value: string): void {
  let ok = /^[A-Za-z][A-Za-z0-9+.-]*:\S+$/.test(value);
  try {
    new URL(value);
  } catch {
    ok = false;
  }
  if (!ok) throw new CustodyError('USAGE', '--predicate-type must be an absolute URI (e.g. https://slsa.dev/provenance/v1)');
}

async function readPredicate(file: string): Promise<Record<string, unknown>> {
  const text = await readLimitedText(file, MAX_PREDICATE_BYTES, 'the predicate file');
  const value = parseUntrustedJson(text, `--predicate ${file}`, 'USAGE');
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new CustodyError('USAGE', `--predicate ${file} must hold a JSON object`);
  return value as Record<string, unknown>;
}

export function registerAttest(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('attest')
    .description('sign an in-toto attestation (Sigstore bundle v0.3) about a local model or a sha256:<hex> digest (offline)')
    .argument('<subject>', 'a model directory or file (subject = its version digest), or sha256:<hex>')
    .requiredOption('--predicate-type <uri>', 'the predicate type URI')
    .requiredOption('--predicate <file>', 'the predicate: a JSON object')
    .requiredOption('--key <file>', 'private key (PKCS#8 or SEC1 PEM)')
    .option('--output <file>', 'where to write the bundle (default: stdout)')
    .option('--ignore-path <path...>', 'for a model path: leave out a path relative to the model')
    .action((subjectArg: string, opts: AttestOptions) =>
      run(async () => {
        const out = ctx.output();
        checkPredicateType(opts.predicateType);
        const predicate = await readPredicate(opts.predicate);
        const privateKey = parsePrivateKey(await readLimitedText(opts.key, MAX_KEY_FILE_BYTES, 'the private key file'));
        let subject: StatementSubject;
        if (subjectArg.startsWith('sha256:')) {
          subject = { digest: { sha256: parseDigest(subjectArg).hex } };
        } else {
          const progress = hashProgress(!out.quiet);
          const model = await scanModel(subjectArg, {
            ...(opts.ignorePath === undefined ? {} : { ignorePaths: opts.ignorePath }),
            onScanned: progress.onScanned,
            onProgress: progress.onProgress,
          }).finally(progress.stop);
          subject = { name: nodePath.basename(model.root), digest: { sha256: parseDigest(model.digest).hex } };
        }
        const { bundleJson } = createAttestation({ subjects: [subject], predicateType: opts.predicateType, predicate, privateKey });
        if (opts.output === undefined) {
          out.result(JSON.parse(bundleJson) as unknown, () => bundleJson);
          return;
        }
        await writeFileAtomically(opts.output, bundleJson);
        const digest = `sha256:${subject.digest.sha256 ?? ''}`;
        out.result({ output: opts.output, subject: { ...subject }, predicateType: opts.predicateType, keyId: privateKey.publicKey.keyId }, () =>
          [`attested ${subject.name ?? digest} (${digest}) as ${opts.predicateType} with key ${privateKey.publicKey.keyId}`, `wrote ${opts.output ?? ''}`].join('\n'),
        );
      }),
    );
}
