/**
 * The benchmark's child processes, so that an error or Ctrl-C never leaves a server (or a 4 GiB
 * push) running: each child is registered while it lives and `killTrackedChildren` ends the
 * ones still alive, by their own handle — nothing else is touched.
 */
import type { ChildProcess } from 'node:child_process';

const live = new Set<ChildProcess>();

/** Registers `child` until it exits; returns a function that unregisters it. */
export function trackChild(child: ChildProcess): () => void {
  live.add(child);
  const forget = (): void => {
    live.delete(child);
  };
  child.once('exit', forget);
  return forget;
}

/** Sends SIGKILL to every tracked child still running. */
export function killTrackedChildren(): void {
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  live.clear();
}
