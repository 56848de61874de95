/**
 * The summary of `bench:scale` (issue 7 item 6): one registry with one replica against the same
 * registry setup with N replicas, side by side, and the ratio N-replica / 1-replica for each
 * figure. Throughputs are MiB/s (2^20 bytes per second) of all clients together, best round;
 * latencies are the `show` percentiles. The CPU rows say how busy the machine was, which decides
 * how the ratios read: on a host whose cores are already saturated, replicas share the same CPU
 * and a ratio near or below 1 measures the cost of running more of them, not scale-out.
 */
import type { ScaleOptions } from './scale-options.js';
import type { PhaseCpu } from './scale-cpu-meter.js';
import type { ShowLoadResult } from './scale-show-load.js';
import type { TransferPhase, TransferRound } from './scale-transfer.js';

const MiB = 1024 * 1024;

/** Everything measured on one registry. */
export interface RegistryFigures {
  readonly replicas: number;
  readonly rounds: readonly TransferRound[];
  readonly show: ShowLoadResult;
}

/** The machine the run happened on. */
export interface MachineInfo {
  readonly cores: number;
  readonly cpuModel: string;
  readonly loadAtStart: number;
  readonly loadAtEnd: number;
}

export const mibPerSecond = (phase: TransferPhase): number => phase.bytes / MiB / (phase.ms / 1000);

/** The round whose `pick` phase was fastest. */
export function bestPhase(rounds: readonly TransferRound[], pick: (round: TransferRound) => TransferPhase): TransferPhase {
  const phases = rounds.map(pick);
  const [first, ...rest] = phases;
  if (first === undefined) throw new Error('no transfer round');
  return rest.reduce((best, phase) => (phase.ms < best.ms ? phase : best), first);
}

/** One line of a phase as it finishes, for the running commentary. */
export function describePhase(phase: TransferPhase): string {
  return (
    `${(phase.bytes / MiB).toFixed(0)} MiB in ${(phase.ms / 1000).toFixed(2)} s = ${mibPerSecond(phase).toFixed(1)} MiB/s ` +
    `(clients ${(phase.fastestMs / 1000).toFixed(2)}–${(phase.slowestMs / 1000).toFixed(2)} s); ${describeCpu(phase.cpu)}`
  );
}

export function describeShow(show: ShowLoadResult): string {
  const { latency } = show;
  return (
    `${show.requests} requests in ${(show.windowMs / 1000).toFixed(0)} s = ${show.perSecond.toFixed(0)}/s, ` +
    `p50 ${latency.p50.toFixed(1)} ms, p99 ${latency.p99.toFixed(1)} ms, max ${latency.max.toFixed(1)} ms; ` +
    `per replica ${show.perReplica.join(' / ')}; errors ${show.errors}${show.firstError === undefined ? '' : ` (first: ${show.firstError})`}; ${describeCpu(show.cpu)}`
  );
}

function describeCpu(cpu: PhaseCpu): string {
  const busy = cpu.machineBusy === undefined ? 'n/a' : `${(cpu.machineBusy * 100).toFixed(0)} %`;
  const replicas = cpu.replicaSeconds === undefined ? 'n/a' : `${cpu.replicaSeconds.toFixed(2)} s`;
  return `machine busy ${busy}, CPU replicas ${replicas}, clients ${cpu.clientSeconds.toFixed(2)} s`;
}

const ratio = (many: number | undefined, one: number | undefined): string =>
  many === undefined || one === undefined || one === 0 ? 'n/a' : `${(many / one).toFixed(2)}×`;
const fixed = (value: number | undefined, digits: number): string => (value === undefined ? 'n/a' : value.toFixed(digits));
const percent = (value: number | undefined): number | undefined => (value === undefined ? undefined : value * 100);
/** Replica CPU milliseconds per unit of work (per MiB moved, per request). */
const cpuPer = (cpu: PhaseCpu, units: number): number | undefined => (cpu.replicaSeconds === undefined || units === 0 ? undefined : (cpu.replicaSeconds * 1000) / units);

