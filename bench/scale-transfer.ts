/**
 * The transfer half of `bench:scale` (issue 7 item 6): several clients at once, each pushing its
 * own model (distinct bytes, so nothing is deduplicated) and then pulling it back with
 * verification, spread round-robin over the replicas. Client `i` pushes through replica
 * `i mod N` and pulls through replica `i + 1 mod N`, so with two replicas every pull reads what
 * the other replica wrote (one registry: shared database and bucket).
 *
 * Clients are the SDK's `CustodyClient` in this process. Models are scanned (hashed) before the
 * clock starts: a push here is what depends on the replicas — upload, the server's own hashing,
 * the bucket writes, registration — not the client's local hashing. A pull is the whole verified
 * download: fetch, hash every byte, check the version digest, write and rename into place. The
 * aggregate throughput is all bytes over the wall-clock time from the first request to the last
 * client's end.
 */
import { rm } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { LocalModel } from '../src/sdk/local-model.js';
import { CustodyClient, parseModelName } from '../src/sdk/index.js';
import { PhaseCpuMeter, type PhaseCpu } from './scale-cpu-meter.js';

/** One client's share of a round. */
export interface TransferTask {
  /** `ns/name` the model is pushed as (one version per task). */
  readonly model: string;
  readonly local: LocalModel;
  /** Where the pull writes the model (removed after the round). */
  readonly pullTarget: string;
}

/** What the replicas look like to the clients. */
export interface ReplicaSet {
  readonly urls: readonly string[];
  readonly pids: readonly number[];
  readonly token: string;
}

/** One timed phase (all pushes, or all pulls) of a round. */
export interface TransferPhase {
  readonly bytes: number;
  readonly ms: number;
  /** The slowest and the fastest single client, to show how evenly the replicas served. */
  readonly slowestMs: number;
  readonly fastestMs: number;
  readonly cpu: PhaseCpu;
}

export interface TransferRound {
  readonly push: TransferPhase;
  readonly pull: TransferPhase;
}

const modelBytes = (local: LocalModel): number => local.files.reduce((sum, f) => sum + f.size, 0);

/** Runs `work` for every task at once and times the whole, and each task. */
async function timedPhase(tasks: readonly TransferTask[], replicas: ReplicaSet, work: (task: TransferTask, index: number) => Promise<void>): Promise<TransferPhase> {
  const meter = await PhaseCpuMeter.start(replicas.pids);
  const started = performance.now();
  const each = await Promise.all(
    tasks.map(async (task, index) => {
      await work(task, index);
      return performance.now() - started;
    }),
  );
  const ms = performance.now() - started;
  const cpu = await meter.stop();
  return { bytes: tasks.reduce((sum, task) => sum + modelBytes(task.local), 0), ms, slowestMs: Math.max(...each), fastestMs: Math.min(...each), cpu };
}

/** Pushes every task's model in parallel, then pulls each back with verification. */
export async function runTransferRound(tasks: readonly TransferTask[], replicas: ReplicaSet): Promise<TransferRound> {
  const n = replicas.urls.length;
  const clientFor = (replica: number): CustodyClient => {
    const url = replicas.urls[replica % n];
    if (url === undefined) throw new Error('no replica');
    return new CustodyClient({ server: url, token: replicas.token, userAgent: 'custody-bench-scale' });
  };
  const pushClients = tasks.map((_, i) => clientFor(i));
  const pullClients = tasks.map((_, i) => clientFor(i + 1));
  const digests = new Map<string, string>();
  try {
    const push = await timedPhase(tasks, replicas, async (task, i) => {
      const client = pushClients[i];
      if (client === undefined) throw new Error('no client');
      const result = await client.pushScanned(task.local, parseModelName(task.model));
      const bytes = modelBytes(task.local);
      if (!result.created || result.uploadedBytes !== bytes) {
        throw new Error(`push of ${task.model} did not upload everything (created ${result.created}, ${result.uploadedBytes} of ${bytes} bytes): not a transfer measurement`);
      }
      digests.set(task.model, result.version.digest);
    });
    const pull = await timedPhase(tasks, replicas, async (task, i) => {
      const client = pullClients[i];
      const digest = digests.get(task.model);
      if (client === undefined || digest === undefined) throw new Error('no client or no pushed digest');
      // By digest: the replica must find the version the other one registered, byte for byte.
      const result = await client.pull(`${task.model}@${digest}`, { output: task.pullTarget });
      if (result.version.digest !== digest || result.bytes !== modelBytes(task.local)) {
        throw new Error(`pull of ${task.model} returned ${result.version.digest} (${result.bytes} bytes); pushed ${digest}`);
      }
    });
    return { push, pull };
  } finally {
    for (const client of [...pushClients, ...pullClients]) client.close();
    await Promise.all(tasks.map((task) => rm(task.pullTarget, { recursive: true, force: true })));
  }
}
