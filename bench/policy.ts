/**
 * `npm run bench:policy` — promotion decisions per second and the latency of one decision
 * (SPEC §6.1, §11; issue 6 acceptance: p99 of one decision under 20 ms on SQLite, printed, not
 * asserted).
 *
 * What it does, and why:
 * - Starts the real registry (`custody serve`, a child process) on SQLite and a blob directory in
 *   a temporary data directory — with `--postgres` (or CUSTODY_BENCH_POSTGRES=postgres://…) once
 *   more on PostgreSQL. The server runs with its default promotion rules: only a `service`
 *   principal promotes into production and the production policy needs a second policy admin,
 *   so the benchmark sets those principals up rather than relaxing the rules.
 * - Registers the seed's four signer keys, four more pipeline signers and idle keys; activates
 *   `examples/policies/staging.yaml` and `production.yaml` (the seed's four gates); registers
 *   versions each carrying 20 attestations (the four the production policy requires, valid, and
 *   16 others of varied predicate types by other registered keys) and promotes each into staging.
 *   Every version is of its own model, so all of them sit in staging at once (`requireFrom`).
 * - Sequential: for each of N versions (default 200, after 10 warm-up versions), one client
 *   promotes it into production over HTTP and times the request (client wall clock, body read).
 *   Around it, in the same iteration and on the same version, the in-run baselines: a plain
 *   authenticated read of the version (`GET …/versions/{digest}`, the same principal) and a
 *   decision into `development`, which has no policy and no baseline (the same transaction,
 *   input reads, log append, decision row and VSA, with nothing to check). Interleaving keeps a
 *   burst of load on a shared machine from landing on one kind only. The server's CPU time per
 *   request kind comes from /proc between requests.
 * - Concurrent: C clients (default 8) promote M more versions (default 100, distinct models)
 *   into production at once; decisions per second = M ÷ wall time.
 * - Every decision must allow (and carry a VSA): a denial or an error stops the benchmark with a
 *   non-zero exit. A missed target does not: it is printed as NOT MET.
 * - `--profile` runs the server under `--cpu-prof` and prints where the decisions spent their CPU
 *   (inclusive time of the promotion's steps, then self time); profiling slows everything a little.
 *
 * Options: --versions N, --clients C, --concurrent-versions M, --postgres, --profile
 * [--profile-dir DIR to keep the profiles]. The temporary directory (and the PostgreSQL cluster) are removed at the end, also
 * on an error or Ctrl-C.
 */
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateApiToken } from '../src/auth/api-token.js';
import { ATTESTATIONS_PER_VERSION, AttestationSet } from './attestation-set.js';
import { killTrackedChildren } from './child-tracker.js';
import { CleanupGuard } from './cleanup-guard.js';
import { formatProfileSpans, monotonicMicros, summariseProfileSpans, type TimeWindow } from './cpu-profile-spans.js';
import { cpuDelta, processCpuTimes } from './cpu-time.js';
import { summariseLatencies, type LatencySummary } from './latency-summary.js';
import { fmtDuration, fmtInt } from './log-stats.js';
import { PolicyBenchDatabase } from './policy-bench-database.js';
import { printPolicyReport, type RequestKind, type StoreFigures } from './policy-report.js';
import { PROMOTER, PromotionSetup, type StagedVersion } from './promotion-setup.js';
import { RegistryApi } from './registry-api.js';
import { cpuMillis, RequestCpuMeter } from './request-cpu-meter.js';
import { ServerProcess } from './server-process.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO_ROOT, 'bin', 'custody.js');
const POLICIES = path.join(REPO_ROOT, 'examples', 'policies');
const WARMUP_VERSIONS = 10;
/** Clients that register and stage versions at once during set-up (not measured). */
const SETUP_CLIENTS = 4;
const IDLE_KEYS = 16;

