/**
 * Reads a V8 `.cpuprofile` (written by `node --cpu-prof`) and tells where the time went: self
 * time per function, and the share of idle time (waiting on disk, network or the other process)
 * against JavaScript, native hashing/copying and garbage collection. Enough to see, without a
 * profiler UI, whether a transfer is CPU-bound and in what.
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';

const profileSchema = z.object({
  nodes: z.array(
    z.object({
      id: z.number(),
      callFrame: z.object({ functionName: z.string(), url: z.string(), lineNumber: z.number() }),
    }),
  ),
  startTime: z.number(),
  endTime: z.number(),
  samples: z.array(z.number()),
  timeDeltas: z.array(z.number()),
});

export interface ProfileSummary {
  readonly totalMs: number;
  readonly idleMs: number;
  readonly gcMs: number;
  /** Functions by self time, largest first. */
  readonly top: readonly { readonly name: string; readonly ms: number }[];
}

/** Summarises the one `.cpuprofile` in `dir`. */
export async function summariseProfileDir(dir: string, repoRoot: string, topCount = 12): Promise<ProfileSummary> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
  const [file] = files;
  if (file === undefined) throw new Error(`no .cpuprofile was written in ${dir}`);
  const profile = profileSchema.parse(JSON.parse(await readFile(path.join(dir, file), 'utf8')) as unknown);

  const nameOf = new Map<number, string>();
  for (const node of profile.nodes) {
    const { functionName, url, lineNumber } = node.callFrame;
    const where = url === '' ? '' : ` ${shortUrl(url, repoRoot)}:${lineNumber + 1}`;
    nameOf.set(node.id, `${functionName === '' ? '(anonymous)' : functionName}${where}`);
  }
  const selfMs = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const name = nameOf.get(id) ?? '(unknown)';
    selfMs.set(name, (selfMs.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const top = [...selfMs.entries()]
    .map(([name, ms]) => ({ name, ms }))
    .sort((a, b) => b.ms - a.ms)
    .slice(0, topCount);
  return {
    totalMs: (profile.endTime - profile.startTime) / 1000,
    idleMs: selfMs.get('(idle)') ?? 0,
    gcMs: selfMs.get('(garbage collector)') ?? 0,
    top,
  };
}

/** Renders a summary as indented lines. */
export function formatProfile(title: string, summary: ProfileSummary): string {
  const pct = (ms: number): string => `${((100 * ms) / Math.max(summary.totalMs, 1)).toFixed(1)}%`;
  const lines = [
    `${title}: ${(summary.totalMs / 1000).toFixed(2)} s profiled, idle ${pct(summary.idleMs)}, GC ${pct(summary.gcMs)}; top self time:`,
    ...summary.top.map(({ name, ms }) => `    ${ms.toFixed(0).padStart(7)} ms  ${pct(ms).padStart(6)}  ${name}`),
  ];
  return lines.join('\n');
}

function shortUrl(url: string, repoRoot: string): string {
  const plain = url.startsWith('file://') ? url.slice('file://'.length) : url;
  if (plain.startsWith(repoRoot)) return path.relative(repoRoot, plain);
  return plain;
}
