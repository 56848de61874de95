/**
 * `custody login` saves the server and token (after checking them) and pins the log key and the
 * VSA key (given out of band, or trusted on first use); `custody whoami` shows the caller.
 */
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import { CustodyClient } from '../../sdk/custody-client.js';
import { readClientConfig, writeClientConfig } from '../client-config.js';
import type { CliContext } from '../context.js';
import { openWitness, saveWitness } from '../log-trust.js';
import { pinVsaKey, readVsaKeyFile } from '../vsa-trust.js';
import { formatWhoami } from './role-commands.js';

export function registerLogin(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('login')
    .description('check and save the server URL and API token; pin the log key and the VSA key (given, or trusted on first use)')
    .option('--log-key <vkey>', "the registry's log verifier key, obtained out of band")
    .option('--vsa-key <file>', "the registry's VSA public key (PEM file), obtained out of band")
    .action((opts: { logKey?: string; vsaKey?: string }) =>
      run(async () => {
        const out = ctx.output();
        const { server, token } = await ctx.connection();
        if (token === undefined) throw new CustodyError('USAGE', 'login needs --token (or CUSTODY_TOKEN)');
        const client = new CustodyClient({ server, token });
        try {
          const me = await client.whoami();
          const witness = await openWitness(client, opts.logKey);
          const checkpoint = await witness.observe(client, await client.logCheckpoint());
          const givenVsaKey = opts.vsaKey === undefined ? undefined : await readVsaKeyFile(opts.vsaKey);
          const file = await writeClientConfig({ ...(await readClientConfig()), server, token });
          await saveWitness(client, witness);
          const vsa = await pinVsaKey(client, givenVsaKey);
          out.result(
            { server, principal: me.name, kind: me.kind, saved: file, logKey: witness.logKey, checkpointSize: Number(checkpoint.size), vsaKeyId: vsa.trust.keyId },
            () =>
              `Logged in to ${server} as ${me.name} (${me.kind}); saved to ${file}\n` +
              `log key pinned: ${witness.logKey}\nverified checkpoint of ${checkpoint.size} entries\n` +
              `VSA key pinned: ${vsa.trust.keyId} (${vsa.new ? (vsa.source === 'given' ? 'given' : 'as the registry serves it') : 'unchanged'})`,
          );
        } finally {
          client.close();
        }
      }),
    );
  program
    .command('whoami')
    .description('show the authenticated principal, its roles and effective permissions')
    .action(() =>
      run(async () => {
        const out = ctx.output();
        const client = await ctx.client();
        try {
          const me = await client.whoami();
          out.result(me, () => formatWhoami(me));
        } finally {
          client.close();
        }
      }),
    );
}
