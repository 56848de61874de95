/**
 * Runs a command to completion and measures its wall-clock time, start-up included: the
 * benchmark times what a user waits for. A non-zero exit is an error (the benchmark stops), with
 * the command's stderr in the message.
 */
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { trackChild } from './child-tracker.js';

export interface TimedRun {
  readonly ms: number;
  readonly stdout: string;
}

export interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Keep stdout (default true); large outputs the caller does not need can be dropped. */
  readonly captureStdout?: boolean;
}

export async function runTimed(command: string, args: readonly string[], options: RunOptions = {}): Promise<TimedRun> {
  const capture = options.captureStdout ?? true;
  const started = performance.now();
  const child = spawn(command, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env === undefined ? {} : { env: options.env }),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
  });
  const untrack = trackChild(child);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    if (capture) stdout.push(chunk);
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr.push(chunk);
  });
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', (error: NodeJS.ErrnoException) => {
        reject(error.code === 'ENOENT' ? new Error(`${command} is not installed or not on PATH`) : error);
      });
      child.once('close', (exitCode: number | null) => {
        resolve(exitCode);
      });
    });
    const ms = performance.now() - started;
    if (code !== 0) {
      const text = Buffer.concat(stderr).toString('utf8').trim() || Buffer.concat(stdout).toString('utf8').trim();
      throw new Error(`${command} ${args.slice(0, 4).join(' ')}… exited with ${code ?? 'a signal'}: ${text.slice(-2000)}`);
    }
    return { ms, stdout: Buffer.concat(stdout).toString('utf8') };
  } finally {
    untrack();
  }
}
