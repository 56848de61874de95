/**
 * Runs gate expressions under a wall-clock limit (SPEC §10 "a gate that loops or explodes").
 * cel-js evaluates synchronously, and three nested comprehensions over 1,000-element lists are a
 * billion steps, so the limit must be able to interrupt JavaScript that never yields: gates run in
 * one persistent `worker_threads` worker (created lazily, heap-capped), jobs one at a time, and a
 * job that outlives its limit gets the worker terminated and replaced. The timer starts when the
 * job reaches a ready worker, so worker start-up never eats into a policy's time.
 *
 * The worker is unref'd whenever it is idle: a lingering evaluator never keeps a process alive.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CelVariable } from './gate-environment.js';
import { GATE_WORKER_SOURCE } from './gate-worker-source.js';

/** What became of one gate expression. */
export type GateOutcome =
  | { readonly kind: 'value'; readonly value: boolean }
  | { readonly kind: 'error'; readonly message: string }
  /** It was running when the time limit struck. */
  | { readonly kind: 'timeout' }
  /** It never ran: an earlier gate of the job spent the time, or the evaluator failed first. */
  | { readonly kind: 'skipped'; readonly message: string };

export interface GateJob {
  readonly variables: readonly CelVariable[];
  readonly limits: Readonly<Record<string, number>>;
  readonly exprs: readonly string[];
  /** Canonical JSON of the CEL input. */
  readonly input: string;
  readonly timeLimitMs: number;
}

/** How long a new worker may take to load cel-js before the job fails. */
const STARTUP_TIMEOUT_MS = 15_000;
const WORKER_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 256, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 };

interface Pending {
  readonly id: number;
  readonly job: GateJob;
  readonly outcomes: (GateOutcome | undefined)[];
  readonly resolve: (outcomes: GateOutcome[]) => void;
  timer?: NodeJS.Timeout;
}

type WorkerResult = { ok: true; value: boolean } | { ok: false; error: string };
type WorkerMessage = { ready: true } | { failed: string } | { id: number; results: WorkerResult[] };

/** Gates one job may hold: the shared progress buffer has a slot per gate. */
export const MAX_GATES_PER_JOB = 1_024;
const GATE_TRUE = 1;
const GATE_FALSE = 2;
const GATE_ERROR = 3;

class GateEvaluator {
  private worker: Worker | undefined;
  private progress: Int32Array = new Int32Array(0);
  private ready = false;
  private startupTimer: NodeJS.Timeout | undefined;
  private readonly queue: Pending[] = [];
  private current: Pending | undefined;
  private nextId = 1;
  private readonly stopping = new Set<Promise<number>>();

  evaluate(job: GateJob): Promise<GateOutcome[]> {
    if (job.exprs.length === 0) return Promise.resolve([]);
    if (job.exprs.length > MAX_GATES_PER_JOB) {
      return Promise.resolve(job.exprs.map(() => ({ kind: 'error', message: `more than ${MAX_GATES_PER_JOB} gates in one policy` }) as const));
    }
    return new Promise((resolve) => {
      this.queue.push({ id: this.nextId++, job, outcomes: job.exprs.map(() => undefined), resolve });
      this.pump();
    });
  }

  async close(): Promise<void> {
    for (const pending of this.queue.splice(0)) this.finish(pending, 'the policy evaluator was closed');
    if (this.current !== undefined) this.finish(this.current, 'the policy evaluator was closed');
    this.current = undefined;
    this.discardWorker();
    await Promise.allSettled([...this.stopping]);
  }

  private pump(): void {
    if (this.current !== undefined || this.queue.length === 0) return;
    const worker = this.worker ?? this.startWorker();
    worker.ref();
    if (!this.ready) return;
    const pending = this.queue.shift();
    if (pending === undefined) return;
    this.current = pending;
    this.progress.fill(0);
    Atomics.store(this.progress, 0, -1);
    pending.timer = setTimeout(() => {
      this.onTimeout(pending);
    }, pending.job.timeLimitMs);
    const { variables, limits, exprs, input } = pending.job;
    worker.postMessage({ id: pending.id, variables, limits, exprs, input });
  }

