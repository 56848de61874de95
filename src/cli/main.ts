/**
 * The `custody` command (SPEC §8). Parses arguments with commander, runs one command, and maps
 * its outcome to an exit code in one place (`exit-codes.ts`).
 */
import { Command, CommanderError } from 'commander';
import { CustodyError } from '../domain/errors.js';
import { CUSTODY_VERSION } from '../version.js';
import { CliContext } from './context.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { registerAudit } from './commands/audit-command.js';
import { PolicyDenied } from './denied-exit.js';
import { registerAdmin } from './commands/admin-command.js';
import { registerAttestations } from './commands/attestation-commands.js';
import { registerBrowse } from './commands/browse-commands.js';
import { registerDemo } from './commands/demo-command.js';
import { registerDigest } from './commands/digest-command.js';
import { registerKeys } from './commands/key-commands.js';
import { registerLineage } from './commands/lineage-command.js';
import { registerLog } from './commands/log-commands.js';
import { registerLogin } from './commands/login-command.js';
import { registerPolicy } from './commands/policy-commands.js';
import { registerPrincipals } from './commands/principal-commands.js';
import { registerPromote } from './commands/promote-command.js';
import { registerPull } from './commands/pull-command.js';
import { registerPush } from './commands/push-command.js';
import { registerRoles } from './commands/role-commands.js';
import { registerServe } from './commands/serve-command.js';
import { registerSigning } from './commands/signing-commands.js';
import { registerStatus } from './commands/status-command.js';
import { registerTokens } from './commands/token-commands.js';

export async function main(argv: readonly string[]): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = new Command('custody')
    .description('Custody: a trusted registry for machine-learning models')
    .version(CUSTODY_VERSION)
    .option('--server <url>', 'registry URL (CUSTODY_SERVER; default http://127.0.0.1:8700)')
    .option('--token <token>', 'API token (CUSTODY_TOKEN)')
    .option('--json', 'machine output: one JSON document on stdout')
    .option('--quiet', 'no progress bars or notes on stderr')
    .showHelpAfterError()
    .exitOverride();
  const ctx = new CliContext(program);
  const run = async (fn: () => Promise<void>): Promise<void> => {
    try {
      await fn();
    } catch (error) {
      if (error instanceof PolicyDenied) {
        exitCode = EXIT.denied;
        return;
      }
      ctx.output().error(error);
      exitCode = error instanceof CustodyError ? exitCodeFor(error.code) : EXIT.error;
    }
  };
  registerServe(program, ctx, run);
  registerLogin(program, ctx, run);
  registerDigest(program, ctx, run);
  registerSigning(program, ctx, run);
  registerPush(program, ctx, run);
  registerPull(program, ctx, run);
  registerBrowse(program, ctx, run);
  registerLineage(program, ctx, run);
  registerKeys(program, ctx, run);
  registerPrincipals(program, ctx, run);
  registerTokens(program, ctx, run);
  registerRoles(program, ctx, run);
  registerAttestations(program, ctx, run);
  registerLog(program, ctx, run);
  registerAdmin(program, ctx, run);
  registerAudit(program, ctx, run);
  registerPolicy(program, ctx, run);
  registerPromote(program, ctx, run);
  registerStatus(program, ctx, run);
  registerDemo(program, ctx, run);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }

  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') return EXIT.ok;
      return EXIT.usage;
    }
    process.stderr.write(`custody: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.error;
  }
  return exitCode;
}
