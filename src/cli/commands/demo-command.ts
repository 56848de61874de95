/**
 * `custody demo`: plays the seed's scenario end to end against a temporary registry (SQLite + a
 * blob directory in a temporary directory, real HTTP on loopback), narrating each step, and
 * removes everything afterwards. Exit 0 only when every step turned out as the scenario says.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerDemo(program: Command, _ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('demo')
    .description("play the seed's scenario (keys, provenance, attestations, gated promotion, VSA, a stolen key, a policy-weakening attempt) against a temporary registry, narrating each step")
    .action(() =>
      run(async () => {
        // Loaded on demand: the demo pulls in the whole server.
        const { runSeedDemo } = await import('../../demo/seed-demo.js');
        await runSeedDemo();
      }),
    );
}
