/**
 * The `custody policy` command group (SPEC §6, §8): policy documents and their lifecycle. Each
 * subcommand lives in its own file and registers itself on the group here.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerPolicyEval } from './policy-eval-command.js';
import { registerPolicyLifecycle } from './policy-lifecycle-commands.js';
import { registerPolicyTest } from './policy-test-command.js';
import { registerPolicyView } from './policy-view-commands.js';

export function registerPolicy(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const policy = program.command('policy').description('promotion policies: documents, their tests and lifecycle');
  registerPolicyTest(policy, ctx, run);
  registerPolicyLifecycle(policy, ctx, run);
  registerPolicyView(policy, ctx, run);
  registerPolicyEval(policy, ctx, run);
}
