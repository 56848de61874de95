/**
 * `custody principals create|list|disable` (SPEC §7, §8): the users and services that act on the
 * registry. A service may act for an OIDC workload identity (a trusted issuer + subject, with an
 * optional CEL condition on the token's claims). Each change is one logged event; the receipt's
 * log index is printed. Needs `principal:manage`.
 */
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import type { PrincipalBody } from '../../sdk/identity-api.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { displayText } from './browse-commands.js';

interface CreateOptions {
  readonly kind: string;
  readonly oidcIssuer?: string;
  readonly oidcSubject?: string;
  readonly oidcCondition?: string;
}

function parseKind(kind: string): PrincipalBody['kind'] {
  if (kind !== 'user' && kind !== 'service') throw new CustodyError('USAGE', `--kind must be user or service, not ${JSON.stringify(kind.slice(0, 40))}`);
  return kind;
}

/** The OIDC identity the options name, or undefined; half an identity is a USAGE error. */
function oidcOption(opts: CreateOptions): { issuer: string; subject: string; condition?: string } | undefined {
  const { oidcIssuer: issuer, oidcSubject: subject, oidcCondition: condition } = opts;
  if (issuer === undefined && subject === undefined) {
    if (condition !== undefined) throw new CustodyError('USAGE', '--oidc-condition needs --oidc-issuer and --oidc-subject');
    return undefined;
  }
  if (issuer === undefined || subject === undefined) throw new CustodyError('USAGE', '--oidc-issuer and --oidc-subject go together: name both or neither');
  return { issuer, subject, ...(condition === undefined ? {} : { condition }) };
}

/** `issuer … subject … [when …]`, terminal-safe. */
export function oidcText(oidc: PrincipalBody['oidc']): string {
  if (oidc === null) return '-';
  const when = oidc.condition === null ? '' : ` when ${displayText(oidc.condition, 200)}`;
  return `${displayText(oidc.issuer, 200)} subject ${displayText(oidc.subject, 200)}${when}`;
}

function statusOf(p: PrincipalBody): string {
  return p.disabledAt === null ? 'active' : `DISABLED (${displayText(p.disabledAt, 40)})`;
}

/** `logged: entry N (event)`, or `?` when the server sent no receipt. */
export function loggedLine(receipt: { logIndex: number } | undefined, event: string): string {
  return `logged: entry ${receipt === undefined ? '?' : String(receipt.logIndex)} (${event})`;
}

export function registerPrincipals(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const principals = program.command('principals').description('users and services: create, list, disable');
  principals
    .command('create')
    .description('create a user or service principal (a service may act for an OIDC workload identity)')
    .argument('<name>', 'the principal name, e.g. alice or ci-fraud')
    .requiredOption('--kind <kind>', 'user or service')
    .option('--oidc-issuer <url>', 'services only: a trusted OIDC issuer (server config oidc.issuers)')
    .option('--oidc-subject <sub>', "services only: the token's subject, e.g. repo:acme/fraud:ref:refs/heads/main")
    .option('--oidc-condition <cel>', 'services only: CEL over the token claims, e.g. claims.ref == "refs/heads/main"')
    .action((name: string, opts: CreateOptions) =>
      run(async () => {
        const out = ctx.output();
        const kind = parseKind(opts.kind);
        const oidc = oidcOption(opts);
        const created = await ctx.withClient((c) => c.identity.createPrincipal({ name, kind, ...(oidc === undefined ? {} : { oidc }) }));
        out.result(created, () =>
          [
            `created principal ${displayText(created.name)} (${created.kind})`,
            ...(created.oidc === null ? [] : [`acts for: ${oidcText(created.oidc)}`]),
            loggedLine(created.receipt, 'principal.created'),
            `next: custody roles grant ROLE --principal ${displayText(created.name)}`,
          ].join('\n'),
        );
      }),
    );
  principals
    .command('list')
    .description('list principals, disabled ones included')
    .action(() =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) => c.identity.listPrincipals());
        out.result(page, () =>
          table(
            ['name', 'kind', 'status', 'created', 'oidc'],
            page.items.map((p) => [displayText(p.name, 130), p.kind, statusOf(p), displayText(p.createdAt, 40), oidcText(p.oidc)]),
          ),
        );
      }),
    );
  principals
    .command('disable')
    .description('disable a principal: its tokens and workload identity stop working at once')
    .argument('<name>', 'the principal name')
    .action((name: string) =>
      run(async () => {
        const out = ctx.output();
        const disabled = await ctx.withClient((c) => c.identity.disablePrincipal(name));
        out.result(disabled, () =>
          [
            `disabled principal ${displayText(disabled.name)} (${disabled.kind}): its tokens and workload identity no longer work`,
            loggedLine(disabled.receipt, 'principal.disabled'),
          ].join('\n'),
        );
      }),
    );
}
