/**
 * The CLI loads only the module of the command being run (`src/cli/main.ts`). These tests keep
 * its table honest: each module registers exactly the commands the table names (so every
 * `custody X` finds the module of X), each name once, and the name is found past global options.
 */
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliContext } from '../../src/cli/context.js';
import { COMMAND_MODULES, commandNameIn } from '../../src/cli/main.js';

async function registered(load: (typeof COMMAND_MODULES)[number]['load']): Promise<string[]> {
  const program = new Command('custody');
  (await load())(program, new CliContext(program), async (fn) => {
    await fn();
  });
  return program.commands.map((c) => c.name());
}

describe('CLI command modules', () => {
  it('names, for every module, exactly the top-level commands it registers', async () => {
    for (const module of COMMAND_MODULES) expect(await registered(module.load)).toEqual(module.names);
  });

  it('names each command once', () => {
    const names = COMMAND_MODULES.flatMap((m) => m.names);
    expect(new Set(names).size).toBe(names.length);
  });

  it('finds the command after global options and their values', () => {
    const argv = (...args: string[]): string[] => ['node', 'custody', ...args];
    expect(commandNameIn(argv('push', 'dir', '--model', 'a/b'))).toBe('push');
    expect(commandNameIn(argv('--json', '--server', 'http://x', '--token', 'pull', 'show', 'a/b@v1'))).toBe('show');
    expect(commandNameIn(argv('--server=http://x', '--quiet', 'pull', 'a/b@v1'))).toBe('pull');
    expect(commandNameIn(argv('--', 'digest'))).toBe('digest');
    expect(commandNameIn(argv('--help'))).toBeUndefined();
    expect(commandNameIn(argv())).toBeUndefined();
  });
});
