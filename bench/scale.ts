/**
 * `npm run bench:scale` — one replica against several (issue 7 item 6; SPEC §3.1, §11).
 *
 * A registry is several `custody serve` processes (built, from dist/) sharing one PostgreSQL
 * database, one S3 bucket and the same log and VSA key files (`scale-replica.ts`), on a throwaway
 * PostgreSQL and a throwaway single-node Ceph RADOS Gateway, or on existing servers
 * (`scale-backends.ts`). Two registries are measured the same way, one after the other: one with
 * a single replica, one with BENCH_SCALE_REPLICAS (default 2). On each:
 * - push, then pull with verification, of BENCH_SCALE_CLIENTS (4) distinct models of
 *   BENCH_SCALE_MB (64) MiB at once through the SDK, round-robin over the replicas, for
 *   BENCH_SCALE_ROUNDS (1) rounds of fresh models, the best round reported (`scale-transfer.ts`);
 * - BENCH_SCALE_SHOW_CLIENTS (32) concurrent clients sending `show` requests (GET of a version)
 *   for BENCH_SCALE_SHOW_SECONDS (10) s after a short warm-up: requests per second, p50 and p99
 *   (`scale-show-load.ts`).
 * It prints the figures, the ratios N-replica / 1-replica, how busy the machine was, and its core
 * count (`scale-report.ts`). Replicas on one small host share its CPU, so there the ratios show
 * the overhead of more replicas rather than scale-out. About 2 to 2.5 minutes with the defaults on
 * this 2-core machine, build included; more rounds or larger models steady the figures.
 *
 * Cleanup: the replicas are tracked children, killed on any exit; PostgreSQL and Ceph are stopped
 * by PID at the end, also after an error or Ctrl-C; a detached guard (`cleanup-guard.ts`) stops
 * PostgreSQL and deletes the temporary directory even if the benchmark is killed outright.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { generateApiToken } from '../src/auth/api-token.js';
import { scanModel } from '../src/sdk/local-model.js';
import { CustodyClient } from '../src/sdk/index.js';
import { killTrackedChildren } from './child-tracker.js';
import { CleanupGuard } from './cleanup-guard.js';
import { ScaleBackends } from './scale-backends.js';
import { readScaleOptions, type ScaleOptions } from './scale-options.js';
import { startReplica } from './scale-replica.js';
import type { ServerProcess } from './server-process.js';
import { describePhase, describeShow, renderScaleReport, type RegistryFigures } from './scale-report.js';
import { runShowLoad } from './scale-show-load.js';
import { runTransferRound, type ReplicaSet, type TransferRound, type TransferTask } from './scale-transfer.js';
import { BlockPattern, generateSingleFileModel } from './synthetic-model.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO_ROOT, 'bin', 'custody.js');
/** The throwaway Ceph keeps its OSD in an 8 GiB sparse file; leave it room for both registries. */
const CEPH_BUDGET_BYTES = 6 * GiB;

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

class ScaleBench {
  constructor(
    private readonly options: ScaleOptions,
    private readonly tmp: string,
    private readonly backends: ScaleBackends,
  ) {}

  async run(): Promise<void> {
    const { options } = this;
    const cpus = os.cpus();
    const loadAtStart = os.loadavg()[0] ?? 0;
    say(`custody scale benchmark — node ${process.version}, ${cpus.length} core(s) (${cpus[0]?.model ?? 'unknown'}), load average ${loadAtStart.toFixed(2)}`);
    for (const line of this.backends.description) say(`  ${line}`);
    say(
      `  1 replica vs ${options.replicas}; ${options.transferClients} clients × ${options.modelMiB} MiB per round, ${options.rounds} round(s); ` +
        `${options.showClients} show clients for ${options.showSeconds} s (+${options.warmupSeconds} s warm-up)`,
    );
    say();
    const models = await this.prepareModels();
    const one = await this.measureRegistry(1, models);
    const many = await this.measureRegistry(options.replicas, models);
    const cpuModel = cpus[0]?.model ?? 'unknown';
    say('== Summary');
    for (const line of renderScaleReport(options, { cores: cpus.length, cpuModel, loadAtStart, loadAtEnd: os.loadavg()[0] ?? 0 }, one, many)) say(line);
  }

