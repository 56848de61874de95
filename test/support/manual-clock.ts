/** A clock that moves only when the test says so (the `Clock` seam of `src/domain/clock.ts`). */
import type { Clock } from '../../src/domain/clock.js';

export class ManualClock implements Clock {
  #ms: number;

  constructor(start = '2026-03-01T09:00:00.000Z') {
    this.#ms = Date.parse(start);
  }

  now(): Date {
    return new Date(this.#ms);
  }

  advance(ms: number): void {
    this.#ms += ms;
  }
}
