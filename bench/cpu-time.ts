/**
 * CPU time from /proc (Linux), to tell a transfer that burns CPU from one that waits on the disk
 * or the network, and to compare with the baseline's CPU cost: on a busy machine wall-clock
 * figures move with the neighbours, CPU seconds much less.
 *
 * - `processCpuTimes(pid)`: user and system time of a running process (the server), all its
 *   threads (libuv's file-system pool included, which a V8 profile does not show).
 * - `reapedChildrenCpuTimes()`: the same for this process's children that have exited and been
 *   waited for (the CLI runs, openssl); the delta around one run is that run's cost.
 * System time is mostly the kernel copying bytes (socket, page cache); user time is hashing and
 * JavaScript.
 * Both return undefined where /proc is not available.
 */
import { readFile } from 'node:fs/promises';

/** /proc reports times in USER_HZ, which Linux fixes at 100 for user space. */
const TICKS_PER_SECOND = 100;

/** The fields after `(comm)`, whose text may itself hold spaces or parentheses. */
async function statFields(pid: number | 'self'): Promise<string[] | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** User and system CPU seconds. */
export interface CpuTimes {
  readonly user: number;
  readonly system: number;
}

/** Two tick fields as seconds; `userField`/`systemField` are field numbers as in proc(5). */
function times(fields: readonly string[] | undefined, userField: number, systemField: number): CpuTimes | undefined {
  if (fields === undefined) return undefined;
  // Field N of proc(5) is at index N - 3 once pid and comm are cut off.
  const user = Number(fields[userField - 3]) / TICKS_PER_SECOND;
  const system = Number(fields[systemField - 3]) / TICKS_PER_SECOND;
  return Number.isFinite(user) && Number.isFinite(system) ? { user, system } : undefined;
}

export async function processCpuTimes(pid: number): Promise<CpuTimes | undefined> {
  return times(await statFields(pid), 14, 15); // utime, stime
}

export async function reapedChildrenCpuTimes(): Promise<CpuTimes | undefined> {
  return times(await statFields('self'), 16, 17); // cutime, cstime
}

/** `after - before`, or undefined when either is unknown. */
export function cpuDelta(before: CpuTimes | undefined, after: CpuTimes | undefined): CpuTimes | undefined {
  return before === undefined || after === undefined ? undefined : { user: after.user - before.user, system: after.system - before.system };
}
