/**
 * `custody pull REF`: download, verify every file and the version digest, prove the registration
 * is in the log, re-verify every attestation against the key records and their log events, and
 * write atomically (SPEC §8). For `NS/NAME@ENV`, the placement is checked first: a quarantined
 * version is refused and a promoted one's VSA must verify with the pinned VSA key
 * (`vsa-trust.ts`). Invalid attestations are reported, not fatal; a registry whose bundles or
 * claims do not verify fails the pull (VERIFICATION_FAILED, exit 4).
 */
import type { Command } from 'commander';
import { parseModelRef } from '../../domain/model-ref.js';
import type { AttestationReport } from '../../sdk/attestation-check.js';
import type { EnvironmentPlacement } from '../../sdk/environment-check.js';
import type { CliContext } from '../context.js';
import { createProgress } from '../progress.js';
import { formatBytes, table } from '../output.js';
import { openWitness, saveWitness } from '../log-trust.js';
import { vsaKeyForPull } from '../vsa-trust.js';
import { displayText } from './browse-commands.js';

function reportText(report: AttestationReport): string {
  if (report.attestations.length === 0) return 'attestations: none';
  const rows = report.attestations.map((a) => [
    displayText(a.predicateType, 80),
    `${displayText(a.key, 60)} (${a.keyId.slice(0, 12)})`,
    a.valid ? 'valid' : `INVALID (${a.code ?? ''}: ${displayText(a.reason ?? '', 160)})`,
    String(a.logIndex),
    a.valid === a.serverValid ? '' : `registry says ${a.serverValid ? 'valid' : 'invalid'}`,
  ]);
  return (
    `attestations: ${report.valid} valid, ${report.invalid} invalid (each signature verified here; keys and attestations checked against their log events)\n` +
    table(['predicate type', 'key', 'status', 'log index', ''], rows)
  );
}

function placementText(p: EnvironmentPlacement): string {
  const by = p.placedBy;
  if (by.kind === 'registration') {
    return `environment: ${p.environment}, placed there by the version's registration${by.logProven ? ' (proven in the log)' : ''}: no promotion decision, so no VSA`;
  }
  return (
    `environment: ${p.environment}, promoted by decision ${displayText(by.decision, 64)} (${displayText(by.principal, 60)}, ${displayText(by.decidedAt, 40)}, log entry ${by.logIndex}${by.logProven ? ', proven in the log' : ''})\n` +
    `VSA:      ${by.vsa.digest} verified with the pinned VSA key ${by.vsa.keyId} (policy ${by.vsa.policyDigest}); not quarantined`
  );
}

export function registerPull(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('pull')
    .description('download a version, verify every file, its digest, its log inclusion and its attestations, and write it atomically')
    .argument('<ref>', 'NS/NAME@vN, NS/NAME@sha256:<hex> or NS/NAME@<environment>')
    .option('-o, --output <path>', 'target directory (or file, for a single-file model)')
    .option('--force', 'replace a non-empty target')
    .option('--log-key <vkey>', 'the log key to trust (default: the one pinned for this server)')
    .option('--vsa-key <file>', 'for @environment: the VSA public key (PEM) to trust (default: the one pinned for this server)')
    .action((refText: string, opts: { output?: string; force?: boolean; logKey?: string; vsaKey?: string }) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const client = await ctx.client();
        const progress = createProgress(!out.quiet);
        try {
          const witness = await openWitness(client, opts.logKey);
          const result = await client
            .pull(ref, {
              witness,
              ...(ref.selector.kind === 'environment' ? { vsaKey: vsaKeyForPull(client, opts.vsaKey) } : {}),
              ...(opts.output === undefined ? {} : { output: opts.output }),
              force: opts.force === true,
              onProgress: (done, total) => {
                progress.update('pull', done, total);
              },
            })
            .catch(async (error: unknown) => {
              // Keep the newest checkpoint verified so far even when the pull failed afterwards.
              await saveWitness(client, witness).catch(() => undefined);
              throw error;
            });
          await saveWitness(client, witness);
          progress.stop();
          const v = result.version;
          const logged = result.registration;
          out.result(
            {
              model: `${v.namespace}/${v.name}`,
              number: v.number,
              digest: v.digest,
              path: result.path,
              files: result.files,
              bytes: result.bytes,
              verified: true,
              log: logged,
              attestations: result.attestations,
              placement: result.placement,
            },
            () =>
              `pulled ${v.namespace}/${v.name}@v${v.number} into ${result.path}\ndigest:   ${v.digest} (verified: ${result.files} file(s), ${formatBytes(result.bytes)})` +
              (logged === null ? '' : `\nlog:      registration is entry ${logged.logIndex}, included in a checkpoint of ${logged.treeSize} entries signed by the pinned key`) +
              (result.placement === null ? '' : `\n${placementText(result.placement)}`) +
              (result.attestations === null ? '' : `\n${reportText(result.attestations)}`),
          );
        } finally {
          progress.stop();
          client.close();
        }
      }),
    );
}