interface Options {
  readonly versions: number;
  readonly clients: number;
  /** Versions the concurrent clients promote. */
  readonly concurrentVersions: number;
  /** A server URL, `throwaway` for a cluster of the benchmark's own, or undefined: SQLite only. */
  readonly postgresUrl: string | undefined;
  readonly profileDir: string | undefined;
}

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      versions: { type: 'string', default: '200' },
      clients: { type: 'string', default: '8' },
      'concurrent-versions': { type: 'string', default: '100' },
      postgres: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'profile-dir': { type: 'string' },
    },
    strict: true,
  });
  const count = (name: string, text: string, max: number): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be an integer from 1 to ${max}`);
    return n;
  };
  const external = process.env['CUSTODY_BENCH_POSTGRES'] ?? process.env['CUSTODY_BENCH_POSTGRES_URL'];
  const postgresUrl = external !== undefined && external !== '' ? external : values.postgres ? 'throwaway' : undefined;
  const keep = values['profile-dir'];
  const profileDir = keep !== undefined ? path.resolve(keep) : values.profile ? '' : undefined;
  return {
    versions: count('versions', values.versions, 10_000),
    clients: count('clients', values.clients, 256),
    concurrentVersions: count('concurrent-versions', values['concurrent-versions'], 10_000),
    postgresUrl,
    profileDir,
  };
}


class PolicyBench {
  constructor(
    private readonly options: Options,
    private readonly tmp: string,
    private readonly database: PolicyBenchDatabase,
  ) {}

  async run(): Promise<void> {
    const cpus = os.cpus();
    const { versions, clients, concurrentVersions } = this.options;
    say(`custody policy benchmark — node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model ?? 'unknown'}), temp dir ${this.tmp}`);
    say(`Load average at start: ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
    say(`N = ${fmtInt(versions)} versions promoted sequentially (after ${WARMUP_VERSIONS} warm-up versions) and ${fmtInt(concurrentVersions)} more by ${clients} concurrent clients; ${ATTESTATIONS_PER_VERSION} attestations per version.`);
    say(`Server rules: defaults — only a service principal (${PROMOTER}) promotes into production; the production policy is approved by a second policy admin.`);
    say();
    const figures: StoreFigures[] = [];
    figures.push(await this.runStore('SQLite', undefined));
    if (this.options.postgresUrl !== undefined) {
      const url = await this.database.create(this.options.postgresUrl, say);
      figures.push(await this.runStore('PostgreSQL', url));
    }
    printPolicyReport(figures, { clients, profiled: this.options.profileDir !== undefined }, say);
  }

  private async runStore(store: string, metadataUrl: string | undefined): Promise<StoreFigures> {
    const { versions, clients, concurrentVersions } = this.options;
    say(`== ${store}${metadataUrl === undefined ? ' (a file in the data directory) + blob directory' : ' + blob directory'}`);
    const dataDir = path.join(this.tmp, `${store.toLowerCase()}-data`);
    const profileDir = this.options.profileDir === undefined ? undefined : path.join(this.options.profileDir === '' ? path.join(this.tmp, 'profiles') : this.options.profileDir, store.toLowerCase());
    if (profileDir !== undefined) {
      await rm(profileDir, { recursive: true, force: true });
      await mkdir(profileDir, { recursive: true });
    }
    const adminToken = generateApiToken();
    // ServerProcess passes this process's environment on: CUSTODY_STORAGE_METADATA is how the
    // server is pointed at PostgreSQL (a config key's environment override).
    const inherited = process.env['CUSTODY_STORAGE_METADATA'];
    if (metadataUrl === undefined) delete process.env['CUSTODY_STORAGE_METADATA'];
    else process.env['CUSTODY_STORAGE_METADATA'] = metadataUrl;
    let server: ServerProcess;
    try {
      server = await ServerProcess.start({ cliPath: CLI, dataDir, bootstrapToken: adminToken, ...(profileDir === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] }) });
    } finally {
      if (inherited === undefined) delete process.env['CUSTODY_STORAGE_METADATA'];
      else process.env['CUSTODY_STORAGE_METADATA'] = inherited;
    }
    let result: StoreFigures;
    /** When each sequential production decision was in flight (for the profile). */
    const decisionWindows: TimeWindow[] = [];
    try {
      const api = new RegistryApi(server.url);
      const started = performance.now();
      const setupCpuBefore = await processCpuTimes(server.pid);
      const attestations = await AttestationSet.create(REPO_ROOT, IDLE_KEYS);
      const setup = await PromotionSetup.prepare(api, adminToken, attestations);
      const policies = [await setup.activatePolicy(path.join(POLICIES, 'staging.yaml')), await setup.activatePolicy(path.join(POLICIES, 'production.yaml'))];
      for (const p of policies) say(`  policy ${p.environment} #${p.number} active, ${p.digest} (proposed by ${p.proposedBy}${p.approvedBy === null ? '' : `, approved by ${p.approvedBy}`})`);
      say(`  ${attestations.registrations().length} signer keys registered; staging ${WARMUP_VERSIONS + versions + concurrentVersions} versions (${ATTESTATIONS_PER_VERSION} attestations each, then a promotion into staging)…`);
      const warmup = await this.stage(setup, 'bench/warmup', WARMUP_VERSIONS, 0);
      const sequential = await this.stage(setup, 'bench/sequential', versions, WARMUP_VERSIONS);
      const concurrent = await this.stage(setup, 'bench/concurrent', concurrentVersions, WARMUP_VERSIONS + versions);
      await this.checkAttestationCount(api, setup.promoterToken, sequential[0]);
      const setupMs = performance.now() - started;
      const setupCpu = cpuMillis(cpuDelta(setupCpuBefore, await processCpuTimes(server.pid)));
      const staged = WARMUP_VERSIONS + versions + concurrentVersions;
      say(`  set up in ${fmtDuration(setupMs)}${setupCpu === undefined ? '' : `; server CPU ${fmtDuration(setupCpu)}, ${fmtDuration(setupCpu / staged)} per version (registration with ${ATTESTATIONS_PER_VERSION} attestations + staging decision)`}`);

      const meter = new RequestCpuMeter<RequestKind>(server.pid);
      for (const version of warmup) await this.iteration(api, setup, version, meter);
      const warm = new RequestCpuMeter<RequestKind>(server.pid);
      const samples: Record<RequestKind, number[]> = { decision: [], read: [], empty: [] };
      say(`  sequential: ${fmtInt(versions)} × (read, production decision, development decision)…`);
      for (const version of sequential) {
        const ms = await this.iteration(api, setup, version, warm, decisionWindows);
        for (const kind of ['decision', 'read', 'empty'] as const) samples[kind].push(ms[kind]);
      }
      say(`  concurrent: ${clients} clients, ${fmtInt(concurrentVersions)} production decisions…`);
      const cpuBefore = await processCpuTimes(server.pid);
      const concurrentRun = await this.concurrentDecisions(setup, concurrent, clients);
      const concurrentCpu = cpuMillis(cpuDelta(cpuBefore, await processCpuTimes(server.pid)));
      result = {
        store,
        setupMs,
        stagedVersions: staged,
        latency: { decision: summariseLatencies(samples.decision), read: summariseLatencies(samples.read), empty: summariseLatencies(samples.empty) },
        serverCpuMs: { decision: warm.perRequest('decision', versions), read: warm.perRequest('read', versions), empty: warm.perRequest('empty', versions) },
        concurrent: { ...concurrentRun, serverCpuMs: concurrentCpu === undefined ? undefined : concurrentCpu / concurrentVersions },
      };
    } finally {
      await server.stop();
    }
    if (profileDir !== undefined) {
      const spans = await summariseProfileSpans(profileDir, REPO_ROOT, decisionWindows);
      say(formatProfileSpans(`  where the server's time went while the ${fmtInt(versions)} sequential production decisions were in flight (${store}; per thread)`, spans, versions));
      if (this.options.profileDir !== '') say(`  profiles kept in ${profileDir}`);
    }
    await rm(dataDir, { recursive: true, force: true });
    say();
    return result;
  }

  /** Registers and stages `count` versions, each of its own model, with a few clients at once. */
  private async stage(setup: PromotionSetup, prefix: string, count: number, offset: number): Promise<StagedVersion[]> {
    const out: StagedVersion[] = [];
    let next = 0;
    const client = async (): Promise<void> => {
      for (let i = next++; i < count; i = next++) out[i] = await setup.stageVersion(`${prefix}-${String(i + 1).padStart(5, '0')}`, offset + i);
    };
    await Promise.all(Array.from({ length: Math.min(SETUP_CLIENTS, count) }, client));
    return out;
  }

  /** The registry holds all 20 attestations of a version (none was dropped as a duplicate). */
  private async checkAttestationCount(api: RegistryApi, token: string, version: StagedVersion | undefined): Promise<void> {
    if (version === undefined) return;
    const reply = await api.expect(200, token, 'GET', `/api/v1/models/${version.model}/versions/${version.digest}/attestations`);
    const items = reply.json['items'];
    const count = Array.isArray(items) ? items.length : 0;
    if (count !== ATTESTATIONS_PER_VERSION) throw new Error(`${version.model} holds ${count} attestations, not ${ATTESTATIONS_PER_VERSION}`);
  }

  /** The baseline read, the production decision and the empty-policy decision of one version. */
  private async iteration(api: RegistryApi, setup: PromotionSetup, version: StagedVersion, meter: RequestCpuMeter<RequestKind>, windows?: TimeWindow[]): Promise<Record<RequestKind, number>> {
    const read = await meter.around('read', () => api.expect(200, setup.promoterToken, 'GET', `/api/v1/models/${version.model}/versions/${version.digest}`));
    const startUs = monotonicMicros();
    const decision = await meter.around('decision', () => setup.promote(version.model, version.digest, 'production'));
    windows?.push({ startUs, endUs: monotonicMicros() });
    const empty = await meter.around('empty', () => setup.promote(version.model, version.digest, 'development'));
    return { read: read.ms, decision: decision.ms, empty: empty.ms };
  }

  private async concurrentDecisions(setup: PromotionSetup, versions: readonly StagedVersion[], clients: number): Promise<{ latency: LatencySummary; wallMs: number }> {
    let next = 0;
    const samples: number[] = [];
    const client = async (): Promise<void> => {
      for (let i = next++; i < versions.length; i = next++) {
        const version = versions[i];
        if (version === undefined) break;
        samples.push((await setup.promote(version.model, version.digest, 'production')).ms);
      }
    };
    const started = performance.now();
    await Promise.all(Array.from({ length: clients }, client));
    return { latency: summariseLatencies(samples), wallMs: performance.now() - started };
  }
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench:policy: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'custody-bench-policy-'));
  const guard = CleanupGuard.start();
  guard.removeOnExit(tmp);
  const database = new PolicyBenchDatabase(guard);
  const cleanup = async (): Promise<void> => {
    killTrackedChildren();
    await database.release();
    await rm(tmp, { recursive: true, force: true });
  };
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the server and removing ${tmp}\n`);
    const force = setTimeout(() => {
      rmSync(tmp, { recursive: true, force: true });
      process.exit(130);
    }, 45_000);
    void cleanup().finally(() => {
      clearTimeout(force);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await new PolicyBench(options, tmp, database).run();
    return 0;
  } catch (error) {
    if (interrupted) return 130;
    process.stderr.write(`bench:policy failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    await cleanup();
  }
}

process.exitCode = await main();
