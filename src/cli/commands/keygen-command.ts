/**
 * `custody keygen --out PREFIX [--type ed25519|p256|p384]`: a signing key pair — `PREFIX.key`
 * (PKCS#8 PEM, created with mode 0600) and `PREFIX.pub` (SPKI PEM) — and its key id (SPEC §8,
 * §4.2). P-256 is the default: model_signing (OMS) verifies ECDSA keys only.
 */
import { lstat, rm } from 'node:fs/promises';
import type { Command } from 'commander';
import { generateSigningKey, type KeyType } from '../../crypto/signing-keys.js';
import { CustodyError } from '../../domain/errors.js';
import type { CliContext } from '../context.js';
import { createExclusive } from './signing-files.js';

const KEY_TYPES: readonly KeyType[] = ['ed25519', 'p256', 'p384'];

async function exists(file: string): Promise<boolean> {
  try {
    await lstat(file);
    return true;
  } catch {
    return false;
  }
}

export function registerKeygen(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('keygen')
    .description('generate a signing key pair: PREFIX.key (private, mode 0600) and PREFIX.pub; prints the key id')
    .requiredOption('--out <prefix>', 'path prefix of the two key files')
    .option('--type <type>', 'ed25519, p256 or p384', 'p256')
    .action((opts: { out: string; type: string }) =>
      run(async () => {
        const out = ctx.output();
        const type = KEY_TYPES.find((t) => t === opts.type);
        if (type === undefined) throw new CustodyError('USAGE', `--type must be one of ${KEY_TYPES.join(', ')}`);
        const privatePath = `${opts.out}.key`;
        const publicPath = `${opts.out}.pub`;
        for (const file of [privatePath, publicPath]) {
          if (await exists(file)) throw new CustodyError('USAGE', `${file} already exists; refusing to overwrite it`);
        }
        const pair = generateSigningKey(type);
        await createExclusive(privatePath, pair.privateKeyPem, 0o600);
        try {
          await createExclusive(publicPath, pair.publicKeyPem, 0o644);
        } catch (error) {
          await rm(privatePath, { force: true });
          throw error;
        }
        out.result(
          { keyId: pair.keyId, algorithm: pair.algorithm, privateKey: privatePath, publicKey: publicPath },
          () => [`wrote ${privatePath} (private, mode 0600) and ${publicPath}`, `algorithm: ${pair.algorithm}`, `key id: ${pair.keyId}`].join('\n'),
        );
      }),
    );
}
