/**
 * Where a server's CPU went, from the `.cpuprofile` files `node --cpu-prof` writes (one per
 * thread: the main thread and, for `bench:policy`, the policy evaluator's worker). Self time
 * (`cpu-profile-summary.ts`) names the leaves — JSON.parse, a signature check — but not which
 * step of a request called them; inclusive time does: a sample counts once for every distinct
 * function on its stack, so `candidateOf` includes the signature checks it makes. Async functions
 * count only while they run on the stack, i.e. after each `await` resumes them, never while they
 * wait. The registry's own functions (those under dist/ or src/) are listed by inclusive time.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
      children: z.array(z.number()).optional(),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export interface ThreadSpans {
  readonly file: string;
  /** Time the counted samples cover. */
  readonly totalMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  /** The registry's functions by inclusive time, largest first. */
  readonly inclusive: readonly { readonly name: string; readonly ms: number }[];
  /** Any function by self time, largest first. */
  readonly self: readonly { readonly name: string; readonly ms: number }[];
}

/** A span of the monotonic clock in microseconds (`process.hrtime.bigint() / 1000n`, V8's profile clock). */
export interface TimeWindow {
  readonly startUs: number;
  readonly endUs: number;
}

/** The current time on the clock V8 stamps its profiles with (CLOCK_MONOTONIC), in µs. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

/**
 * Summarises every `.cpuprofile` in `dir`, busiest thread first. With `windows` (sorted, not
 * overlapping), only samples taken inside one of them count — e.g. while the client waited for
 * one kind of request.
 */
export async function summariseProfileSpans(dir: string, repoRoot: string, windows?: readonly TimeWindow[], top = 25): Promise<ThreadSpans[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  if (files.length === 0) throw new Error(`no .cpuprofile was written in ${dir}`);
  const threads: ThreadSpans[] = [];
  for (const file of files) {
    const profile = profileSchema.parse(JSON.parse(await readFile(path.join(dir, file), 'utf8')) as unknown);
    const parent = new Map<number, number>();
    const nameOf = new Map<number, string>();
    const ownCode = new Set<number>();
    for (const node of profile.nodes) {
      for (const child of node.children ?? []) parent.set(child, node.id);
      const { functionName, url, lineNumber } = node.callFrame;
      const short = shortUrl(url, repoRoot);
      nameOf.set(node.id, `${functionName === '' ? '(anonymous)' : functionName}${url === '' ? '' : ` ${short}:${lineNumber + 1}`}`);
      if (/^(dist|src)\//.test(short)) ownCode.add(node.id);
    }
    const self = new Map<string, number>();
    const inclusive = new Map<string, number>();
    const inWindow = windowFilter(windows);
    let at = profile.startTime;
    let sampledMs = 0;
    profile.samples.forEach((leaf, i) => {
      const deltaUs = profile.timeDeltas[i] ?? 0;
      at += deltaUs;
      if (!inWindow(at)) return;
      const ms = deltaUs / 1000;
      sampledMs += ms;
      const leafName = nameOf.get(leaf) ?? '(unknown)';
      self.set(leafName, (self.get(leafName) ?? 0) + ms);
      const seen = new Set<string>();
      for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
        const name = nameOf.get(id);
        if (name === undefined || !ownCode.has(id) || seen.has(name)) continue;
        seen.add(name);
        inclusive.set(name, (inclusive.get(name) ?? 0) + ms);
      }
    });
    const ranked = (m: Map<string, number>): { name: string; ms: number }[] =>
      [...m.entries()]
        .map(([name, ms]) => ({ name, ms }))
        .sort((a, b) => b.ms - a.ms)
        .slice(0, top);
    threads.push({
      file,
      totalMs: sampledMs,
      idleMs: self.get('(idle)') ?? 0,
      gcMs: self.get('(garbage collector)') ?? 0,
      inclusive: ranked(inclusive),
      self: ranked(self).slice(0, 12),
    });
  }
  return threads.sort((a, b) => b.totalMs - b.idleMs - (a.totalMs - a.idleMs));
}

/**
 * Renders the summaries as indented lines; with `requests`, each figure is also given per request
 * (the windows' total divided by how many requests they covered).
 */
export function formatProfileSpans(title: string, threads: readonly ThreadSpans[], requests?: number): string {
  const lines = [`${title}:`];
  for (const t of threads) {
    const busy = t.totalMs - t.idleMs;
    const pct = (ms: number): string => `${((100 * ms) / Math.max(busy, 1)).toFixed(1)}%`;
    const each = (ms: number): string => (requests === undefined ? '' : `${(ms / requests).toFixed(2).padStart(8)} ms/req`);
    const row = (name: string, ms: number): string => `    ${ms.toFixed(0).padStart(7)} ms  ${pct(ms).padStart(6)}${each(ms)}  ${name}`;
    lines.push(`  ${t.file}: ${(t.totalMs / 1000).toFixed(2)} s profiled, ${(busy / 1000).toFixed(2)} s busy${requests === undefined ? '' : ` (${(busy / requests).toFixed(2)} ms per request)`}; percentages of busy time; GC ${pct(t.gcMs)}`);
    lines.push("    inclusive time, the registry's functions:");
    for (const { name, ms } of t.inclusive) lines.push(row(name, ms));
    lines.push('    self time:');
    for (const { name, ms } of t.self.filter((s) => s.name !== '(idle)')) lines.push(row(name, ms));
  }
  return lines.join('\n');
}

/** A test for sample times (µs) that must be asked in increasing order, as samples come. */
function windowFilter(windows: readonly TimeWindow[] | undefined): (us: number) => boolean {
  if (windows === undefined) return () => true;
  let i = 0;
  return (us) => {
    while (i < windows.length && (windows[i]?.endUs ?? 0) < us) i++;
    const w = windows[i];
    return w !== undefined && w.startUs <= us;
  };
}

function shortUrl(url: string, repoRoot: string): string {
  const plain = url.startsWith('file://') ? url.slice('file://'.length) : url;
  return plain.startsWith(`${repoRoot}/`) ? path.relative(repoRoot, plain) : plain;
}
