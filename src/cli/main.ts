/**
 * The `custody` command (SPEC §8). Parses arguments with commander, runs one command, and maps
 * its outcome to an exit code in one place (`exit-codes.ts`).
 */
import { Command, CommanderError } from 'commander';
import { CustodyError } from '../domain/errors.js';
import { CUSTODY_VERSION } from '../version.js';
import { CliContext } from './context.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { PolicyDenied } from './denied-exit.js';

type RunCommand = (fn: () => Promise<void>) => Promise<void>;
type Register = (program: Command, ctx: CliContext, run: RunCommand) => void;

/**
 * Every command module, in help order, with the top-level commands it registers. Only the module
 * of the command being run is loaded (the others' imports — policy engine, signing, the server —
 * were most of the start-up time); help, an unknown command or none loads them all.
 * `test/cli/command-modules.test.ts` keeps the names true to what each module registers.
 */
export const COMMAND_MODULES: readonly { readonly names: readonly string[]; readonly load: () => Promise<Register> }[] = [
  { names: ['serve'], load: async () => (await import('./commands/serve-command.js')).registerServe },
  { names: ['login', 'whoami'], load: async () => (await import('./commands/login-command.js')).registerLogin },
  { names: ['digest'], load: async () => (await import('./commands/digest-command.js')).registerDigest },
  { names: ['keygen', 'sign', 'verify', 'attest'], load: async () => (await import('./commands/signing-commands.js')).registerSigning },
  { names: ['push'], load: async () => (await import('./commands/push-command.js')).registerPush },
  { names: ['pull'], load: async () => (await import('./commands/pull-command.js')).registerPull },
  { names: ['models', 'versions', 'show'], load: async () => (await import('./commands/browse-commands.js')).registerBrowse },
  { names: ['lineage'], load: async () => (await import('./commands/lineage-command.js')).registerLineage },
  { names: ['keys'], load: async () => (await import('./commands/key-commands.js')).registerKeys },
  { names: ['principals'], load: async () => (await import('./commands/principal-commands.js')).registerPrincipals },
  { names: ['tokens'], load: async () => (await import('./commands/token-commands.js')).registerTokens },
  { names: ['roles'], load: async () => (await import('./commands/role-commands.js')).registerRoles },
  { names: ['attestations'], load: async () => (await import('./commands/attestation-commands.js')).registerAttestations },
  { names: ['log'], load: async () => (await import('./commands/log-commands.js')).registerLog },
  { names: ['admin'], load: async () => (await import('./commands/admin-command.js')).registerAdmin },
  { names: ['audit'], load: async () => (await import('./commands/audit-command.js')).registerAudit },
  { names: ['policy'], load: async () => (await import('./commands/policy-commands.js')).registerPolicy },
  { names: ['promote'], load: async () => (await import('./commands/promote-command.js')).registerPromote },
  { names: ['status'], load: async () => (await import('./commands/status-command.js')).registerStatus },
  { names: ['demo'], load: async () => (await import('./commands/demo-command.js')).registerDemo },
];

/** Global options that take a value in the next argument. */
const VALUE_OPTIONS = new Set(['--server', '--token']);

/** The top-level command named in `argv` (node, script, …), if any. */
export function commandNameIn(argv: readonly string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === undefined) break;
    if (arg === '--') return args[i + 1];
    if (VALUE_OPTIONS.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return arg;
  }
  return undefined;
}

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
  const run: RunCommand = async (fn) => {
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
  const name = commandNameIn(argv);
  const named = COMMAND_MODULES.filter((m) => name !== undefined && m.names.includes(name));
  // Loaded together (the loader fetches and compiles them in parallel), registered in help order.
  const registers = await Promise.all((named.length > 0 ? named : COMMAND_MODULES).map((m) => m.load()));
  for (const register of registers) register(program, ctx, run);
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
