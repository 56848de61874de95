/**
 * `custody admin verify-store`: the offline audit of a registry's stores against its transparency
 * log (issue 3 item 7), run with the server stopped. It opens the stores the configuration names
 * but creates nothing — no data directory, database, blob directory or log key — and exits 0
 * with a summary when everything matches, or 4 (VERIFICATION_FAILED) listing every problem.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../../config/config.js';
import { CustodyError } from '../../domain/errors.js';
import type { LogVerifier, StoreProblem, StoreReport } from '../../service/store-verifier.js';
import type { CliContext } from '../context.js';
import { formatBytes } from '../output.js';

interface VerifyStoreOptions {
  data: string;
  config?: string;
  logKey?: string;
}

export function registerAdmin(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const admin = program.command('admin').description('operator commands that work on the stores directly');
  admin
    .command('verify-store')
    .description('offline check (server stopped) that the stores are exactly what the transparency log says: every leaf, the tree, the checkpoint signature, every version and blob')
    .option('--data <dir>', 'data directory', process.env.CUSTODY_DATA ?? './custody-data')
    .option('--config <file>', 'YAML configuration file (e.g. for PostgreSQL)')
    .option('--log-key <vkey>', "verify checkpoints with this pinned verifier key instead of the data directory's log key")
    .action((opts: VerifyStoreOptions) =>
      run(async () => {
        const out = ctx.output();
        const report = await verifyStoreOffline(opts);
        if (report.problems.length === 0) {
          out.result(report, () => summary(report));
          return;
        }
        const message = `the stores do not match the transparency log: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}`;
        // With --json the report travels in the error document, so stdout stays one document.
        if (!out.json) out.result(report, () => [...report.problems.map(formatProblem), '', summary(report)].join('\n'));
        throw new CustodyError('VERIFICATION_FAILED', message, { details: { problems: report.problems, counts: report.counts } });
      }),
    );
}

async function verifyStoreOffline(opts: VerifyStoreOptions): Promise<StoreReport> {
  // Loaded on demand: client commands should not pay for the stores' modules.
  const [{ loadConfig }, { openBlobStore, s3CredentialsOf }, { openMetadataStore }, { verifyStore }] = await Promise.all([
    import('../../config/config.js'),
    import('../../app/start-registry.js'),
    import('../../store/open-metadata-store.js'),
    import('../../service/store-verifier.js'),
  ]);
  const dataDir = path.resolve(opts.data);
  await requireExisting(dataDir, 'data directory');
  const config = await loadConfig(opts.config);
  const { metadata: metadataSpec, blobs: blobSpec } = config.storage;
  // Opening a missing SQLite file or blob directory would create it: refuse instead.
  if (metadataSpec.startsWith('sqlite:')) {
    const file = metadataSpec.slice('sqlite:'.length);
    if (file === ':memory:') throw new CustodyError('USAGE', 'an in-memory SQLite database has nothing to verify');
    if (file !== '') await requireExisting(path.resolve(dataDir, file), 'SQLite database');
  }
  if (blobSpec.startsWith('file:') && blobSpec.length > 'file:'.length) await requireExisting(path.resolve(dataDir, blobSpec.slice('file:'.length)), 'blob directory');
  const logVerifier = await openLogVerifier(opts.logKey, config, dataDir);

  const metadata = await openMetadataStore(metadataSpec, dataDir);
  try {
    const blobs = await openBlobStore(blobSpec, dataDir, s3CredentialsOf(config));
    try {
      return await verifyStore({ metadata, blobs, logVerifier });
    } finally {
      await blobs.close();
    }
  } finally {
    await metadata.close();
  }
}

/**
 * The checkpoint verifier: from `--log-key`, else from the configured key file if it exists and
 * loads (a missing or unusable key is a reported problem, and is never created here).
 */
async function openLogVerifier(pinned: string | undefined, config: Config, dataDir: string): Promise<LogVerifier> {
  const [{ parseVerifierKey }, { loadOrCreateLogKey }] = await Promise.all([import('../../log/signed-note.js'), import('../../log/log-key.js')]);
  if (pinned !== undefined) {
    try {
      return parseVerifierKey(pinned);
    } catch (error) {
      throw new CustodyError('USAGE', `--log-key: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const file = path.resolve(dataDir, config.keys.log.slice('file:'.length));
  if (!(await exists(file))) return { unavailable: `the log key file ${file} does not exist (pass --log-key to verify with a pinned key)` };
  try {
    // The file exists, so this only loads it (with its mode and type checks).
    return parseVerifierKey((await loadOrCreateLogKey(file, config.log.origin)).verifierKey);
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'CONFIG_INVALID') return { unavailable: error.message };
    throw error;
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

async function requireExisting(file: string, what: string): Promise<void> {
  if (!(await exists(file))) throw new CustodyError('CONFIG_INVALID', `the ${what} ${file} does not exist (verify-store creates nothing)`);
}

function formatProblem(problem: StoreProblem): string {
  const where = [problem.index === undefined ? undefined : `entry ${problem.index}`, problem.record].filter((w) => w !== undefined).join(', ');
  return `${problem.kind}${where === '' ? '' : ` [${where}]`}: ${problem.message}`;
}

function summary({ counts, problems }: StoreReport): string {
  const checkpoint = counts.checkpointSize === null ? 'no checkpoint' : `checkpoint of size ${counts.checkpointSize}`;
  return [
    `log: ${counts.logEntries} entries, ${counts.treeHashes} tree hashes, ${checkpoint}`,
    `state: ${counts.versions} versions of ${counts.models} models, ${counts.files} files`,
    `blobs: ${counts.blobs} re-hashed (${formatBytes(counts.blobBytes)})`,
    problems.length === 0 ? 'verify-store: no problems found' : `verify-store: ${problems.length} problem${problems.length === 1 ? '' : 's'} found`,
  ].join('\n');
}
