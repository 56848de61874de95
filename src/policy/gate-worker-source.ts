/**
 * The source of the gate-evaluation worker (SPEC §10 "a gate that loops or explodes"), kept as a
 * string and started with `eval: true`: the same code then runs under vitest (TypeScript
 * sources) and from `dist/` (plain Node), and it needs no file of its own beside the module. It
 * loads cel-js from the URL the host resolved, builds the environment from the declarations and
 * limits it is sent (the ones the gates were type-checked with), and evaluates each gate of a job
 * in order.
 *
 * Progress goes through a SharedArrayBuffer (`workerData.progress`, Int32): slot 0 is the index
 * of the gate running now, slot 1 + i the state of gate i (1 true, 2 false, 3 error). The host
 * reads it when it cuts a runaway job, so it knows which gate ran out of time and what the
 * earlier gates returned, without a message per gate on the fast path.
 *
 * Messages in: `{id, variables: [name, type][], limits, exprs: string[], input: string}` where
 * `input` is the canonical JSON of the CEL input. Out: `{ready: true}` once, then per job
 * `{id, results: ({ok: true, value} | {ok: false, error})[]}`.
 */
export const GATE_WORKER_SOURCE = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const MAX_DEPTH = 64;
const MAX_CACHED_ENVIRONMENTS = 64;
const MAX_CACHED_PROGRAMS = 512;
const environments = new Map();
const progress = new Int32Array(workerData.progress);

function toCel(value, depth) {
  if (depth > MAX_DEPTH) throw new RangeError('input nested too deeply');
  if (typeof value === 'number') return Number.isSafeInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map((item) => toCel(item, depth + 1));
  if (typeof value === 'object' && value !== null) {
    const map = Object.create(null);
    for (const key of Object.keys(value)) map[key] = toCel(value[key], depth + 1);
    return map;
  }
  return value;
}

function describe(error) {
  if (error && typeof error.summary === 'string' && error.summary !== '') return error.summary.slice(0, 500);
  if (error && typeof error.message === 'string') return String(error.message.split('\n')[0]).slice(0, 500);
  return 'evaluation failed';
}

function programsFor(cel, variables, limits) {
  const key = JSON.stringify([variables, limits]);
  let entry = environments.get(key);
  if (entry === undefined) {
    if (environments.size >= MAX_CACHED_ENVIRONMENTS) environments.clear();
    const environment = new cel.Environment({ limits });
    for (const [name, type] of variables) environment.registerVariable(name, type);
    entry = { environment, programs: new Map() };
    environments.set(key, entry);
  }
  return entry;
}

function run(cel, job) {
  let input;
  try {
    input = toCel(JSON.parse(job.input), 0);
    input.now = new Date(input.now);
    if (Number.isNaN(input.now.getTime())) throw new RangeError('now is not an instant');
  } catch (error) {
    const failure = { ok: false, error: 'the input cannot be read: ' + describe(error) };
    return job.exprs.map(() => failure);
  }
  const entry = programsFor(cel, job.variables, job.limits);
  return job.exprs.map((expr, index) => {
    Atomics.store(progress, 0, index);
    let result;
    try {
      let program = entry.programs.get(expr);
      if (program === undefined) {
        if (entry.programs.size >= MAX_CACHED_PROGRAMS) entry.programs.clear();
        program = entry.environment.parse(expr);
        entry.programs.set(expr, program);
      }
      const value = program(input);
      result = typeof value === 'boolean' ? { ok: true, value } : { ok: false, error: 'the expression did not return a bool' };
    } catch (error) {
      result = { ok: false, error: describe(error) };
    }
    Atomics.store(progress, 1 + index, result.ok ? (result.value ? 1 : 2) : 3);
    return result;
  });
}

import(workerData.celUrl).then(
  (cel) => {
    parentPort.on('message', (job) => {
      let results;
      try {
        results = run(cel, job);
      } catch (error) {
        results = job.exprs.map(() => ({ ok: false, error: describe(error) }));
      }
      parentPort.postMessage({ id: job.id, results });
    });
    parentPort.postMessage({ ready: true });
  },
  (error) => parentPort.postMessage({ failed: describe(error) }),
);
`;
