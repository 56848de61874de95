/**
 * `custody promote REF --to ENV [--expect-current sha256:…|none] [--vsa-out FILE]` (SPEC §2,
 * §6.1, §8): asks the registry to decide. Allowed (exit 0): the decision, each requirement and
 * gate, the log entry, and the signed VSA — its digest and where it is kept in human mode, the
 * whole decision with the VSA bundle under --json, the bundle itself with --vsa-out; when a VSA
 * key is pinned the VSA is verified here first. Denied (exit 3): each requirement and gate that
 * did not pass, with its message. `--expect-current` is a compare-and-swap on what ENV holds: a
 * stale one fails with ALIAS_MOVED (exit 1) naming what it holds now.
 */
import type { Command } from 'commander';
import { sha256Hex } from '../../domain/digest.js';
import { CustodyError } from '../../domain/errors.js';
import { parseModelRef } from '../../domain/model-ref.js';
import { verifyVsa } from '../../promotion/vsa.js';
import type { DecisionBody } from '../../sdk/promotion-api.js';
import { readVsaTrust } from '../client-config.js';
import type { CliContext } from '../context.js';
import { exitDenied } from '../denied-exit.js';
import { displayText } from './browse-commands.js';
import { checkLines } from './check-results.js';
import { loggedLine } from './principal-commands.js';
import { writeFileAtomically } from './signing-files.js';

interface PromoteOptions {
  readonly to: string;
  readonly expectCurrent?: string;
  readonly vsaOut?: string;
}

function expectCurrentOption(value: string | undefined): string | undefined {
  if (value === undefined || value === 'none' || /^sha256:[0-9a-f]{64}$/.test(value)) return value;
  throw new CustodyError('USAGE', '--expect-current must be sha256:<64 lowercase hex digits> or none');
}

/** Where the VSA is, in words: what was checked here, where it was written, how to fetch it again. */
function vsaLines(d: DecisionBody, vsa: string, checkedWith: string | undefined, written: string | undefined): string[] {
  const [namespace = '', name = ''] = d.model.split('/');
  const where = `/api/v1/models/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/environments/${encodeURIComponent(d.environment)}`;
  return [
    `VSA:       sha256:${sha256Hex(vsa)} (SLSA verification summary, Sigstore bundle signed with the registry's VSA key)`,
    checkedWith === undefined ? '           not verified here: no VSA key is pinned (custody login pins it)' : `           verified with the pinned VSA key ${checkedWith}`,
    written === undefined ? '           write it to a file with --vsa-out FILE, or take it from --json (vsa)' : `           written to ${written}`,
    `           kept with the decision: GET ${where} (decision.vsa); custody pull ${displayText(d.model, 260)}@${displayText(d.environment, 64)} verifies it`,
  ];
}

function allowedText(d: DecisionBody, vsa: string[]): string {
  return [
    `ALLOWED: ${displayText(d.model, 260)}@${d.version} promoted into ${displayText(d.environment, 64)}`,
    `decision:  ${displayText(d.id, 64)} by ${displayText(d.principal, 60)} (${displayText(d.principalKind, 20)}) at ${displayText(d.decidedAt, 40)}`,
    `policy:    ${d.policyDigest ?? 'none (baseline only)'}; effective ${d.effectiveDigest}`,
    `input:     ${d.inputDigest}`,
    ...checkLines(d),
    loggedLine(d.receipt ?? { logIndex: d.logIndex }, 'promotion.decided'),
    ...vsa,
  ].join('\n');
}

function deniedText(d: DecisionBody): string {
  return [
    `DENIED: ${displayText(d.model, 260)}@${d.version} was not promoted into ${displayText(d.environment, 64)}`,
    ...checkLines(d, { failedOnly: true }),
    `decision:  ${displayText(d.id, 64)} by ${displayText(d.principal, 60)} (${displayText(d.principalKind, 20)}) at ${displayText(d.decidedAt, 40)}; effective policy ${d.effectiveDigest}`,
    loggedLine(d.receipt ?? { logIndex: d.logIndex }, 'promotion.decided'),
  ].join('\n');
}

export function registerPromote(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('promote')
    .description('promote a version into an environment: the registry evaluates its policy and decides (exit 0 allowed, 3 denied)')
    .argument('<ref>', 'NS/NAME@vN, NS/NAME@sha256:<hex> or NS/NAME@<environment>')
    .requiredOption('--to <env>', 'the environment to promote into')
    .option('--expect-current <digest>', 'compare-and-swap: the digest ENV must hold now (sha256:<hex>), or none')
    .option('--vsa-out <file>', 'write the VSA (Sigstore bundle JSON) of an allowed promotion to FILE')
    .action((refText: string, opts: PromoteOptions) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const expectCurrent = expectCurrentOption(opts.expectCurrent);
        const client = await ctx.client();
        let decision: DecisionBody;
        let pinned: { publicKey: string; keyId: string } | undefined;
        try {
          decision = await client.promotion.promote(ref, opts.to, expectCurrent === undefined ? {} : { expectCurrent });
          pinned = await readVsaTrust(client.transport.serverUrl);
        } finally {
          client.close();
        }
        if (decision.outcome === 'deny') {
          out.result(decision, () => deniedText(decision));
          return exitDenied();
        }
        const vsa = decision.vsa;
        if (vsa === null) throw new CustodyError('VERIFICATION_FAILED', `decision ${displayText(decision.id, 64)} allowed the promotion but carries no VSA`);
        if (pinned !== undefined) {
          try {
            verifyVsa(vsa, { publicKey: pinned.publicKey, expectedDigest: decision.version, expectedEnvironment: decision.environment });
          } catch (error) {
            throw new CustodyError('VERIFICATION_FAILED', `the promotion was decided (decision ${displayText(decision.id, 64)}), but its VSA does not verify: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
          }
        }
        if (opts.vsaOut !== undefined) await writeFileAtomically(opts.vsaOut, vsa);
        out.result(decision, () => allowedText(decision, vsaLines(decision, vsa, pinned?.keyId, opts.vsaOut)));
      }),
    );
}
