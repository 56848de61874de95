/**
 * `custody roles grant|list|revoke` (SPEC §7, §8): bind a built-in role to a principal, limited
 * to namespaces, environments and a CEL condition on OIDC claims; no one grants what they lack
 * (the server checks). Also how `custody whoami` shows the caller's bindings and permissions.
 * Each change is one logged event. Needs `principal:manage`.
 */
import type { Command } from 'commander';
import type { Whoami } from '../../sdk/custody-client.js';
import type { BindingBody } from '../../sdk/identity-api.js';
import { commaList } from '../comma-list.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { displayText } from './browse-commands.js';
import { loggedLine } from './principal-commands.js';

interface GrantOptions {
  readonly principal: string;
  readonly namespaces?: string;
  readonly environments?: string;
  readonly condition?: string;
}

type Scoped = Pick<BindingBody, 'namespaces' | 'environments' | 'condition'>;

/** A scope list as text: `*` for every namespace or environment. */
function scopeText(list: readonly string[] | null): string {
  return list === null ? '*' : displayText(list.join(', '), 200);
}

function conditionText(binding: Scoped): string {
  return binding.condition === null ? '-' : displayText(binding.condition, 200);
}

function bindingRow(binding: Scoped & { id: string; role: string }): string[] {
  return [displayText(binding.id, 64), displayText(binding.role, 64), scopeText(binding.namespaces), scopeText(binding.environments), conditionText(binding)];
}

/** `custody whoami` in words: principal, each binding (marked when its condition does not hold), permissions, token narrowing. */
export function formatWhoami(me: Whoami): string {
  const lines = [
    `principal:   ${displayText(me.name)} (${displayText(me.kind, 20)}), authenticated by ${me.via === 'oidc' ? 'OIDC workload identity' : 'API token'}`,
    `roles:       ${me.roles.length === 0 ? '-' : displayText(me.roles.join(', '), 300)}`,
  ];
  if (me.bindings.length === 0) lines.push('bindings:    none (deny by default: this principal may do nothing)');
  else {
    lines.push('bindings:');
    const rows = me.bindings.map((b) => [...bindingRow(b), b.applies ? 'yes' : 'NO (condition false for this request)']);
    lines.push(...table(['id', 'role', 'namespaces', 'environments', 'condition', 'applies'], rows).split('\n').map((line) => `  ${line}`));
  }
  lines.push(`permissions: ${me.permissions.length === 0 ? '-' : displayText(me.permissions.join(', '), 600)}`);
  lines.push(
    me.tokenPermissions === null
      ? `token:       not narrowed (${me.via === 'oidc' ? 'OIDC identity' : 'carries every permission its principal holds'})`
      : `token:       narrowed to ${displayText(me.tokenPermissions.join(', '), 600)}`,
  );
  return lines.join('\n');
}

export function registerRoles(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const roles = program.command('roles').description('role bindings: grant, list, revoke');
  roles
    .command('grant')
    .description('grant a built-in role to a principal (viewer, data-scientist, attester, promoter, policy-admin, key-admin, admin)')
    .argument('<role>', 'the role')
    .requiredOption('--principal <name>', 'who receives it')
    .option('--namespaces <list>', 'comma-separated namespaces it applies in (default: every namespace)')
    .option('--environments <list>', 'comma-separated environments it applies in (default: every environment; a promoter must name them)')
    .option('--condition <cel>', 'CEL over the OIDC token claims, e.g. claims.ref == "refs/heads/main"')
    .action((role: string, opts: GrantOptions) =>
      run(async () => {
        const out = ctx.output();
        const request = {
          principal: opts.principal,
          role,
          ...(opts.namespaces === undefined ? {} : { namespaces: commaList(opts.namespaces, '--namespaces') }),
          ...(opts.environments === undefined ? {} : { environments: commaList(opts.environments, '--environments') }),
          ...(opts.condition === undefined ? {} : { condition: opts.condition }),
        };
        const binding = await ctx.withClient((c) => c.identity.grantRole(request));
        out.result(binding, () =>
          [
            `granted ${displayText(binding.role, 64)} to ${displayText(binding.principal)}`,
            `binding id:   ${displayText(binding.id, 64)}`,
            `namespaces:   ${binding.namespaces === null ? 'every namespace' : scopeText(binding.namespaces)}`,
            `environments: ${binding.environments === null ? 'every environment' : scopeText(binding.environments)}`,
            `condition:    ${conditionText(binding)}`,
            loggedLine(binding.receipt, 'binding.granted'),
          ].join('\n'),
        );
      }),
    );
  roles
    .command('list')
    .description('list the role bindings in force (* = every namespace or environment)')
    .option('--principal <name>', 'only the bindings of this principal')
    .action((opts: { principal?: string }) =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) => c.identity.listBindings(opts.principal === undefined ? {} : { principal: opts.principal }));
        out.result(page, () =>
          table(
            ['id', 'principal', 'role', 'namespaces', 'environments', 'condition'],
            page.items.map((b) => {
              const [id = '', ...rest] = bindingRow(b);
              return [id, displayText(b.principal, 130), ...rest];
            }),
          ),
        );
      }),
    );
  roles
    .command('revoke')
    .description('revoke a role binding')
    .argument('<id>', 'the binding id (from roles list)')
    .action((id: string) =>
      run(async () => {
        const out = ctx.output();
        const binding = await ctx.withClient((c) => c.identity.revokeBinding(id));
        out.result(binding, () =>
          [
            `revoked binding ${displayText(binding.id, 64)}: ${displayText(binding.role, 64)} of ${displayText(binding.principal)}`,
            loggedLine(binding.receipt, 'binding.revoked'),
          ].join('\n'),
        );
      }),
    );
}
