/**
 * `custody log key | checkpoint | verify | entry N | prove N`: read and check the transparency
 * log. `checkpoint`, `verify` and `prove` verify what they print against the pinned log key and
 * the last checkpoint seen (see `log-trust.ts`); a failure exits with code 4.
 */
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import type { VerifiedCheckpoint } from '../../log/checkpoint.js';
import { verifyInclusion } from '../../log/merkle.js';
import type { CustodyClient } from '../../sdk/custody-client.js';
import type { CliContext } from '../context.js';
import { verifyFullLog } from '../../sdk/verify-full-log.js';
import { openWitness, saveWitness } from '../log-trust.js';

function toIndex(text: string): number {
  if (!/^[0-9]{1,15}$/.test(text)) throw new CustodyError('USAGE', 'an entry index is a non-negative integer');
  return Number(text);
}

/** Verifies a checkpoint note with the trusted key and against the last one seen; saves it. */
async function witnessed(client: CustodyClient, note: string, logKey: string | undefined): Promise<VerifiedCheckpoint> {
  const witness = await openWitness(client, logKey);
  const checkpoint = await witness.observe(client, note);
  await saveWitness(client, witness);
  return checkpoint;
}

export function registerLog(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const log = program.command('log').description('read and check the transparency log');
  log
    .command('key')
    .description("print the log's verifier key as the server states it (<name>+<id>+<key>)")
    .action(() =>
      run(async () => {
        const out = ctx.output();
        const key = await ctx.withClient((c) => c.logKey());
        out.result(key, () => key.verifierKey);
      }),
    );
  log
    .command('checkpoint')
    .description('print the newest checkpoint, verified with the pinned log key and against the last one seen')
    .option('--log-key <vkey>', 'the log key to trust (default: the one pinned for this server)')
    .action((opts: { logKey?: string }) =>
      run(async () => {
        const out = ctx.output();
        const { note, checkpoint } = await ctx.withClient(async (client) => {
          const text = await client.logCheckpoint();
          return { note: text, checkpoint: await witnessed(client, text, opts.logKey) };
        });
        out.result({ origin: checkpoint.origin, size: Number(checkpoint.size), rootHash: checkpoint.rootHash.toString('hex'), verified: true, note }, () => note);
      }),
    );
  log
    .command('verify')
    .description('check the current checkpoint against the pinned key and the last one seen (consistency); --full recomputes every leaf and the root')
    .option('--full', 'fetch every entry, recompute every leaf hash and the tree root')
    .option('--log-key <vkey>', 'the log key to trust (default: the one pinned for this server)')
    .action((opts: { full?: boolean; logKey?: string }) =>
      run(async () => {
        const out = ctx.output();
        const report = await ctx.withClient(async (client) => {
          const witness = await openWitness(client, opts.logKey);
          const before = witness.checkpoint;
          const checkpoint = await witness.observe(client, await client.logCheckpoint());
          const full = opts.full === true ? await verifyFullLog(client, Number(checkpoint.size), checkpoint.rootHash) : undefined;
          await saveWitness(client, witness);
          return {
            size: Number(checkpoint.size),
            rootHash: checkpoint.rootHash.toString('hex'),
            consistentWithPrevious: before !== undefined,
            entriesVerified: full?.entries ?? null,
            versionsVerified: full?.versions ?? null,
          };
        });
        out.result({ verified: true, ...report }, () =>
          [
            `checkpoint of ${report.size} entries verified with the pinned key (root ${report.rootHash})`,
            report.consistentWithPrevious ? 'consistent with the checkpoint verified before' : 'no earlier checkpoint: this one is now the reference',
            ...(report.entriesVerified === null ? [] : [`all ${report.entriesVerified} entries fetched: every leaf is canonical JSON and the recomputed root matches`]),
            ...(report.versionsVerified === null
              ? []
              : [report.versionsVerified === 'no-permission' ? 'versions not compared: this token may not read models' : `${report.versionsVerified} registered version(s) served exactly as their log entries say`]),
          ].join('\n'),
        );
      }),
    );
  log
    .command('entry')
    .description('print log entry N (its event and leaf hash)')
    .argument('<index>')
    .action((index: string) =>
      run(async () => {
        const out = ctx.output();
        const entry = await ctx.withClient((c) => c.logEntry(toIndex(index)));
        out.result(entry, () => `entry ${entry.index}  leaf hash ${entry.leafHash}\n${JSON.stringify(entry.event, null, 2)}`);
      }),
    );
  log
    .command('prove')
    .description('fetch and verify the inclusion proof of entry N in the newest checkpoint')
    .argument('<index>')
    .option('--log-key <vkey>', 'the log key to trust (default: the one pinned for this server)')
    .action((index: string, opts: { logKey?: string }) =>
      run(async () => {
        const out = ctx.output();
        const { proof, checkpoint } = await ctx.withClient(async (client) => {
          const p = await client.proveInclusion(toIndex(index));
          if (p.checkpoint === null) throw new CustodyError('VERIFICATION_FAILED', 'the server sent no checkpoint with the proof');
          return { proof: p, checkpoint: await witnessed(client, p.checkpoint, opts.logKey) };
        });
        if (Number(checkpoint.size) !== proof.treeSize) throw new CustodyError('VERIFICATION_FAILED', 'the proof is for another tree size than the checkpoint');
        verifyInclusion(Buffer.from(proof.leafHash, 'hex'), proof.index, proof.treeSize, proof.proof.map((h) => Buffer.from(h, 'hex')), checkpoint.rootHash);
        out.result({ ...proof, verified: true }, () =>
          [
            `entry ${proof.index} is included in the tree of ${proof.treeSize} entries (root ${checkpoint.rootHash.toString('hex')})`,
            `proof: ${proof.proof.length} hash(es), verified; checkpoint signed by the pinned key and consistent with the last one seen`,
          ].join('\n'),
        );
      }),
    );
}
