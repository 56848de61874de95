/**
 * `npm run bench:ui` — how long the web UI's pages take to render (issue 8 acceptance: "pages
 * render in under 100 ms server time for a model with 200 versions and 50 attestations on a
 * version", printed by a benchmark, not asserted; the pages are reference/ui-screens.md's).
 *
 * What it does, and why:
 * - Starts the real registry (`custody serve`, a child process) on SQLite and a blob directory in
 *   a temporary data directory, with `provenance.requireAtEntry` off (plain versions need no
 *   provenance) and otherwise the default rules.
 * - Sets up `ui-scenario.ts`: the seed's staging and production policies active, one model with
 *   200 versions whose newest carries 50 attestations signed by registered keys and is promoted
 *   into staging and production.
 * - Signs in through the sign-in form with the admin's API token and keeps the session cookie
 *   (`ui-browser.ts`), as a browser does.
 * - Times N requests (default 50, after 5 warm-ups) of each page — `/models`, the model page, the
 *   version page, `/policy`, `/keys`, a key's page, the version's lineage graph (depth 2; the
 *   scenario's versions have no parents, so this times the page and ELK on a small graph),
 *   `/audit`, `/log/explorer` — and, as baselines in the same
 *   run, `GET /healthz` and the API's read of the same version (`GET /api/v1/models/…/versions/
 *   {digest}`, bearer token). Rounds are interleaved (each round requests every target once, the
 *   starting target rotating), so a burst of load on a shared machine does not land on one page
 *   only. "Server time" is the client's wall clock over loopback (the body read), with the
 *   server's CPU per request from /proc beside it.
 * - A page that answers 404 in its first warm-up is skipped (pages are still being added); any
 *   other status than 200, a non-HTML page, or a page without the data it is about stops the
 *   benchmark with a non-zero exit. A missed target does not: it is printed as NOT MET.
 *
 * Options: --versions N (200), --attestations N (50), --requests N (50), --warmups N (5). The
 * temporary directory is removed at the end, also on an error or Ctrl-C.
 */
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateApiToken } from '../src/auth/api-token.js';
import { AttestationSet } from './attestation-set.js';
import { killTrackedChildren } from './child-tracker.js';
import { CleanupGuard } from './cleanup-guard.js';
import { summariseLatencies } from './latency-summary.js';
import { fmtDuration } from './log-stats.js';
import { RegistryApi } from './registry-api.js';
import { RequestCpuMeter } from './request-cpu-meter.js';
import { ServerProcess } from './server-process.js';
import { timedGet, UiBrowser, type PageReply } from './ui-browser.js';
import { printUiReport, type TargetFigures } from './ui-report.js';
import { setUpUiScenario, type UiScenario } from './ui-scenario.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(REPO_ROOT, 'bin', 'custody.js');
const POLICIES = path.join(REPO_ROOT, 'examples', 'policies');
const IDLE_KEYS = 16;

interface Options {
  readonly versions: number;
  readonly attestations: number;
  readonly requests: number;
  readonly warmups: number;
}

/** One thing the benchmark requests: a page of the UI or a baseline. */
interface Target {
  readonly label: string;
  readonly kind: 'page' | 'baseline';
  readonly get: () => Promise<PageReply>;
  /** Text the reply must contain (the data the page is about), if any. */
  readonly mustContain?: string;
}

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

function parseOptions(argv: readonly string[]): Options {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      versions: { type: 'string', default: '200' },
      attestations: { type: 'string', default: '50' },
      requests: { type: 'string', default: '50' },
      warmups: { type: 'string', default: '5' },
    },
    strict: true,
  });
  const count = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new Error(`--${name} must be an integer from ${min} to ${max}`);
    return n;
  };
  return {
    versions: count('versions', values.versions, 1, 100_000),
    attestations: count('attestations', values.attestations, 20, 1_000),
    requests: count('requests', values.requests, 1, 100_000),
    warmups: count('warmups', values.warmups, 1, 1_000),
  };
}

function targetsFor(scenario: UiScenario, browser: UiBrowser, api: RegistryApi, adminToken: string): Target[] {
  const model = `/models/${scenario.namespace}/${scenario.name}`;
  const version = `${model}/versions/${scenario.digest}`;
  // Labels name the version `{digest}`: the scenario line of the report prints it.
  const short = (route: string): string => route.replace(scenario.digest, '{digest}');
  const page = (pagePath: string, mustContain?: string): Target => ({ label: short(pagePath), kind: 'page', get: () => browser.get(pagePath), ...(mustContain === undefined ? {} : { mustContain }) });
  const apiRead = `/api/v1${version}`;
  return [
    page('/models', `${scenario.namespace}/${scenario.name}`),
    page(model, `v${scenario.versionNumber}`),
    page(version, scenario.digest),
    page('/policy', scenario.policies[0]?.digest),
    page('/keys', 'training-cluster'),
    page('/keys/training-cluster', 'BEGIN PUBLIC KEY'),
    page(`${version}/lineage?depth=2&dir=both`, scenario.digest),
    page('/audit'),
    page('/log/explorer'),
    { label: '/healthz', kind: 'baseline', get: () => timedGet(`${api.baseUrl}/healthz`, {}) },
    { label: short(apiRead), kind: 'baseline', get: () => timedGet(`${api.baseUrl}${apiRead}`, { authorization: `Bearer ${adminToken}` }), mustContain: scenario.digest },
  ];
}

