/**
 * Progress bars on stderr for transfers, only when stderr is a terminal and --quiet is off, so
 * pipes and CI logs stay clean.
 */
import cliProgress from 'cli-progress';

export interface Progress {
  update(label: string, done: number, total: number): void;
  stop(): void;
}

const noProgress: Progress = { update: () => undefined, stop: () => undefined };

export function createProgress(enabled: boolean): Progress {
  if (!enabled || !process.stderr.isTTY) return noProgress;
  const bar = new cliProgress.SingleBar(
    { stream: process.stderr, format: '{label} [{bar}] {percentage}% {doneMiB}/{totalMiB} MiB', hideCursor: true, clearOnComplete: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  let currentLabel = '';
  const mib = (n: number): string => (n / 1048576).toFixed(1);
  return {
    update(label, done, total) {
      if (!started || label !== currentLabel) {
        if (started) bar.stop();
        bar.start(Math.max(total, 1), done, { label, doneMiB: mib(done), totalMiB: mib(total) });
        started = true;
        currentLabel = label;
        return;
      }
      if (total > 0) bar.setTotal(total);
      bar.update(done, { label, doneMiB: mib(done), totalMiB: mib(total) });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** The callbacks a model scan takes (`scanModel`, OMS sign/verify) to drive one `hash` bar. */
export interface HashProgress {
  readonly onScanned: (scanned: { readonly bytes: number }) => void;
  readonly onProgress: (done: number) => void;
  /** Ends the bar; call it whether the scan succeeded or not. */
  readonly stop: () => void;
}

/** A `hash` progress bar fed by a model scan's callbacks (total known once the walk is done). */
export function hashProgress(enabled: boolean): HashProgress {
  const progress = createProgress(enabled);
  let total = 0;
  return {
    onScanned: ({ bytes }) => {
      total = bytes;
    },
    onProgress: (done) => {
      progress.update('hash', done, total);
    },
    stop: () => {
      progress.stop();
    },
  };
}