/** The summary table and the notes that say how to read it, as lines. */
export function renderScaleReport(options: ScaleOptions, machine: MachineInfo, one: RegistryFigures, many: RegistryFigures): string[] {
  const n = many.replicas;
  const onePush = bestPhase(one.rounds, (round) => round.push);
  const manyPush = bestPhase(many.rounds, (round) => round.push);
  const onePull = bestPhase(one.rounds, (round) => round.pull);
  const manyPull = bestPhase(many.rounds, (round) => round.pull);
  const row = (label: string, a: number | undefined, b: number | undefined, digits: number): string[] => [label, fixed(a, digits), fixed(b, digits), ratio(b, a)];
  // How busy the host was is context for the other rows, not a figure to compare.
  const context = (label: string, a: number | undefined, b: number | undefined): string[] => [label, fixed(a, 0), fixed(b, 0), ''];
  const moved = (phase: TransferPhase): number => phase.bytes / MiB;
  const rows = [
    row(`push MiB/s (${options.transferClients} clients × ${options.modelMiB} MiB)`, mibPerSecond(onePush), mibPerSecond(manyPush), 1),
    row('pull + verify MiB/s (same models)', mibPerSecond(onePull), mibPerSecond(manyPull), 1),
    row(`show requests/s (${options.showClients} clients, ${options.showSeconds} s)`, one.show.perSecond, many.show.perSecond, 0),
    row('show latency p50 ms', one.show.latency.p50, many.show.latency.p50, 1),
    row('show latency p99 ms', one.show.latency.p99, many.show.latency.p99, 1),
    context('host CPU busy % during push', percent(onePush.cpu.machineBusy), percent(manyPush.cpu.machineBusy)),
    context('host CPU busy % during pull', percent(onePull.cpu.machineBusy), percent(manyPull.cpu.machineBusy)),
    context('host CPU busy % during show', percent(one.show.cpu.machineBusy), percent(many.show.cpu.machineBusy)),
    row('replica CPU ms per MiB pushed', cpuPer(onePush.cpu, moved(onePush)), cpuPer(manyPush.cpu, moved(manyPush)), 2),
    row('replica CPU ms per MiB pulled', cpuPer(onePull.cpu, moved(onePull)), cpuPer(manyPull.cpu, moved(manyPull)), 2),
    row('replica CPU ms per show request', cpuPer(one.show.cpu, one.show.requests), cpuPer(many.show.cpu, many.show.requests), 3),
  ];
  const lines = [
    renderTable(['figure', '1 replica', `${n} replicas`, `${n}/1`], rows),
    '',
    `Throughputs: all clients together, wall clock from the first request to the last client's end, ${options.rounds === 1 ? 'one round' : `best of ${options.rounds} rounds with fresh models each`};`,
    `pushes count upload, server-side hashing, the bucket writes and registration (the models are hashed before the clock starts); pulls count`,
    `download, hashing every byte, the version-digest check and the write. With ${n} replicas, clients go round-robin and every pull reads`,
    `through a different replica than the one that took the push. show errors: ${one.show.errors} / ${many.show.errors}.`,
  ];
  const busiest = Math.max(...[onePush, manyPush, onePull, manyPull].map((p) => p.cpu.machineBusy ?? 0), one.show.cpu.machineBusy ?? 0, many.show.cpu.machineBusy ?? 0);
  lines.push(
    '',
    `This machine has ${machine.cores} core(s) (${machine.cpuModel}); load average ${machine.loadAtStart.toFixed(2)} at start, ${machine.loadAtEnd.toFixed(2)} at end.`,
    `All ${n} replicas, PostgreSQL, Ceph (monitor, OSD, RADOS Gateway) and every client run on this one host and share its ${machine.cores} core(s)` +
      (busiest >= 0.85 ? `, which were up to ${(busiest * 100).toFixed(0)} % busy:` : ':'),
    `the ${n}/1 ratios show what running ${n} replicas costs or saves on the same CPU (overhead), not the scale-out that ${n} replicas on`,
    `${n} hosts would give. Replica CPU per unit of work is the steadier figure for that overhead. Host CPU busy counts every process on the host.`,
  );
  const load = Math.max(machine.loadAtStart, machine.loadAtEnd);
  if (load > machine.cores * 0.75) {
    lines.push(`The host was also busy with other work (load average up to ${load.toFixed(2)} on ${machine.cores} core(s)): every figure is pessimistic and the ratios are noisy.`);
  }
  return lines;
}

function renderTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}
