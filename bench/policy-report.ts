/**
 * The summary `bench:policy` prints (issue 6 acceptance): per store, the latency of one
 * production decision (p50/p90/p99/max) beside its in-run baselines — a plain read of the same
 * version and a decision under an empty policy — with the server's CPU per request, decisions per
 * second sequential and concurrent, the ratios to the baselines, and the target line for SQLite
 * (printed, never asserted).
 */
import os from 'node:os';
import { ATTESTATIONS_PER_VERSION } from './attestation-set.js';
import type { LatencySummary } from './latency-summary.js';
import { fmtDuration, fmtInt, fmtRatio, renderTable } from './log-stats.js';

/** The target: p99 of one decision on SQLite. */
export const TARGET_P99_MS = 20;

/** What the sequential loop times: the production decision and its two baselines. */
export type RequestKind = 'decision' | 'read' | 'empty';

export interface StoreFigures {
  readonly store: string;
  readonly setupMs: number;
  /** Versions registered and promoted into staging during set-up. */
  readonly stagedVersions: number;
  readonly latency: Readonly<Record<RequestKind, LatencySummary>>;
  /** Server CPU per request of each kind, ms (undefined off Linux). */
  readonly serverCpuMs: Readonly<Record<RequestKind, number | undefined>>;
  readonly concurrent: { readonly latency: LatencySummary; readonly wallMs: number; readonly serverCpuMs: number | undefined };
}

const LABELS: Readonly<Record<RequestKind, string>> = {
  decision: 'production decision (4 requirements, 3 gates)',
  empty: 'development decision (empty policy)',
  read: 'read GET …/versions/{digest} (baseline)',
};

const perSecond = (count: number, ms: number): number => count / (ms / 1000);
const cpuCell = (ms: number | undefined): string => (ms === undefined ? 'n/a' : fmtDuration(ms));

function latencyRow(label: string, l: LatencySummary, cpu: number | undefined): string[] {
  return [label, fmtDuration(l.p50), fmtDuration(l.p90), fmtDuration(l.p99), fmtDuration(l.max), fmtDuration(l.mean), cpuCell(cpu)];
}

/** Prints the summary of every store's figures through `say`. */
export function printPolicyReport(figures: readonly StoreFigures[], run: { readonly clients: number; readonly profiled: boolean }, say: (line?: string) => void): void {
  const [first] = figures;
  if (first === undefined) throw new Error('no figures to report');
  say('== Summary');
  say(
    `N = ${fmtInt(first.latency.decision.count)} sequential decisions (+ ${fmtInt(first.concurrent.latency.count)} by ${run.clients} concurrent clients), ${ATTESTATIONS_PER_VERSION} attestations per version; ` +
      'production policy = examples/policies/production.yaml (requireFrom staging, 4 required attestations, 3 CEL gates).',
  );
  say('Latency = client wall clock over HTTP on loopback, response body read; server CPU = user + system time of the server process per request.');
  if (run.profiled) say('This run was profiled (--cpu-prof): every figure is somewhat slower than an unprofiled run.');
  say();
  const rows: string[][] = [];
  for (const f of figures) {
    for (const kind of ['decision', 'empty', 'read'] as const) rows.push(latencyRow(`${f.store}: ${LABELS[kind]}`, f.latency[kind], f.serverCpuMs[kind]));
    rows.push(latencyRow(`${f.store}: production decision, ${run.clients} clients`, f.concurrent.latency, f.concurrent.serverCpuMs));
  }
  say(renderTable(['request', 'p50', 'p90', 'p99', 'max', 'mean', 'server CPU/req'], rows));
  say();
  for (const f of figures) {
    const { decision, empty, read } = f.latency;
    const concurrent = f.concurrent;
    say(`${f.store}:`);
    say(`  decision latency p50 ${fmtDuration(decision.p50)}, p90 ${fmtDuration(decision.p90)}, p99 ${fmtDuration(decision.p99)}, max ${fmtDuration(decision.max)}`);
    say(`  decisions/s sequential (one client, back to back: N ÷ Σ decision latency): ${fmtInt(perSecond(decision.count, decision.total))}`);
    say(`  decisions/s concurrent (${run.clients} clients on distinct models: ${fmtInt(concurrent.latency.count)} ÷ wall ${fmtDuration(concurrent.wallMs)}): ${fmtInt(perSecond(concurrent.latency.count, concurrent.wallMs))}`);
    say(`  baseline read p50 ${fmtDuration(read.p50)}, p99 ${fmtDuration(read.p99)}`);
    say(`  ratio decision-p99 / read-p99: ${fmtRatio(decision.p99 / read.p99)}  (p50: ${fmtRatio(decision.p50 / read.p50)})`);
    say(`  ratio decision-p99 / empty-policy-decision-p99: ${fmtRatio(decision.p99 / empty.p99)}  (p50: ${fmtRatio(decision.p50 / empty.p50)}): what the four requirements and three gates add`);
    say(`  set-up (keys, policies, ${fmtInt(f.stagedVersions)} versions registered and promoted into staging): ${fmtDuration(f.setupMs)}`);
  }
  say();
  say(`Load average at the end: ${(os.loadavg()[0] ?? 0).toFixed(2)} on ${os.cpus().length} CPU(s) (a loaded machine mostly shows in the p99 figures).`);
  const sqlite = figures.find((f) => f.store === 'SQLite');
  if (sqlite !== undefined) {
    const p99 = sqlite.latency.decision.p99;
    say(`target: p99 < ${TARGET_P99_MS} ms on SQLite — ${p99 < TARGET_P99_MS ? 'MET' : 'NOT MET'} (p99 ${fmtDuration(p99)}; printed, not asserted)`);
  }
}
