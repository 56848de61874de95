/**
 * The read half of `bench:scale` (issue 7 item 6): many concurrent clients each sending `show`
 * requests — the GET of a version, `GET /api/v1/models/NS/NAME/versions/SELECTOR` with a bearer
 * token (the first of the three requests `custody show` makes) — back to back for a fixed time,
 * spread round-robin over the replicas.
 * Every client keeps one connection alive (node:http, a keep-alive agent per replica), as a
 * long-running client would, and reads each whole body. Requests completed inside the measured
 * window count (none starts after it); a short unmeasured warm-up before it opens the connections
 * and warms the JIT.
 * Latency is the client's wall clock from sending to the last byte of the body; percentiles are
 * nearest-rank (`latency-summary.ts`). Anything but a 200 is counted as an error.
 */
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { summariseLatencies, type LatencySummary } from './latency-summary.js';
import { PhaseCpuMeter, type PhaseCpu } from './scale-cpu-meter.js';
import type { ReplicaSet } from './scale-transfer.js';

export interface ShowLoadOptions {
  /** The request path, e.g. `/api/v1/models/bench/m/versions/v1`. */
  readonly path: string;
  readonly clients: number;
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface ShowLoadResult {
  readonly requests: number;
  readonly errors: number;
  /** The first unexpected answer, to say what went wrong. */
  readonly firstError: string | undefined;
  readonly windowMs: number;
  readonly perSecond: number;
  readonly latency: LatencySummary;
  /** Requests per replica in the window, in replica order. */
  readonly perReplica: readonly number[];
  readonly cpu: PhaseCpu;
}

interface Answer {
  readonly status: number;
  readonly body: string;
}

/** One GET on a kept-alive connection; resolves when the whole body has arrived. */
function get(agent: http.Agent, base: URL, path: string, token: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { host: base.hostname, port: base.port, path, method: 'GET', agent, headers: { authorization: `Bearer ${token}`, 'user-agent': 'custody-bench-scale' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.once('error', reject);
        response.once('end', () => {
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    request.once('error', reject);
    request.end();
  });
}

/** Runs the load against every replica at once and summarises the measured window. */
export async function runShowLoad(replicas: ReplicaSet, options: ShowLoadOptions): Promise<ShowLoadResult> {
  const bases = replicas.urls.map((url) => new URL(url));
  const agents = bases.map(() => new http.Agent({ keepAlive: true, maxSockets: options.clients }));
  const samples: number[] = [];
  const perReplica = bases.map(() => 0);
  let errors = 0;
  let firstError: string | undefined;
  const started = performance.now();
  const windowStart = started + options.warmupMs;
  const windowEnd = windowStart + options.durationMs;
  let meter: Promise<PhaseCpuMeter> | undefined;
  const meterAtWindow = setTimeout(() => {
    meter = PhaseCpuMeter.start(replicas.pids);
  }, options.warmupMs);

  const client = async (index: number): Promise<void> => {
    const replica = index % bases.length;
    const base = bases[replica];
    const agent = agents[replica];
    if (base === undefined || agent === undefined) throw new Error('no replica');
    while (performance.now() < windowEnd) {
      const sent = performance.now();
      let problem: string | undefined;
      try {
        const answer = await get(agent, base, options.path, replicas.token);
        if (answer.status !== 200) problem = `${answer.status} ${answer.body.slice(0, 300)}`;
      } catch (error) {
        problem = error instanceof Error ? error.message : String(error);
      }
      const done = performance.now();
      // Throughput counts completions inside the window, whenever the request was sent.
      if (done < windowStart || done > windowEnd) continue;
      if (problem !== undefined) {
        errors += 1;
        firstError ??= problem;
        continue;
      }
      samples.push(done - sent);
      perReplica[replica] = (perReplica[replica] ?? 0) + 1;
    }
  };

  try {
    await Promise.all(Array.from({ length: options.clients }, (_, i) => client(i)));
  } finally {
    clearTimeout(meterAtWindow);
    for (const agent of agents) agent.destroy();
  }
  const cpu = await (meter ?? PhaseCpuMeter.start(replicas.pids)).then((m) => m.stop());
  if (samples.length === 0) throw new Error(`no show request succeeded in the window${firstError === undefined ? '' : `: ${firstError}`}`);
  const windowMs = options.durationMs;
  return { requests: samples.length, errors, firstError, windowMs, perSecond: samples.length / (windowMs / 1000), latency: summariseLatencies(samples), perReplica, cpu };
}
