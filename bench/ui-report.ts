/**
 * The summary `bench:ui` prints (issue 8 acceptance: pages render in under 100 ms server time for
 * a model with 200 versions and 50 attestations on a version — printed, never asserted): per page
 * the client-side latency over loopback (p50/p90/p99/max), the server's CPU per request, the size
 * of the HTML, the ratio to the in-run API read of the same version, and whether the page's p50
 * meets the target; then the two baselines (`/healthz` and the API read) and the skipped pages.
 */
import os from 'node:os';
import type { LatencySummary } from './latency-summary.js';
import { fmtDuration, fmtInt, fmtRatio, renderTable } from './log-stats.js';

/** The issue's target: a page's p50 server time. */
export const TARGET_P50_MS = 100;

export interface TargetFigures {
  /** What was requested, e.g. `/models/bench/ui-model`. */
  readonly label: string;
  readonly kind: 'page' | 'baseline';
  readonly latency: LatencySummary;
  /** Server CPU per request, ms (undefined off Linux). */
  readonly serverCpuMs: number | undefined;
  /** Bytes of the response body (the last one). */
  readonly bytes: number;
}

export interface UiReport {
  readonly scenario: string;
  readonly requests: number;
  readonly warmups: number;
  readonly targets: readonly TargetFigures[];
  /** The label of the API read every page is compared with. */
  readonly apiRead: string;
  /** Pages that answered 404 (not served by this build) and were not timed. */
  readonly skipped: readonly string[];
}

const cpuCell = (ms: number | undefined): string => (ms === undefined ? 'n/a' : fmtDuration(ms));
const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const verdict = (p50: number): string => (p50 < TARGET_P50_MS ? 'target met' : 'NOT MET');

/** Prints the report through `say`. */
export function printUiReport(report: UiReport, say: (line?: string) => void): void {
  const api = report.targets.find((t) => t.label === report.apiRead);
  if (api === undefined) throw new Error('the report has no API read');
  say('== Summary');
  say(`Scenario: ${report.scenario}.`);
  say(`N = ${fmtInt(report.requests)} requests of each (after ${report.warmups} warm-ups), interleaved round by round; one client, sequential.`);
  say('Latency = client wall clock over HTTP on loopback, from sending the request to reading the whole body; server CPU = user + system time of the server process per request.');
  say();
  const rows = report.targets.map((t) => [
    t.kind === 'page' ? t.label : `${t.label} (baseline)`,
    fmtDuration(t.latency.p50),
    fmtDuration(t.latency.p90),
    fmtDuration(t.latency.p99),
    fmtDuration(t.latency.max),
    cpuCell(t.serverCpuMs),
    kib(t.bytes),
    fmtRatio(t.latency.p50 / api.latency.p50),
    fmtRatio(t.latency.p99 / api.latency.p99),
    t.kind === 'page' ? verdict(t.latency.p50) : '',
  ]);
  say(renderTable(['request', 'p50', 'p90', 'p99', 'max', 'server CPU/req', 'body', 'p50 ÷ API', 'p99 ÷ API', `p50 < ${TARGET_P50_MS} ms`], rows));
  say();
  for (const t of report.targets.filter((x) => x.kind === 'page')) {
    say(`${t.label}: p50 ${fmtDuration(t.latency.p50)}, p99 ${fmtDuration(t.latency.p99)}; ${fmtRatio(t.latency.p50 / api.latency.p50)} the API read at p50 — ${verdict(t.latency.p50)}`);
  }
  if (report.skipped.length > 0) say(`skipped (404, not served by this build): ${report.skipped.join(', ')}`);
  say();
  const pages = report.targets.filter((t) => t.kind === 'page');
  const missed = pages.filter((t) => t.latency.p50 >= TARGET_P50_MS);
  say(`Load average at the end: ${(os.loadavg()[0] ?? 0).toFixed(2)} on ${os.cpus().length} CPU(s) (a loaded machine mostly shows in the p99 figures).`);
  say(
    `target: every page p50 < ${TARGET_P50_MS} ms — ${missed.length === 0 ? 'MET' : `NOT MET (${missed.map((t) => t.label).join(', ')})`} for ${pages.length} page(s); printed, not asserted`,
  );
}
