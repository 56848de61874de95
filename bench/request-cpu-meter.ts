/**
 * The server's CPU time per kind of request, for `bench:policy`: /proc is read just before and
 * just after each request (never while it is in flight) and the difference is added to that
 * request's kind. Over a few hundred requests the 10 ms tick of /proc averages out, and CPU time
 * moves far less with a busy machine's neighbours than wall-clock latency does.
 */
import { cpuDelta, processCpuTimes, type CpuTimes } from './cpu-time.js';

/** Milliseconds of user + system time, or undefined where /proc is not available. */
export function cpuMillis(cpu: CpuTimes | undefined): number | undefined {
  return cpu === undefined ? undefined : (cpu.user + cpu.system) * 1000;
}

export class RequestCpuMeter<Kind extends string> {
  readonly #totals = new Map<Kind, number>();
  #known = true;

  constructor(private readonly pid: number) {}

  /** Runs `request`, adding the server CPU it cost to `kind`. */
  async around<T>(kind: Kind, request: () => Promise<T>): Promise<T> {
    const before = await processCpuTimes(this.pid);
    const result = await request();
    const spent = cpuMillis(cpuDelta(before, await processCpuTimes(this.pid)));
    if (spent === undefined) this.#known = false;
    else this.#totals.set(kind, (this.#totals.get(kind) ?? 0) + spent);
    return result;
  }

  /** The mean server CPU of `kind` over `requests` requests (ms), or undefined off Linux. */
  perRequest(kind: Kind, requests: number): number | undefined {
    return this.#known ? (this.#totals.get(kind) ?? 0) / requests : undefined;
  }
}