  /** Writes and scans one model per client per round; the same bytes serve both registries. */
  private async prepareModels(): Promise<TransferTask[][]> {
    const { options } = this;
    const pattern = new BlockPattern();
    const started = performance.now();
    const rounds: TransferTask[][] = [];
    for (let round = 1; round <= options.rounds; round++) {
      const tasks: TransferTask[] = [];
      for (let client = 0; client < options.transferClients; client++) {
        const file = path.join(this.tmp, 'models', `round-${round}`, `client-${client}.safetensors`);
        await generateSingleFileModel(pattern, file, options.modelMiB * MiB, round * 1000 + client + 1);
        const local = await scanModel(file);
        tasks.push({ model: `bench/scale-r${round}-c${client}`, local, pullTarget: path.join(this.tmp, 'pulled', `r${round}-c${client}.safetensors`) });
      }
      rounds.push(tasks);
    }
    await mkdir(path.join(this.tmp, 'pulled'), { recursive: true });
    say(`Models: ${options.rounds * options.transferClients} × ${options.modelMiB} MiB written and hashed in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    say();
    return rounds;
  }

  /** A fresh registry of `count` replicas: every round of transfers, then the show load. */
  private async measureRegistry(count: number, models: readonly TransferTask[][]): Promise<RegistryFigures> {
    say(`== ${count} replica${count === 1 ? '' : 's'} (one PostgreSQL database, one bucket)`);
    const label = `r${count}`;
    const storage = await this.backends.createRegistryStorage(label);
    const keys = path.join(this.tmp, `keys-${label}`);
    await mkdir(keys, { recursive: true, mode: 0o700 });
    const shared = {
      metadataUrl: storage.metadataUrl,
      blobsSpec: storage.blobsSpec,
      s3AccessKeyId: storage.s3.accessKeyId,
      s3SecretAccessKey: storage.s3.secretAccessKey,
      logKeyFile: path.join(keys, 'log.key'),
      vsaKeyFile: path.join(keys, 'vsa.key'),
      bootstrapToken: generateApiToken(),
    };
    const start = (i: number): Promise<ServerProcess> => startReplica({ cliPath: CLI, dataDir: path.join(this.tmp, `replica-${label}-${i}`), storage: shared });
    const replicas: ServerProcess[] = [];
    try {
      const started = performance.now();
      // The first replica creates the schema, the bucket, the key files and the admin; the others join.
      replicas.push(await start(0));
      replicas.push(...(await Promise.all(Array.from({ length: count - 1 }, (_, i) => start(i + 1)))));
      say(`  started in ${((performance.now() - started) / 1000).toFixed(1)} s: ${replicas.map((r) => r.url).join(', ')}`);
      const set: ReplicaSet = { urls: replicas.map((r) => r.url), pids: replicas.map((r) => r.pid), token: shared.bootstrapToken };
      const rounds: TransferRound[] = [];
      for (const [index, tasks] of models.entries()) {
        const round = await runTransferRound(tasks, set);
        this.assertRunning(replicas);
        say(`  round ${index + 1} push: ${describePhase(round.push)}`);
        say(`          pull: ${describePhase(round.pull)}`);
        rounds.push(round);
      }
      const target = models[0]?.[0];
      if (target === undefined) throw new Error('no model to show');
      const ref = `${target.model}@v1`;
      await this.assertSameVersion(set, ref, target.local.digest);
      const [namespace = '', name = ''] = target.model.split('/');
      const show = await runShowLoad(set, {
        path: `/api/v1/models/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/versions/v1`,
        clients: this.options.showClients,
        warmupMs: this.options.warmupSeconds * 1000,
        durationMs: this.options.showSeconds * 1000,
      });
      this.assertRunning(replicas);
      say(`  show ${ref}: ${describeShow(show)}`);
      say();
      return { replicas: count, rounds, show };
    } finally {
      await Promise.all(replicas.map((replica) => replica.stop()));
    }
  }

  /** Every replica answers `ref` with the pushed digest: they are one registry. */
  private async assertSameVersion(set: ReplicaSet, ref: string, digest: string): Promise<void> {
    for (const url of set.urls) {
      const client = new CustodyClient({ server: url, token: set.token });
      try {
        const version = await client.getVersion(ref);
        if (version.digest !== digest) throw new Error(`${url} answers ${ref} with ${version.digest}, not the pushed ${digest}`);
      } finally {
        client.close();
      }
    }
  }

  private assertRunning(replicas: readonly ServerProcess[]): void {
    const dead = replicas.find((replica) => !replica.running);
    if (dead !== undefined) throw new Error(`replica ${dead.url} exited during the measurement: ${dead.stderr()}`);
  }
}

/** Refuses to start when the data would not fit (the models, their pulled copies, Ceph's copies). */
async function checkSpace(options: ScaleOptions, tmpBase: string): Promise<string | undefined> {
  const modelBytes = options.rounds * options.transferClients * options.modelMiB * MiB;
  const adoptedS3 = (process.env.CUSTODY_TEST_S3_ENDPOINT ?? '') !== '';
  if (!adoptedS3 && 2 * modelBytes > CEPH_BUDGET_BYTES) {
    return `the throwaway Ceph holds at most ${CEPH_BUDGET_BYTES / GiB} GiB of models for both registries; ${(2 * modelBytes) / GiB} GiB asked (rounds × clients × MiB × 2)`;
  }
  const fs = await statfs(tmpBase);
  const need = 2 * modelBytes + (adoptedS3 ? 0 : 2 * modelBytes) + GiB;
  if (fs.bavail * fs.bsize < need) return `needs about ${(need / GiB).toFixed(1)} GiB free under ${tmpBase}`;
  return undefined;
}

async function main(): Promise<number> {
  let options: ScaleOptions;
  try {
    options = readScaleOptions(process.env);
  } catch (error) {
    process.stderr.write(`bench:scale: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const base = os.tmpdir();
  const noRoom = await checkSpace(options, base);
  if (noRoom !== undefined) {
    process.stderr.write(`bench:scale: ${noRoom}\n`);
    return 2;
  }
  const tmp = await mkdtemp(path.join(base, `custody-bench-scale-${randomBytes(3).toString('hex')}-`));
  const guard = CleanupGuard.start();
  guard.removeOnExit(tmp);
  const backends = ScaleBackends.start(guard);
  // A failed start has already stopped what it started; nothing to release then.
  const release = async (): Promise<void> => {
    killTrackedChildren();
    const started = await backends.catch(() => undefined);
    await started?.release();
    await rm(tmp, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) {
      process.stderr.write(`\n${signal} again: exiting now; PostgreSQL is stopped by the guard, Ceph may be left running\n`);
      rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    }
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the replicas, PostgreSQL and Ceph (once started) and removing ${tmp}\n`);
    void release()
      .catch((error: unknown) => {
        process.stderr.write(`bench:scale: cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
      })
      .finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let code = 0;
  try {
    await new ScaleBench(options, tmp, await backends).run();
  } catch (error) {
    if (interrupted) return 130;
    process.stderr.write(`bench:scale failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    code = 1;
  }
  if (interrupted) return 130;
  try {
    await release();
  } catch (error) {
    process.stderr.write(`bench:scale: cleanup failed: ${error instanceof Error ? error.message : String(error)}\n`);
    code = 1;
  }
  return code;
}

process.exitCode = await main();
