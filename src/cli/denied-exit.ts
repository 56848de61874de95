/**
 * Exit code 3, "denied by policy" (SPEC §8), for `promote` and `policy eval` when the outcome is
 * deny. A denial is an answer, not a failure: the decision has been printed (with --json, as the
 * one JSON document) and nothing else is left to do. `exit-codes.ts` maps error codes, and no
 * error code means "denied" yet, so the command ends the process here with EXIT.denied once
 * stdout and stderr have taken everything written to them. When a POLICY_DENIED code exists,
 * throwing it replaces this.
 */
import { EXIT } from './exit-codes.js';

function flushed(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    stream.write('', () => {
      resolve();
    });
  });
}

/** Ends the CLI with exit code 3 after flushing its output. */
export async function exitDenied(): Promise<never> {
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(EXIT.denied);
}