/** Throws unless `reply` is the 200 the target should answer (HTML for a page, with its data). */
function checkReply(target: Target, reply: PageReply): void {
  if (reply.status !== 200) throw new Error(`GET ${target.label} answered ${reply.status}: ${reply.body.slice(0, 300)}`);
  if (target.kind === 'page' && !reply.contentType.startsWith('text/html')) throw new Error(`GET ${target.label} answered ${reply.contentType}, not HTML`);
  if (target.mustContain !== undefined && !reply.body.includes(target.mustContain)) throw new Error(`GET ${target.label} does not show ${target.mustContain}`);
}

async function measure(server: ServerProcess, targets: readonly Target[], options: Options): Promise<{ figures: TargetFigures[]; skipped: string[] }> {
  const skipped: string[] = [];
  const active: Target[] = [];
  // The first warm-up: which pages this build serves.
  for (const target of targets) {
    const reply = await target.get();
    if (reply.status === 404 && target.kind === 'page') {
      skipped.push(target.label);
      continue;
    }
    checkReply(target, reply);
    active.push(target);
  }
  for (let round = 1; round < options.warmups; round++) for (const target of active) checkReply(target, await target.get());
  const meter = new RequestCpuMeter<string>(server.pid);
  const samples = new Map<string, number[]>(active.map((t) => [t.label, []]));
  const bytes = new Map<string, number>();
  for (let round = 0; round < options.requests; round++) {
    for (let i = 0; i < active.length; i++) {
      const target = active[(round + i) % active.length];
      if (target === undefined) continue;
      const reply = await meter.around(target.label, () => target.get());
      checkReply(target, reply);
      samples.get(target.label)?.push(reply.ms);
      bytes.set(target.label, Buffer.byteLength(reply.body));
    }
  }
  if (!server.running) throw new Error(`the server died during the measurement: ${server.stderr()}`);
  const figures = active.map((t) => ({
    label: t.label,
    kind: t.kind,
    latency: summariseLatencies(samples.get(t.label) ?? []),
    serverCpuMs: meter.perRequest(t.label, options.requests),
    bytes: bytes.get(t.label) ?? 0,
  }));
  return { figures, skipped };
}

async function run(options: Options, tmp: string): Promise<void> {
  const cpus = os.cpus();
  say(`custody web UI benchmark — node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model ?? 'unknown'}), temp dir ${tmp}`);
  say(`Load average at start: ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
  say('== SQLite (a file in the data directory) + blob directory');
  const adminToken = generateApiToken();
  const server = await ServerProcess.start({ cliPath: CLI, dataDir: path.join(tmp, 'data'), bootstrapToken: adminToken });
  try {
    const api = new RegistryApi(server.url);
    const started = performance.now();
    const attestations = await AttestationSet.create(REPO_ROOT, IDLE_KEYS);
    const scenario = await setUpUiScenario(api, adminToken, attestations, POLICIES, options, (line) => {
      say(`  ${line}`);
    });
    say(`  set up in ${fmtDuration(performance.now() - started)}`);
    const browser = await UiBrowser.signIn(server.url, adminToken);
    say('  signed in through POST /sign-in as the bootstrap admin; requests carry the session cookie');
    const { figures, skipped } = await measure(server, targetsFor(scenario, browser, api, adminToken), options);
    say();
    printUiReport(
      {
        scenario: `SQLite; model ${scenario.namespace}/${scenario.name} with ${options.versions} versions, v${scenario.versionNumber} ({digest} = ${scenario.digest}) carrying ${scenario.attestations} attestations and promoted into staging and production; ${scenario.policies.length} policies active (examples/policies)`,
        requests: options.requests,
        warmups: options.warmups,
        targets: figures,
        apiRead: `/api/v1/models/${scenario.namespace}/${scenario.name}/versions/{digest}`,
        skipped,
      },
      say,
    );
  } finally {
    await server.stop();
  }
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench:ui: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'custody-bench-ui-'));
  const guard = CleanupGuard.start();
  guard.removeOnExit(tmp);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the server and removing ${tmp}\n`);
    killTrackedChildren();
    rmSync(tmp, { recursive: true, force: true });
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await run(options, tmp);
    return 0;
  } catch (error) {
    if (interrupted) return 130;
    process.stderr.write(`bench:ui failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    killTrackedChildren();
    await rm(tmp, { recursive: true, force: true });
  }
}

process.exitCode = await main();
