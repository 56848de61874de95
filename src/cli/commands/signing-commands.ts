/**
 * The offline signing tools (SPEC §8): `keygen`, `sign` and `verify` (OpenSSF Model Signing) and
 * `attest` (in-toto attestations). None of them talks to a registry.
 */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';
import { registerAttest } from './attest-command.js';
import { registerKeygen } from './keygen-command.js';
import { registerSign } from './sign-command.js';
import { registerVerify } from './verify-command.js';

export function registerSigning(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  registerKeygen(program, ctx, run);
  registerSign(program, ctx, run);
  registerVerify(program, ctx, run);
  registerAttest(program, ctx, run);
}
