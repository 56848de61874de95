/**
 * Latency percentiles for `bench:policy`: p50, p90, p99 and the maximum of a set of request
 * times (nearest-rank percentiles, as `log-stats.ts` computes its median and p99), so the
 * figures are actual samples and a p99 of 200 samples is the second slowest.
 */

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
  readonly total: number;
}

/** Percentiles (nearest rank), maximum, mean and sum of `samples` (milliseconds). */
export function summariseLatencies(samples: readonly number[]): LatencySummary {
  if (samples.length === 0) throw new Error('no latency samples');
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? Number.NaN;
  const total = sorted.reduce((sum, x) => sum + x, 0);
  return { count: sorted.length, p50: rank(0.5), p90: rank(0.9), p99: rank(0.99), max: sorted[sorted.length - 1] ?? Number.NaN, mean: total / sorted.length, total };
}
