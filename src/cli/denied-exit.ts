/**
 * Exit code 3, "denied by policy" (SPEC §8), for `promote` and `policy eval` when the outcome is
 * deny. A denial is an answer, not a failure: the command has already printed the decision (with
 * --json, as the one JSON document), so it ends by throwing `PolicyDenied`, which the CLI's
 * runner turns into EXIT.denied without printing anything more.
 */

/** Thrown after a denial has been printed; the runner exits 3 and prints nothing else. */
export class PolicyDenied extends Error {
  constructor() {
    super('denied by policy');
    this.name = 'PolicyDenied';
  }
}

/** Ends the command with exit code 3 (the decision has been printed already). */
export function exitDenied(): never {
  throw new PolicyDenied();
}
