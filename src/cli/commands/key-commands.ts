/**
 * `custody keys add|list|revoke`: the trusted signer keys (SPEC §2, §4.2, §8). A key admin
 * registers a public key with the predicate types and namespaces it may sign for and a validity
 * window; revoking it with `--compromised-since` invalidates what it signed from then on. Each
 * change is one logged event; the receipt's log index is printed. `list` shows how many
 * attestations each key signed and when it last signed one, as `GET /api/v1/keys` reports.
 */
import type { Command } from 'commander';
import type { KeyBody } from '../../sdk/custody-client.js';
import type { CliContext } from '../context.js';
import { table } from '../output.js';
import { displayText } from './browse-commands.js';
import { readLimitedText } from './signing-files.js';
import { commaList } from '../comma-list.js';

/** A PEM public key is well under this; anything bigger is not a key. */
const MAX_PUBLIC_KEY_FILE_BYTES = 64 * 1024;

function keyStatus(key: KeyBody): string {
  const r = key.revocation;
  return r === null ? 'active' : `REVOKED (invalid from ${displayText(r.invalidFrom, 40)})`;
}

function windowOf(key: KeyBody): string {
  if (key.notBefore === null && key.notAfter === null) return 'always';
  return `${displayText(key.notBefore ?? '…', 40)} – ${displayText(key.notAfter ?? '…', 40)}`;
}

export function registerKeys(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  const keys = program.command('keys').description('trusted signer keys: add, list, revoke');
  keys
    .command('add')
    .description('register a public key as a trusted signer for the given predicate types (and namespaces)')
    .argument('<name>', 'the key name, e.g. training-cluster')
    .requiredOption('--public-key <file>', 'SPKI PEM public key (Ed25519, P-256 or P-384)')
    .requiredOption('--predicate-types <uris>', 'comma-separated predicate types the key may sign')
    .option('--namespaces <list>', 'comma-separated namespaces the key may sign for (default: every namespace)')
    .option('--not-before <time>', 'RFC 3339 time the key becomes valid')
    .option('--not-after <time>', 'RFC 3339 time the key expires')
    .action((name: string, opts: { publicKey: string; predicateTypes: string; namespaces?: string; notBefore?: string; notAfter?: string }) =>
      run(async () => {
        const out = ctx.output();
        const publicKeyPem = await readLimitedText(opts.publicKey, MAX_PUBLIC_KEY_FILE_BYTES, 'the public key file');
        const request = {
          name,
          publicKeyPem,
          predicateTypes: commaList(opts.predicateTypes, '--predicate-types'),
          ...(opts.namespaces === undefined ? {} : { namespaces: commaList(opts.namespaces, '--namespaces') }),
          ...(opts.notBefore === undefined ? {} : { notBefore: opts.notBefore }),
          ...(opts.notAfter === undefined ? {} : { notAfter: opts.notAfter }),
        };
        const key = await ctx.withClient((c) => c.addKey(request));
        out.result(key, () =>
          [
            `added key ${displayText(key.name)} (${displayText(key.algorithm)})`,
            `key id:          ${key.keyId}`,
            `predicate types: ${displayText(key.predicateTypes.join(', '), 500)}`,
            `namespaces:      ${key.namespaces === null ? 'every namespace' : displayText(key.namespaces.join(', '), 500)}`,
            `valid:           ${windowOf(key)}`,
            `logged:          entry ${key.receipt?.logIndex ?? key.addedLogIndex} (key.added)`,
          ].join('\n'),
        );
      }),
    );
  keys
    .command('list')
    .description('list the trusted signer keys, revoked ones included')
    .action(() =>
      run(async () => {
        const out = ctx.output();
        const page = await ctx.withClient((c) => c.listKeys());
        out.result(page, () =>
          page.items.length === 0
            ? 'no signer keys yet: add one with  custody keys add NAME --public-key FILE --predicate-types URI,…'
            : table(
                ['name', 'key id', 'algorithm', 'predicate types', 'namespaces', 'valid', 'attestations', 'last signed', 'status'],
                page.items.map((k) => [
                  displayText(k.name, 60),
                  k.keyId.slice(0, 16),
                  displayText(k.algorithm, 30),
                  displayText(k.predicateTypes.join(', '), 200),
                  k.namespaces === null ? '*' : displayText(k.namespaces.join(', '), 100),
                  windowOf(k),
                  String(k.attestationCount),
                  k.lastSignedAt === null ? 'never' : displayText(k.lastSignedAt, 40),
                  keyStatus(k),
                ]),
              ),
        );
      }),
    );
  keys
    .command('revoke')
    .description('revoke a key; with --compromised-since, attestations it signed that were logged from then on become invalid')
    .argument('<name>', 'the key name')
    .requiredOption('--reason <text>', 'why the key is revoked')
    .option('--compromised-since <time>', 'RFC 3339 time from which the key is considered compromised (default: now)')
    .action((name: string, opts: { reason: string; compromisedSince?: string }) =>
      run(async () => {
        const out = ctx.output();
        const key = await ctx.withClient((c) =>
          c.revokeKey(name, { reason: opts.reason, ...(opts.compromisedSince === undefined ? {} : { compromisedSince: opts.compromisedSince }) }),
        );
        const r = key.revocation;
        out.result(key, () =>
          [
            `revoked key ${displayText(key.name)} (${key.keyId})`,
            `reason:       ${displayText(r?.reason ?? opts.reason, 500)}`,
            `invalid from: ${displayText(r?.invalidFrom ?? '?')} (attestations it signed that were logged from then on no longer count)`,
            `logged:       entry ${key.receipt?.logIndex ?? r?.logIndex ?? '?'} (key.revoked)`,
          ].join('\n'),
        );
      }),
    );
}
