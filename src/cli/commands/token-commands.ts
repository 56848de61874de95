/**
 * `custody tokens create|list|revoke` (SPEC §7, §8): API tokens of a principal. `create` prints
 * the secret once — alone on stdout, so `TOKEN=$(custody tokens create …)` works — and the server
 * keeps only its hash, so `list` never shows one. A token may be narrowed to some of its
 * principal's permissions. Each change is one logged event. Needs `principal:manage`.
 */
import type { Command } from 'commander';
import type { TokenBody } from '../../sdk/identity-api.js';
import { commaList } from '../comma-list.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { parseExpires } from '../token-expiry.js';
import { displayText } from './browse-commands.js';
import { loggedLine } from './principal-commands.js';

interface CreateOptions {
  readonly principal: string;
  readonly expires?: string;
  readonly name?: string;
  readonly permissions?: string;
}

function expiryText(token: TokenBody): string {
  return token.expiresAt === null ? 'never' : displayText(token.expiresAt, 40);
}

function permissionsText(permissions: readonly string[] | null): string {
  return permissions === null ? 'all (not narrowed)' : displayText(permissions.join(', '), 300);
}

export function registerTokens(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const tokens = program.command('tokens').description('API tokens: create (the secret is shown once), list, revoke');
  tokens
    .command('create')
    .description('create an API token for a principal; the secret is printed once, on stdout')
    .requiredOption('--principal <name>', 'the principal the token acts as')
    .option('--expires <when>', 'lifetime (30d, 12h, 90m), never, or an RFC 3339 time (default: 90 days)')
    .option('--name <label>', 'a label to recognise the token by in lists')
    .option('--permissions <list>', 'comma-separated: narrow the token to these permissions of its principal')
    .action((opts: CreateOptions) =>
      run(async () => {
        const out = ctx.output();
        const request = {
          principal: opts.principal,
          ...(opts.name === undefined ? {} : { name: opts.name }),
          ...(opts.expires === undefined ? {} : { expiresAt: parseExpires(opts.expires) }),
          ...(opts.permissions === undefined ? {} : { permissions: commaList(opts.permissions, '--permissions') }),
        };
        const created = await ctx.withClient((c) => c.identity.createToken(request));
        // Everything but the secret goes to stderr, so stdout carries the token alone.
        if (!out.json) {
          out.note(
            [
              `created token ${displayText(created.id, 64)} (${displayText(created.name, 128)}) for ${displayText(created.principal)}`,
              `expires:     ${expiryText(created)}`,
              `permissions: ${permissionsText(created.permissions)}`,
              loggedLine(created.receipt, 'token.created'),
            ].join('\n'),
          );
          process.stderr.write('WARNING: the token is shown this once and cannot be shown again (the registry keeps only its hash); store it now\n');
        }
        out.result(created, () => displayText(created.token, 600));
      }),
    );
  tokens
    .command('list')
    .description('list API tokens, newest first (never their secrets: the registry does not have them)')
    .option('--principal <name>', 'only the tokens of this principal')
    .action((opts: { principal?: string }) =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) => c.identity.listTokens(opts.principal === undefined ? {} : { principal: opts.principal }));
        out.result(page, () =>
          table(
            ['id', 'principal', 'name', 'status', 'created', 'expires', 'permissions'],
            page.items.map((t) => [
              displayText(t.id, 64),
              displayText(t.principal, 130),
              displayText(t.name, 60),
              t.status,
              displayText(t.createdAt, 40),
              expiryText(t),
              permissionsText(t.permissions),
            ]),
          ),
        );
      }),
    );
  tokens
    .command('revoke')
    .description('revoke an API token: it is refused from now on')
    .argument('<id>', 'the token id (from tokens list)')
    .action((id: string) =>
      run(async () => {
        const out = ctx.output();
        const revoked = await ctx.withClient((c) => c.identity.revokeToken(id));
        out.result(revoked, () =>
          [`revoked token ${displayText(revoked.id, 64)} (${displayText(revoked.name, 128)}) of ${displayText(revoked.principal)}`, loggedLine(revoked.receipt, 'token.revoked')].join('\n'),
        );
      }),
    );
}