  private startWorker(): Worker {
    const progress = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * (1 + MAX_GATES_PER_JOB));
    this.progress = new Int32Array(progress);
    const worker = new Worker(GATE_WORKER_SOURCE, {
      eval: true,
      name: 'custody-policy-gates',
      workerData: { celUrl: celModuleUrl(), progress },
      execArgv: [],
      resourceLimits: WORKER_RESOURCE_LIMITS,
    });
    this.worker = worker;
    this.ready = false;
    worker.on('message', (message: WorkerMessage) => {
      if (this.worker === worker) this.onMessage(message);
    });
    worker.on('error', (error: Error) => {
      if (this.worker === worker) this.onWorkerFailure(`the gate evaluator failed: ${error.message.split('\n')[0] ?? 'error'}`);
    });
    worker.on('exit', (code) => {
      if (this.worker === worker) this.onWorkerFailure(`the gate evaluator stopped (exit code ${code})`);
    });
    this.startupTimer = setTimeout(() => {
      if (this.worker === worker && !this.ready) this.onWorkerFailure(`the gate evaluator did not start within ${STARTUP_TIMEOUT_MS} ms`);
    }, STARTUP_TIMEOUT_MS);
    this.startupTimer.unref();
    worker.unref();
    return worker;
  }

  private onMessage(message: WorkerMessage): void {
    if ('ready' in message) {
      this.ready = true;
      clearTimeout(this.startupTimer);
      this.pump();
      return;
    }
    if ('failed' in message) {
      this.onWorkerFailure(`the gate evaluator could not load CEL: ${message.failed}`);
      return;
    }
    const pending = this.current;
    if (pending?.id !== message.id) return;
    message.results.forEach((result, index) => {
      if (index < pending.outcomes.length) pending.outcomes[index] = result.ok ? { kind: 'value', value: result.value } : { kind: 'error', message: result.error };
    });
    this.complete(pending);
  }

  private onTimeout(pending: Pending): void {
    if (this.current !== pending) return;
    this.salvage(pending, { kind: 'timeout' });
    // The worker may be deep in a loop that never yields: only terminate() stops it.
    this.discardWorker();
    this.complete(pending, 'not evaluated: an earlier gate used up the time limit');
  }

  private onWorkerFailure(reason: string): void {
    const pending = this.current;
    if (pending !== undefined) this.salvage(pending, { kind: 'error', message: reason });
    this.discardWorker();
    if (pending !== undefined) this.complete(pending, `not evaluated: ${reason}`);
    // Jobs still queued fail too when the worker cannot even start; otherwise they get a new worker.
    if (pending === undefined) for (const queued of this.queue.splice(0)) this.finish(queued, reason);
    this.pump();
  }

  /** Takes from the shared progress what the worker finished before it was cut; the gate it was running gets `culprit`. */
  private salvage(pending: Pending, culprit: GateOutcome): void {
    const running = Atomics.load(this.progress, 0);
    for (let index = 0; index < pending.outcomes.length; index++) {
      const state = Atomics.load(this.progress, 1 + index);
      if (state === GATE_TRUE || state === GATE_FALSE) pending.outcomes[index] = { kind: 'value', value: state === GATE_TRUE };
      else if (state === GATE_ERROR) pending.outcomes[index] = { kind: 'error', message: 'the expression failed' };
    }
    if (running >= 0 && running < pending.outcomes.length && pending.outcomes[running] === undefined) pending.outcomes[running] = culprit;
  }

  private discardWorker(): void {
    const worker = this.worker;
    this.worker = undefined;
    this.ready = false;
    clearTimeout(this.startupTimer);
    if (worker === undefined) return;
    worker.removeAllListeners('message');
    const stopped = worker.terminate().catch(() => 0);
    this.stopping.add(stopped);
    void stopped.finally(() => this.stopping.delete(stopped));
  }

  /** Resolves `pending`, every gate without a result marked skipped (or failed with `reason`). */
  private complete(pending: Pending, reason = 'not evaluated'): void {
    clearTimeout(pending.timer);
    if (this.current === pending) this.current = undefined;
    pending.resolve(pending.outcomes.map((o) => o ?? { kind: 'skipped', message: reason }));
    if (this.current === undefined && this.queue.length === 0) this.worker?.unref();
    this.pump();
  }

  private finish(pending: Pending, reason: string): void {
    clearTimeout(pending.timer);
    pending.resolve(pending.outcomes.map((o) => o ?? { kind: 'skipped', message: reason }));
  }
}

/** The URL the worker imports cel-js from: the package this module itself resolves. */
function celModuleUrl(): string {
  const specifier = '@marcbachmann/cel-js';
  try {
    return import.meta.resolve(specifier);
  } catch {
    return pathToFileURL(createRequire(import.meta.url).resolve(specifier)).href;
  }
}

const evaluator = new GateEvaluator();

/** Evaluates `job.exprs` in order against `job.input`, the whole job within `job.timeLimitMs`. */
export function evaluateGates(job: GateJob): Promise<GateOutcome[]> {
  return evaluator.evaluate(job);
}

/** Ends the evaluation worker (pending evaluations resolve as skipped); a later evaluation starts a new one. */
export function closePolicyEvaluator(): Promise<void> {
  return evaluator.close();
}
