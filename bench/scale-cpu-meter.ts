/**
 * Where the CPU went during one `bench:scale` measurement: how busy the whole machine was (all
 * cores, from the first line of /proc/stat), the CPU seconds of the replicas (`/proc/PID/stat`,
 * via `cpu-time.ts`) and of the benchmark process itself, which runs every client. On a small
 * machine the replicas, PostgreSQL, Ceph and the clients share the same cores; a machine near
 * 100 % busy says that a second replica can only add overhead, not capacity. Linux only: the
 * figures are undefined elsewhere.
 */
import { readFile } from 'node:fs/promises';
import { processCpuTimes } from './cpu-time.js';

/** The CPU picture of one measured phase. */
export interface PhaseCpu {
  /** Fraction of all cores' time spent busy (not idle, not waiting for I/O), 0..1. */
  readonly machineBusy: number | undefined;
  /** User + system seconds of all replicas together. */
  readonly replicaSeconds: number | undefined;
  /** User + system seconds of the benchmark process (the clients). */
  readonly clientSeconds: number;
}

interface MachineTicks {
  readonly busy: number;
  readonly total: number;
}

/** The aggregate `cpu` line: user nice system idle iowait irq softirq steal (guest is inside user). */
async function machineTicks(): Promise<MachineTicks | undefined> {
  let text: string;
  try {
    text = await readFile('/proc/stat', 'utf8');
  } catch {
    return undefined;
  }
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (line === undefined) return undefined;
  const fields = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (fields.length < 5 || fields.some((n) => !Number.isFinite(n))) return undefined;
  const total = fields.reduce((sum, n) => sum + n, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

async function replicaSeconds(pids: readonly number[]): Promise<number | undefined> {
  let sum = 0;
  for (const pid of pids) {
    const times = await processCpuTimes(pid);
    if (times === undefined) return undefined;
    sum += times.user + times.system;
  }
  return sum;
}

/** Started just before a phase, stopped just after it. */
export class PhaseCpuMeter {
  private constructor(
    private readonly pids: readonly number[],
    private readonly machine: MachineTicks | undefined,
    private readonly replicas: number | undefined,
    private readonly client: NodeJS.CpuUsage,
  ) {}

  static async start(replicaPids: readonly number[]): Promise<PhaseCpuMeter> {
    return new PhaseCpuMeter(replicaPids, await machineTicks(), await replicaSeconds(replicaPids), process.cpuUsage());
  }

  async stop(): Promise<PhaseCpu> {
    const client = process.cpuUsage(this.client);
    const machine = await machineTicks();
    const replicas = await replicaSeconds(this.pids);
    const machineBusy =
      machine === undefined || this.machine === undefined || machine.total <= this.machine.total
        ? undefined
        : (machine.busy - this.machine.busy) / (machine.total - this.machine.total);
    return {
      machineBusy,
      replicaSeconds: replicas === undefined || this.replicas === undefined ? undefined : replicas - this.replicas,
      clientSeconds: (client.user + client.system) / 1e6,
    };
  }
}
