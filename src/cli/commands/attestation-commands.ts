/**
 * `custody attestations add REF FILE… [--evidence]` and `custody attestations list REF` (SPEC §2,
 * §4.2, §8): submit signed attestations about a version after its entry — the registry verifies
 * each one, stores it whole and logs it by digest; submitting the same bundle again changes
 * nothing — or, with `--evidence`, attach pipeline evidence (a step's in-toto link v0.3 or SLSA
 * provenance, counted only by a policy's `chain`, §6.3); and list a version's attestations with
 * their role and the registry's judgement of each.
 */
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import { parseModelRef } from '../../domain/model-ref.js';
import type { AttestationBody } from '../../sdk/custody-client.js';
import { MAX_ATTESTATION_BUNDLE_BYTES } from '../../sdk/attestation-check.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { displayText } from './browse-commands.js';
import { readLimitedText } from './signing-files.js';

interface AddOutcome {
  readonly file: string;
  readonly created: boolean;
  readonly role: string;
  readonly predicateType: string;
  readonly key: string;
  readonly keyId: string;
  readonly logIndex: number;
  readonly bundleDigest: string;
}

function outcomeOf(file: string, a: AttestationBody): AddOutcome {
  return { file, created: a.created === true, role: a.role, predicateType: a.predicateType, key: a.key, keyId: a.keyId, logIndex: a.logIndex, bundleDigest: a.bundleDigest };
}

/** `valid`, or `INVALID (CODE: why)`. */
export function attestationStatusText(status: { valid: boolean; code?: string | undefined; message?: string | undefined }): string {
  if (status.valid) return 'valid';
  return `INVALID (${displayText([status.code, status.message].filter((p) => p !== undefined).join(': '), 160)})`;
}

export function registerAttestations(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const attestations = program.command('attestations').description('submit or list the signed attestations of a version');
  attestations
    .command('add')
    .description('submit attestation bundles about a version, one request per file; stops at the first refusal')
    .argument('<ref>', 'NS/NAME@vN or NS/NAME@sha256:<hex>')
    .argument('<files...>', 'Sigstore bundle files (custody attest --output FILE)')
    .option('--evidence', "attach as pipeline evidence: a step's in-toto link v0.3 or SLSA provenance, whose subjects are the step's products (counted only by a policy's chain)")
    .action((refText: string, files: string[], opts: { evidence?: boolean }) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        // Every file is read before the first request: a missing file is a usage error that sends nothing.
        const bundles: { file: string; bundle: string }[] = [];
        for (const file of files) bundles.push({ file, bundle: await readLimitedText(file, MAX_ATTESTATION_BUNDLE_BYTES, 'the attestation bundle') });
        const outcomes: AddOutcome[] = [];
        await ctx.withClient(async (client) => {
          for (const { file, bundle } of bundles) {
            let added: AttestationBody;
            try {
              added = await client.addAttestation(ref, bundle, opts.evidence === true ? { role: 'evidence' } : {});
            } catch (error) {
              if (!(error instanceof CustodyError)) throw error;
              // The refusal's own code decides the exit status; what went in before is in the details.
              throw new CustodyError(error.code, `${file}: ${error.message}`, { cause: error, details: { ...error.details, file, added: outcomes } });
            }
            const outcome = outcomeOf(file, added);
            outcomes.push(outcome);
            if (!out.json) {
              out.result(outcome, () =>
                `${file}: ${outcome.created ? 'added' : 'already present'}${outcome.role === 'evidence' ? ' as evidence' : ''} — ${displayText(outcome.predicateType, 200)} signed by ${displayText(outcome.key, 60)} (${outcome.keyId.slice(0, 12)}), log entry ${outcome.logIndex}`,
              );
            }
          }
        });
        if (out.json) out.result({ ref: refText, results: outcomes }, () => '');
      }),
    );
  attestations
    .command('list')
    .description('list the attestations of a version in log order, each judged against the key records now')
    .argument('<ref>', 'NS/NAME@vN or NS/NAME@sha256:<hex>')
    .action((refText: string) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const page = await ctx.withClient((c) => c.listAttestations(ref));
        out.result(page, () =>
          page.items.length === 0
            ? `no attestations for ${page.version}: submit one with  custody attestations add REF FILE`
            : `attestations of ${page.version}:\n` +
              table(
                ['predicate type', 'role', 'key', 'status', 'log index', 'logged at'],
                page.items.map((a) => [
                  displayText(a.predicateType, 80),
                  a.role,
                  `${displayText(a.key, 60)} (${a.keyId.slice(0, 12)})`,
                  attestationStatusText(a.status),
                  String(a.logIndex),
                  displayText(a.loggedAt, 40),
                ]),
              ),
        );
      }),
    );
}
