/**
 * Waiting in end-to-end tests that drive real processes (the fault and crash suites, issue 7 §4;
 * SPEC §10 "crash mid-write"): a plain pause, polling until a probe has a value, and reading until
 * a value stops changing (a server finishing with a cut request).
 */

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a value (not undefined), or fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** Reads `probe` until two reads `gapMs` apart agree: the server has finished with a cut request. */
export async function settled<T>(probe: () => Promise<T>, gapMs = 400, timeoutMs = 30_000): Promise<T> {
  let last = await probe();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await sleep(gapMs);
    const next = await probe();
    if (JSON.stringify(next) === JSON.stringify(last)) return next;
    if (Date.now() > deadline) throw new Error('value did not settle');
    last = next;
  }
}
