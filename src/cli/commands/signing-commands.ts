/** Offline signing tools (`keygen`, `sign`, `verify`, `attest`): being written. */
import type { Command } from 'commander';
import type { CliContext } from '../context.js';

export function registerSigning(_program: Command, _ctx: CliContext, _run: (fn: () => Promise<void>) => Promise<void>): void {
  // filled in by the signing-tools change
}
