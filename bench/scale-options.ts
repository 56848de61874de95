/**
 * The sizes of `bench:scale` (issue 7 item 6), read from the environment. The defaults keep a
 * whole run, Ceph's start included, under about three minutes on a 2-core machine; larger models
 * or longer `show` windows steady the figures at the cost of time.
 */

export interface ScaleOptions {
  /** MiB per model (one file each); every transfer client pushes and pulls its own model. */
  readonly modelMiB: number;
  /** Transfer clients running at once, spread round-robin over the replicas. */
  readonly transferClients: number;
  /** Transfer rounds per registry, each with fresh models (no dedup); the best is reported. */
  readonly rounds: number;
  /** Concurrent `show` clients, spread round-robin over the replicas. */
  readonly showClients: number;
  /** The measured `show` window, and the unmeasured warm-up before it. */
  readonly showSeconds: number;
  readonly warmupSeconds: number;
  /** Replicas of the scaled-out registry (compared with one). */
  readonly replicas: number;
}

interface Knob {
  readonly env: string;
  readonly fallback: number;
  readonly min: number;
  readonly max: number;
  readonly what: string;
}

/** Every knob, by the option it sets. */
export const SCALE_KNOBS: { readonly [K in keyof ScaleOptions]: Knob } = {
  modelMiB: { env: 'BENCH_SCALE_MB', fallback: 64, min: 1, max: 4096, what: 'MiB per model' },
  transferClients: { env: 'BENCH_SCALE_CLIENTS', fallback: 4, min: 1, max: 64, what: 'parallel push/pull clients' },
  rounds: { env: 'BENCH_SCALE_ROUNDS', fallback: 1, min: 1, max: 10, what: 'push/pull rounds per registry (best reported)' },
  showClients: { env: 'BENCH_SCALE_SHOW_CLIENTS', fallback: 32, min: 1, max: 1024, what: 'concurrent show clients' },
  showSeconds: { env: 'BENCH_SCALE_SHOW_SECONDS', fallback: 10, min: 1, max: 600, what: 'seconds of measured show load' },
  warmupSeconds: { env: 'BENCH_SCALE_WARMUP_SECONDS', fallback: 1, min: 0, max: 60, what: 'seconds of unmeasured show warm-up' },
  replicas: { env: 'BENCH_SCALE_REPLICAS', fallback: 2, min: 2, max: 16, what: 'replicas of the scaled-out registry' },
};

/** Reads the knobs from `env`; a value that is not an integer in range is an error naming it. */
export function readScaleOptions(env: NodeJS.ProcessEnv): ScaleOptions {
  const read = (knob: Knob): number => {
    const raw = env[knob.env];
    if (raw === undefined || raw.trim() === '') return knob.fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < knob.min || value > knob.max) {
      throw new Error(`${knob.env} (${knob.what}) must be an integer from ${knob.min} to ${knob.max}, not ${JSON.stringify(raw.slice(0, 40))}`);
    }
    return value;
  };
  return {
    modelMiB: read(SCALE_KNOBS.modelMiB),
    transferClients: read(SCALE_KNOBS.transferClients),
    rounds: read(SCALE_KNOBS.rounds),
    showClients: read(SCALE_KNOBS.showClients),
    showSeconds: read(SCALE_KNOBS.showSeconds),
    warmupSeconds: read(SCALE_KNOBS.warmupSeconds),
    replicas: read(SCALE_KNOBS.replicas),
  };
}
