/**
 * Cleanup that survives the benchmark being killed. `npm run bench:log` runs under tsx, whose
 * parent process relays Ctrl-C to the benchmark and SIGKILLs it when it does not acknowledge the
 * signal within about 60 ms — and a benchmark busy in synchronous SQLite work (better-sqlite3)
 * cannot. So a small guard process, detached into its own session (Ctrl-C does not reach it),
 * learns over an IPC channel what to clean up; when that channel closes — the benchmark ended,
 * normally or not — it stops the PostgreSQL server it was told about (SIGQUIT to the PID in
 * postmaster.pid, only if that process still runs from that data directory) and deletes the
 * directories. After a normal end there is nothing left, and it just exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';

/** The guard's program (plain JavaScript for `node -e`: it must not need tsx). */
const GUARD = `
const { existsSync, readFileSync, rmSync } = require('node:fs');
const paths = [];
const servers = [];
process.on('message', (m) => {
  if (m && typeof m.remove === 'string') paths.push(m.remove);
  if (m && typeof m.dataDir === 'string') servers.push(m.dataDir);
});
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
process.on('disconnect', async () => {
  for (const dataDir of servers) {
    try {
      const pidFile = dataDir + '/postmaster.pid';
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').split('\\n')[0]);
      if (!Number.isInteger(pid) || pid <= 0) continue;
      const cmdline = readFileSync('/proc/' + pid + '/cmdline', 'utf8');
      if (!cmdline.includes(dataDir)) continue;
      process.kill(pid, 'SIGQUIT');
      for (let i = 0; i < 300 && alive(pid); i++) await sleep(100);
    } catch {}
  }
  for (const path of paths) { try { rmSync(path, { recursive: true, force: true }); } catch {} }
  process.exit(0);
});
`;

export class CleanupGuard {
  private constructor(private readonly child: ChildProcess) {}

  static start(): CleanupGuard {
    const child = spawn(process.execPath, ['-e', GUARD], { detached: true, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] });
    // Neither the process nor its channel may keep the benchmark alive.
    child.unref();
    child.channel?.unref();
    // A guard that could not start or died leaves only the in-process cleanup; never crash on it.
    child.on('error', () => undefined);
    return new CleanupGuard(child);
  }

  /** Deletes `path` (recursively) if it still exists when the benchmark ends. */
  removeOnExit(path: string): void {
    this.child.send({ remove: path }, () => undefined);
  }

  /** Stops the PostgreSQL server of `dataDir` if it still runs when the benchmark ends. */
  stopPostgresOnExit(dataDir: string): void {
    this.child.send({ dataDir }, () => undefined);
  }
}
