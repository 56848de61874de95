/** The clock seam (STYLE.md §2): services ask it for the time so tests can control it. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** RFC 3339 with milliseconds, UTC. */
export function isoNow(clock: Clock): string {
  return clock.now().toISOString();
}
