/**
 * `custody models`, `custody versions NS/NAME`, `custody show REF`: browse the registry. `show`
 * prints the seed's verified metadata table (SPEC §4.2): each value from a verified attestation,
 * naming the key that signed it and where the attestation sits in the log; values whose
 * attestations a revocation invalidated are marked INVALID; a value other valid attestations
 * contradict is marked CONFLICT, with a `CONFLICT: key K (log #N) says X` line under it per
 * disagreeing attestation (reference/ui-screens.md §2.2); annotations stay apart, UNVERIFIED;
 * and the environments the version is in, with any quarantine (as `custody status` shows them).
 */
import type { Command } from 'commander';
import { parseModelName, parseModelRef } from '../../domain/model-ref.js';
import type { MetadataRowBody } from '../../sdk/custody-client.js';
import type { CliContext } from '../context.js';
import { formatBytes, table } from '../output.js';

// Control characters, and the Unicode line and bidi controls that can disguise terminal text.
// eslint-disable-next-line no-control-regex
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * A value a server sent, as terminal-safe text: strings as they are, anything else as JSON;
 * control characters escaped and long values cut at `max` characters.
 */
export function displayText(value: unknown, max = 100): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) as string | undefined) ?? String(value);
  const safe = text.replace(UNPRINTABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return safe.length > max ? `${safe.slice(0, max - 1)}…` : safe;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A metadata value in words: parents and preprocessing steps by name and digest, counts for `attestations`. */
function metadataValue(row: Pick<MetadataRowBody, 'field' | 'value'>): string {
  const value = row.value;
  if (row.field === 'attestations' && isRecord(value) && typeof value.valid === 'number' && typeof value.total === 'number') {
    return `${value.valid} valid of ${value.total}`;
  }
  if (Array.isArray(value)) {
    return displayText(
      value
        .map((item: unknown) =>
          isRecord(item) && typeof item.namespace === 'string' && typeof item.name === 'string' && typeof item.digest === 'string'
            ? `${item.namespace}/${item.name}@${item.digest}`
            : isRecord(item) && typeof item.name === 'string' && typeof item.digest === 'string'
              ? `${item.name}=${item.digest}`
              : JSON.stringify(item),
        )
        .join(', '),
    );
  }
  return displayText(value);
}

/** The `CONFLICT: key K (log #N) says X` lines printed under a row other valid attestations contradict. */
function conflictLines(row: MetadataRowBody): string[] {
  return row.conflicts.map((c) => `    CONFLICT: key ${displayText(c.source.key, 60)} (log #${c.source.logIndex}) says ${metadataValue({ field: row.field, value: c.value })}`);
}

/** The rows as a table: field | value | status | signed by | log index; conflict lines under their row. */
function metadataTable(rows: readonly MetadataRowBody[]): string {
  const [header = '', ...lines] = table(
    ['field', 'value', 'status', 'signed by', 'log index'],
    rows.map((row) => {
      if (row.status === 'missing') return [displayText(row.field, 60), '—  (no verified attestation)', 'missing', '—', '—'];
      const status =
        row.status === 'invalid' ? `INVALID (${displayText(row.reason ?? 'invalidated', 200)})` : row.conflicts.length > 0 ? `verified, CONFLICT (${row.conflicts.length})` : 'verified';
      const signer = row.source === null ? '—' : `${displayText(row.source.key, 60)} (${displayText(row.source.keyId.slice(0, 12))})`;
      return [displayText(row.field, 60), metadataValue(row), status, signer, row.source === null ? '—' : String(row.source.logIndex)];
    }),
  ).split('\n');
  return [header, ...lines.flatMap((line, i) => [line, ...(rows[i] === undefined ? [] : conflictLines(rows[i]))])].join('\n');
}

export function registerBrowse(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('models')
    .description('list models with their latest version')
    .option('--namespace <ns>', 'only this namespace')
    .option('--limit <n>', 'page size (1–1000)', '100')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action((opts: { namespace?: string; limit: string; cursor?: string }) =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) =>
          c.listModels({ limit: Number(opts.limit), ...(opts.namespace === undefined ? {} : { namespace: opts.namespace }), ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) }),
        );
        out.result(page, () =>
          page.items.length === 0
            ? 'no models yet: push one with  custody push PATH --model NS/NAME'
            : table(
                ['model', 'versions', 'latest', 'digest', 'registered'],
                page.items.map((m) => [`${m.namespace}/${m.name}`, String(m.versionCount), m.latest === null ? '-' : `v${m.latest.number}`, m.latest?.digest ?? '-', m.latest?.registeredAt ?? '-']),
              ) + (page.nextCursor === null ? '' : `\nmore: --cursor ${page.nextCursor}`),
        );
      }),
    );
  program
    .command('versions')
    .description('list the versions of a model, newest first')
    .argument('<model>', 'NS/NAME')
    .option('--limit <n>', 'page size (1–1000)', '100')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action((model: string, opts: { limit: string; cursor?: string }) =>
      run(async () => {
        const out = ctx.output();
        const name = parseModelName(model);
        const page = await ctx.withClient((c) => c.listVersions(name, { limit: Number(opts.limit), ...(opts.cursor === undefined ? {} : { cursor: opts.cursor }) }));
        out.result(page, () =>
          table(
            ['version', 'digest', 'files', 'size', 'registered', 'by'],
            page.items.map((v) => [`v${v.number}`, v.digest, String(v.fileCount), formatBytes(v.totalSize), v.registeredAt, v.registeredBy]),
          ) + (page.nextCursor === null ? '' : `\nmore: --cursor ${page.nextCursor}`),
        );
      }),
    );
  program
    .command('show')
    .description('show a version: digest, files, who pushed it, the verified metadata table (each value naming its signer), the environments it is in and the unverified annotations')
    .argument('<ref>', 'NS/NAME@vN, NS/NAME@sha256:<hex> or NS/NAME@<environment>')
    .action((refText: string) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const [v, metadata, status] = await ctx.withClient((c) => Promise.all([c.getVersion(ref), c.verifiedMetadata(ref), c.promotion.status(ref)]));
        const environments = status.environments.filter((e) => e.version === v.digest);
        out.result({ ...v, annotationsVerified: false, metadata: { version: metadata.version, seed: metadata.seed, training: metadata.training }, environments }, () =>
          [
            `${v.namespace}/${v.name}@v${v.number}  (immutable)`,
            `digest:      ${v.digest}`,
            `oms root:    ${v.omsRootDigest}`,
            `registered:  ${v.registeredAt} by ${v.registeredBy}`,
            `size:        ${formatBytes(v.totalSize)} in ${v.fileCount} file(s)${v.singleFile ? ' (single-file model)' : ''}`,
            '',
            table(['path', 'size', 'digest'], v.files.map((f) => [f.path, formatBytes(f.size), f.digest])),
            '',
            'verified metadata (each value from a verified attestation, naming the key that signed it):',
            metadataTable(metadata.seed),
            '',
            'training (from the verified provenance):',
            metadataTable(metadata.training),
            '',
            'environments (which hold this version):',
            environments.length === 0
              ? 'none'
              : table(
                  ['environment', 'since', 'decision', 'quarantine'],
                  environments.map((e) => [
                    displayText(e.environment, 64),
                    displayText(e.since ?? '-', 40),
                    e.decision === null ? 'registration' : displayText(e.decision, 64),
                    e.quarantines.length === 0 ? '-' : `QUARANTINED: ${e.quarantines.map((q) => displayText(q.reason, 200)).join('; ')}`,
                  ]),
                ),
            '',
            'UNVERIFIED annotations (supplied by the pusher, never checked, never a fact for policy):',
            v.annotations === null || v.annotations === undefined ? 'none' : JSON.stringify(v.annotations, null, 2),
          ].join('\n'),
        );
      }),
    );
}
