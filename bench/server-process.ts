/**
 * The real registry as a child process (`custody serve`), as an operator runs it, so that its
 * memory can be measured on its own: `peakRssBytes` reads the kernel's high-water mark of the
 * process's resident set (VmHWM in /proc/PID/status). The mark never goes down, which is why a
 * phase whose peak must be reported alone gets a fresh server. `bench:scale` starts its replicas
 * with it too (`scale-replica.ts` adds the shared storage through `env`). The child is tracked,
 * so an error or Ctrl-C never leaves a server running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { trackChild } from './child-tracker.js';

const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 30_000;

export interface ServerOptions {
  readonly cliPath: string;
  readonly dataDir: string;
  readonly bootstrapToken: string;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** Extra environment, over this process's and the defaults below (e.g. a replica's shared storage). */
  readonly env?: Readonly<Record<string, string>>;
}

export class ServerProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly stderrTail: () => string,
  ) {}

  get pid(): number {
    const { pid } = this.child;
    if (pid === undefined) throw new Error('the server process has no pid');
    return pid;
  }

  /** Starts `custody serve --port 0` and waits for its `custody listening on URL` line. */
  static async start(options: ServerOptions): Promise<ServerProcess> {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), options.cliPath, 'serve', '--data', options.dataDir, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Transfer is what the benchmark measures: its models carry no signed provenance.
      env: { ...process.env, CUSTODY_BOOTSTRAP_TOKEN: options.bootstrapToken, CUSTODY_SERVER_LOG_LEVEL: 'warn', CUSTODY_PROVENANCE_REQUIRE_AT_ENTRY: 'false', ...options.env },
    });
    trackChild(child);
    let stderr = '';
    // stdout is drained, never read: a full pipe would stall the server.
    child.stdout.resume();
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`the server did not report its URL within ${START_TIMEOUT_MS / 1000} s: ${stderr.slice(-2000)}`));
      }, START_TIMEOUT_MS);
      const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
        clearTimeout(timer);
        reject(new Error(`the server exited (${code ?? signal ?? '?'}) before listening: ${stderr.slice(-2000)}`));
      };
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', onExit);
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (text: string) => {
        stderr = (stderr + text).slice(-16_384);
        const match = /custody listening on (https?:\/\/\S+)/.exec(stderr);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(match[1]);
        }
      });
    });
    return new ServerProcess(child, url, () => stderr);
  }

  /** Whether the process still runs (a server that died mid-measurement spoils the figures). */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines the server wrote to stderr, for error messages. */
  stderr(): string {
    return this.stderrTail().slice(-2000);
  }

  /** The peak resident set size of the server so far (VmHWM), or undefined off Linux. */
  async peakRssBytes(): Promise<number | undefined> {
    let status: string;
    try {
      status = await readFile(`/proc/${this.pid}/status`, 'utf8');
    } catch {
      return undefined;
    }
    const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status);
    return match?.[1] === undefined ? undefined : Number(match[1]) * 1024;
  }

  /** Stops the server gracefully (SIGTERM), so that a `--cpu-prof` profile gets written. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!this.running) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        process.stderr.write(`warning: the server at ${this.url} did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it\n${this.stderr().slice(-1000)}\n`);
        child.kill('SIGKILL');
      }, STOP_TIMEOUT_MS);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
