/**
 * Slows credential guessing (issue 5 §7): each client may fail authentication a bounded number of
 * times per window; after that every request of that client that presents a credential is
 * answered 429 with `Retry-After` until the window ends — a correct credential too, so the
 * limit cannot be used as an oracle. Per process: replicas each keep their own counts.
 *
 * The table is bounded: when full, expired windows are dropped first, then the oldest.
 */

export interface FailureLimiterOptions {
  /** Failures allowed per window before the client is blocked. */
  readonly maxFailures: number;
  readonly windowSeconds: number;
  /** Most clients tracked at once. */
  readonly maxClients?: number;
}

interface Window {
  readonly startedAt: number;
  failures: number;
}

export class FailureLimiter {
  readonly #windows = new Map<string, Window>();
  readonly #maxFailures: number;
  readonly #windowMs: number;
  readonly #maxClients: number;

  constructor(options: FailureLimiterOptions) {
    this.#maxFailures = options.maxFailures;
    this.#windowMs = options.windowSeconds * 1000;
    this.#maxClients = options.maxClients ?? 10_000;
  }

  /** Seconds the client must wait, or undefined when it may try. */
  retryAfter(client: string, now: number): number | undefined {
    const window = this.#current(client, now);
    if (window === undefined || window.failures < this.#maxFailures) return undefined;
    return Math.max(1, Math.ceil((window.startedAt + this.#windowMs - now) / 1000));
  }

  recordFailure(client: string, now: number): void {
    const window = this.#current(client, now);
    if (window !== undefined) {
      window.failures++;
      return;
    }
    if (this.#windows.size >= this.#maxClients) this.#evict(now);
    this.#windows.set(client, { startedAt: now, failures: 1 });
  }

  #current(client: string, now: number): Window | undefined {
    const window = this.#windows.get(client);
    if (window === undefined) return undefined;
    if (now - window.startedAt >= this.#windowMs) {
      this.#windows.delete(client);
      return undefined;
    }
    return window;
  }

  #evict(now: number): void {
    for (const [client, window] of this.#windows) {
      if (now - window.startedAt >= this.#windowMs) this.#windows.delete(client);
    }
    // Still full: drop the oldest (Map iteration is insertion order).
    while (this.#windows.size >= this.#maxClients) {
      const oldest = this.#windows.keys().next();
      if (oldest.done === true) break;
      this.#windows.delete(oldest.value);
    }
  }
}
