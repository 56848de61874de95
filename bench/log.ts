/**
 * `npm run bench:log` — transparency-log append rate and proof cost (SPEC §11, issue 3 item 8).
 *
 * What it measures, and why:
 * - Appends per second through the real `TransparencyLog.append` inside `store.transaction`, on
 *   SQLite (a file in the temporary directory, the product's WAL + synchronous=NORMAL settings)
 *   and on PostgreSQL (a throwaway server, see below), for three shapes: 2,000 transactions of
 *   one event (one write per request), 50 transactions of 100 events and one of 1,000 (batched
 *   writes). Events are `version.registered` events shaped like the registry's (~480 bytes of
 *   canonical JSON). Each shape runs twice; the better run is reported.
 * - The baseline, measured in the same run on the same database through the same stack: the same
 *   events serialised and inserted as the same rows into a plain table with the same indexes, one
 *   transaction per append (`log-baseline.ts`). The ratio log ÷ plain says what the log's own work
 *   costs: the log-head lock, the stored subtree hashes, a signed checkpoint per transaction and a
 *   receipt (an inclusion proof) per event.
 * - Proofs at 1,000,000 entries, on SQLite: the log is built once in transactions of 10,000
 *   events with `TransparencyLog.appendBatch` — exactly `append`'s store writes without the
 *   per-event receipts, which are computed in memory for every event and would roughly quadruple
 *   the build (CUSTODY_BENCH_LOG_BUILD=append builds with `append` instead). Then, over 1,000 random indexes: the time
 *   to produce an inclusion proof (`proveInclusion`, checkpoint and entry lookups included, as
 *   the API serves it) and to verify it (`verifyInclusion`), and the same for a consistency proof
 *   from a random older size to the latest checkpoint (`proveConsistency` / `verifyConsistency`).
 *   Baselines: one `readLogHashes` call for as many random ids as the proof has hashes (the
 *   least any stored-hash proof can cost), and as many `hashChildren` calls as the proof has
 *   hashes (the least any verification can cost). Medians and 99th percentiles are printed.
 *   Finally real `append` calls on top of the 1,000,000-entry log (one batch of 10,000 and 200
 *   single events) show the append rate at that size, and their receipts and the consistency of
 *   the new checkpoint with the built one are verified.
 * - PostgreSQL gets the same proof measurements at the size its append runs left (a few thousand
 *   entries, for context only): building 1,000,000 entries there takes several minutes more than
 *   this benchmark's budget, so the 1,000,000-entry figures are SQLite's only.
 *
 * PostgreSQL: a throwaway cluster (`test/support/postgres-server.ts`, as the test suite runs it:
 * fsync, synchronous_commit and full_page_writes off, so commits are not durable and its figures
 * are an upper bound). CUSTODY_BENCH_POSTGRES_URL=postgres://… uses an existing server instead
 * (the benchmark creates and drops a database of its own there).
 *
 * Targets (issue 3): ≥ 2,000 appended events/s on SQLite with batching; inclusion proof
 * generation at 1,000,000 entries under 2 ms. Misses are printed, never turned into a failing
 * exit code; the exit code is non-zero only when something actually broke. Everything lives in
 * one temporary directory, removed at the end, and the PostgreSQL server is stopped, also on an
 * error or Ctrl-C. CUSTODY_BENCH_LOG_ENTRIES=N builds a log of N entries instead of 1,000,000.
 */
import { createPublicKey, randomBytes, verify as verifySignature } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, statfs } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import pg from 'pg';
import { canonicalJson } from '../src/crypto/canonical-json.js';
import { verifyCheckpoint } from '../src/log/checkpoint.js';
import { loadOrCreateLogKey, type LogKey } from '../src/log/log-key.js';
import { hashChildren, hashLeaf, verifyConsistency, verifyInclusion } from '../src/log/merkle.js';
import { parseVerifierKey, type Verifier } from '../src/log/signed-note.js';
import { storedHashCount, treeRoot } from '../src/log/stored-hashes.js';
import { TransparencyLog } from '../src/service/transparency-log.js';
import type { MetadataStore } from '../src/store/metadata-store.js';
import { openMetadataStore } from '../src/store/open-metadata-store.js';
import { startPostgres, type PostgresServer } from '../test/support/postgres-server.js';
import { CleanupGuard } from './cleanup-guard.js';
import { PlainEventTable } from './log-baseline.js';
import { registrationEvent, registrationEvents, seededRandom } from './log-events.js';
import { fmtDuration, fmtInt, fmtRatio, renderTable, summarise, type Summary } from './log-stats.js';

const GiB = 1024 ** 3;
const ORIGIN = 'custody.local/log';
const RUNS = 2;
const WARMUP = 50;
const BUILD_BATCH = 10_000;
const PROOF_SAMPLES = 1000;
const CONTEXT_PROOF_SAMPLES = 300;
const SIGNATURE_SAMPLES = 200;
const SINGLE_APPENDS_AT_SIZE = 200;
const TARGET_EVENTS_PER_SECOND = 2000;
const TARGET_INCLUSION_MS = 2;
const TARGET_SIZE = 1_000_000;
/** The 1,000,000-entry SQLite file is about 1 GiB; leave room around it. */
const REQUIRED_FREE_BYTES = 4 * GiB;

interface Shape {
  readonly label: string;
  readonly transactions: number;
  readonly perTransaction: number;
}

const SHAPES: readonly Shape[] = [
  { label: '2,000 × 1', transactions: 2000, perTransaction: 1 },
  { label: '50 × 100', transactions: 50, perTransaction: 100 },
  { label: '1 × 1,000', transactions: 1, perTransaction: 1000 },
];

type Dialect = 'SQLite' | 'PostgreSQL';

interface AppendFigure {
  readonly store: string;
  readonly shape: Shape;
  readonly logMs: number;
  /** Undefined where no baseline was run (the appends at 1,000,000 entries). */
  readonly plainMs: number | undefined;
}

interface ProofFigures {
  readonly size: number;
  readonly inclusion: ProofKind;
  readonly consistency: ProofKind;
}

interface ProofKind {
  readonly generate: Summary;
  readonly verify: Summary;
  /** One readLogHashes call of as many random ids as the proof has hashes. */
  readonly readBaseline: Summary;
  /** As many hashChildren calls as the proof has hashes. */
  readonly hashBaseline: Summary;
  readonly meanProofLength: number;
}

interface BigLogFigures {
  readonly size: number;
  readonly mode: 'writes' | 'append';
  /** Time inside the build transactions (event generation excluded). */
  readonly buildMs: number;
  /** Mean time of the last build transactions (up to 10), at the end of the build. */
  readonly lastBuildTransactionMs: number;
  readonly lastBuildTransactions: number;
  readonly dbBytes: number;
  readonly proofs: ProofFigures;
  readonly signature: Summary;
  /** The bare Ed25519 verification of the same signature with a prepared key object. */
  readonly signatureBaseline: Summary;
  readonly appends: readonly AppendFigure[];
}

function say(text = ''): void {
  process.stdout.write(`${text}\n`);
}

const perSecond = (events: number, ms: number): number => events / (ms / 1000);
const hex = (text: string): Buffer => Buffer.from(text, 'hex');
const expectedLeafHash = (index: number): Buffer => hashLeaf(Buffer.from(canonicalJson(registrationEvent(index)), 'utf8'));

/** Things to release at the end, also on an error or Ctrl-C. */
class Resources {
  postgres: Promise<PostgresServer> | undefined;
  readonly #closers: (() => Promise<void>)[] = [];
  #cleaning: Promise<void> | undefined;

  constructor(
    readonly tmp: string,
    readonly guard: CleanupGuard,
  ) {
    guard.removeOnExit(tmp);
  }

  /** Registers a closer; closers run newest first, before PostgreSQL is stopped. */
  onCleanup(close: () => Promise<void>): void {
    this.#closers.push(close);
  }

  cleanup(): Promise<void> {
    this.#cleaning ??= (async () => {
      for (const close of this.#closers.reverse()) await close().catch(() => undefined);
      // A start that failed has already cleaned up after itself.
      if (this.postgres !== undefined) await this.postgres.then((server) => server.stop(), () => undefined);
      await rm(this.tmp, { recursive: true, force: true });
    })();
    return this.#cleaning;
  }
}

class LogBench {
  private key!: LogKey;
  private verifier!: Verifier;

  constructor(private readonly resources: Resources) {}

  private get tmp(): string {
    return this.resources.tmp;
  }

  async run(): Promise<void> {
    const cpus = os.cpus();
    say(`custody log benchmark — node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model ?? 'unknown'}), temp dir ${this.tmp}`);
    say(`Load average at start: ${(os.loadavg()[0] ?? 0).toFixed(2)}`);
    this.key = await loadOrCreateLogKey(path.join(this.tmp, 'log-key.pem'), ORIGIN);
    this.verifier = parseVerifierKey(this.key.verifierKey);
    const sample = canonicalJson(registrationEvent(12_345));
    say(`Log key: a fresh Ed25519 key, ${this.key.verifierKey}`);
    say(`Events: version.registered, ${Buffer.byteLength(sample)}-byte canonical JSON leaves, e.g.`);
    say(`  ${sample}`);
    const memory = new Database(':memory:');
    const sqliteVersion = memory.prepare<[], { v: string }>('select sqlite_version() as v').get()?.v ?? '?';
    memory.close();
    say(`SQLite ${sqliteVersion}: a file in the temp dir, WAL, synchronous=NORMAL (the product's settings).`);
    say();

    const appends: AppendFigure[] = [];
    const context: { label: string; figures: ProofFigures }[] = [];

    say('1. Appends, SQLite');
    const sqlite = await this.sqliteStore('appends.db');
    const sqlitePlain = await PlainEventTable.sqlite(sqlite.file);
    this.resources.onCleanup(() => sqlitePlain.close());
    appends.push(...(await this.appendSuite('SQLite', sqlite.store, sqlitePlain)));
    const sqliteContext = await this.measureProofs(sqlite.store, CONTEXT_PROOF_SAMPLES, 7);
    context.push({ label: `SQLite, ${fmtInt(sqliteContext.size)} entries`, figures: sqliteContext });
    await sqlitePlain.close();
    await sqlite.store.close();
    say();

    say('2. Appends, PostgreSQL');
    const postgres = await this.postgresStore();
    say(`   ${postgres.description}`);
    const postgresPlain = await PlainEventTable.postgres(postgres.url);
    this.resources.onCleanup(() => postgresPlain.close());
    appends.push(...(await this.appendSuite('PostgreSQL', postgres.store, postgresPlain)));
    const postgresContext = await this.measureProofs(postgres.store, CONTEXT_PROOF_SAMPLES, 7);
    context.push({ label: `PostgreSQL, ${fmtInt(postgresContext.size)} entries`, figures: postgresContext });
    await postgresPlain.close();
    await postgres.store.close();
    await postgres.release();
    say();

    const big = await this.bigLog();
    say();
    this.report(appends, big, context);
  }

  // -------------------------------------------------------------------------------------------
  // Stores
  // -------------------------------------------------------------------------------------------

  private async sqliteStore(name: string): Promise<{ store: MetadataStore; file: string }> {
    const dir = path.join(this.tmp, name.replace(/\.db$/, ''));
    await mkdir(dir, { recursive: true });
    const store = await openMetadataStore(`sqlite:${name}`, dir);
    this.resources.onCleanup(() => store.close());
    await store.migrate();
    return { store, file: path.join(dir, name) };
  }

  private async postgresStore(): Promise<{ store: MetadataStore; url: string; description: string; release: () => Promise<void> }> {
    const external = process.env['CUSTODY_BENCH_POSTGRES_URL'];
    let serverUrl: string;
    let stopServer: () => Promise<void>;
    if (external !== undefined && external !== '') {
      serverUrl = external;
      stopServer = () => Promise.resolve();
    } else {
      const started = performance.now();
      this.resources.postgres = startPostgres({
        onDirectory: (root, dataDir) => {
          this.resources.guard.stopPostgresOnExit(dataDir);
          this.resources.guard.removeOnExit(root);
        },
      });
      const server = await this.resources.postgres;
      say(`   Started a throwaway PostgreSQL in ${fmtDuration(performance.now() - started)}.`);
      serverUrl = server.url;
      stopServer = () => server.stop();
    }
    const name = `custody_bench_log_${randomBytes(4).toString('hex')}`;
    const admin = async (statement: string): Promise<string> => {
      const client = new pg.Client({ connectionString: serverUrl });
      await client.connect();
      try {
        const result = await client.query<{ v?: string }>(statement);
        return result.rows[0]?.v ?? '';
      } finally {
        await client.end();
      }
    };
    const version = await admin('select version() as v');
    await admin(`create database ${name}`);
    const dropDatabase = async (): Promise<void> => {
      await admin(`drop database if exists ${name} with (force)`);
    };
    this.resources.onCleanup(dropDatabase);
    const url = new URL(serverUrl);
    url.pathname = `/${name}`;
    const store = await openMetadataStore(url.toString(), this.tmp);
    this.resources.onCleanup(() => store.close());
    await store.migrate();
    const settings =
      external !== undefined && external !== ''
        ? 'an existing server (CUSTODY_BENCH_POSTGRES_URL)'
        : 'a throwaway cluster on 127.0.0.1 with fsync, synchronous_commit and full_page_writes off (as the tests run it): commits are not durable, so these figures are an upper bound';
    return {
      store,
      url: url.toString(),
      description: `${version.split(' on ')[0] ?? version}: ${settings}.`,
      release: async () => {
        await dropDatabase();
        await stopServer();
      },
    };
  }

  // -------------------------------------------------------------------------------------------
  // Appends
  // -------------------------------------------------------------------------------------------

  private async appendSuite(dialect: Dialect, store: MetadataStore, plain: PlainEventTable): Promise<AppendFigure[]> {
    const log = new TransparencyLog(store, this.key);
    // Warm-up: JIT, statement caches, the pool's connections.
    await this.timeLogAppends(store, log, { label: 'warm-up', transactions: WARMUP, perTransaction: 1 });
    await this.timePlainInserts(plain, { label: 'warm-up', transactions: WARMUP, perTransaction: 1 });
    const figures: AppendFigure[] = [];
    for (const shape of SHAPES) {
      const logRuns: number[] = [];
      const plainRuns: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        // better-sqlite3 is synchronous: a SQLite loop never reaches the event loop by itself, so
        // without this a Ctrl-C would wait for the end of the benchmark (here: of one timed run).
        await yieldToEventLoop();
        // Alternate the order, so a slow spell of the machine does not always hit the same side.
        if (run % 2 === 0) {
          logRuns.push(await this.timeLogAppends(store, log, shape));
          plainRuns.push(await this.timePlainInserts(plain, shape));
        } else {
          plainRuns.push(await this.timePlainInserts(plain, shape));
          logRuns.push(await this.timeLogAppends(store, log, shape));
        }
      }
      const figure = { store: dialect, shape, logMs: Math.min(...logRuns), plainMs: Math.min(...plainRuns) };
      figures.push(figure);
      const events = shape.transactions * shape.perTransaction;
      say(
        `   ${shape.label.padEnd(10)} log ${fmtInt(perSecond(events, figure.logMs)).padStart(7)} events/s (${fmtDuration(figure.logMs / shape.transactions)}/tx)` +
          `   plain ${fmtInt(perSecond(events, figure.plainMs)).padStart(7)} events/s   runs: log ${logRuns.map((ms) => fmtDuration(ms)).join(', ')}; plain ${plainRuns.map((ms) => fmtDuration(ms)).join(', ')}`,
      );
    }
    return figures;
  }

  /** Appends `shape` through the log, each batch in a transaction of its own; returns the time. */
  private async timeLogAppends(store: MetadataStore, log: TransparencyLog, shape: Shape): Promise<number> {
    const start = await store.logSize();
    // Event i sits at log index i, which the proof measurements check.
    const batches = Array.from({ length: shape.transactions }, (_, t) => registrationEvents(start + t * shape.perTransaction, shape.perTransaction));
    const started = performance.now();
    for (const batch of batches) await store.transaction((tx) => log.append(tx, batch));
    const ms = performance.now() - started;
    const size = await store.logSize();
    const expected = start + shape.transactions * shape.perTransaction;
    if (size !== expected) throw new Error(`the log has ${size} entries after appending up to ${expected}`);
    return ms;
  }

  private async timePlainInserts(plain: PlainEventTable, shape: Shape): Promise<number> {
    const start = plain.size;
    const batches = Array.from({ length: shape.transactions }, (_, t) => registrationEvents(start + t * shape.perTransaction, shape.perTransaction));
    const started = performance.now();
    for (const batch of batches) await plain.insert(batch);
    return performance.now() - started;
  }

  // -------------------------------------------------------------------------------------------
  // Proofs
  // -------------------------------------------------------------------------------------------

  /** Inclusion and consistency proofs against the latest checkpoint of `store`'s log. */
  private async measureProofs(store: MetadataStore, samples: number, seed: number): Promise<ProofFigures> {
    const log = new TransparencyLog(store, this.key);
    const latest = await log.latestCheckpoint();
    const size = latest.size;
    if (size < 2) throw new Error('proofs need a log of at least two entries');
    const root = verifyCheckpoint(latest.note, this.verifier).rootHash;
    const random = seededRandom(seed);
    const below = (n: number): number => Math.floor(random() * n);
    const hashIds = storedHashCount(size);
    const randomIds = (count: number): number[] => Array.from({ length: count }, () => below(hashIds));
    const read = (ids: readonly number[]): Promise<Buffer[]> => store.readLogHashes(ids);

    for (let i = 0; i < WARMUP; i++) {
      await log.proveInclusion(below(size));
      await log.proveConsistency(1 + below(size - 1));
      await store.readLogHashes(randomIds(20));
    }

    const inclusion = newSamples();
    for (let i = 0; i < samples; i++) {
      await yieldToEventLoop();
      const index = below(size);
      let started = performance.now();
      const answer = await log.proveInclusion(index);
      inclusion.generate.push(performance.now() - started);
      const proof = answer.proof.map(hex);
      const leafHash = hex(answer.leafHash);
      if (!leafHash.equals(expectedLeafHash(index))) throw new Error(`entry ${index} is not the event the benchmark appended there`);
      started = performance.now();
      verifyInclusion(leafHash, index, size, proof, root);
      inclusion.verify.push(performance.now() - started);
      await baselines(inclusion, proof);
    }

    const consistency = newSamples();
    for (let i = 0; i < samples; i++) {
      await yieldToEventLoop();
      const from = 1 + below(size - 1);
      const oldRoot = await treeRoot(from, read);
      let started = performance.now();
      const answer = await log.proveConsistency(from);
      consistency.generate.push(performance.now() - started);
      const proof = answer.proof.map(hex);
      started = performance.now();
      verifyConsistency(from, size, proof, oldRoot, root);
      consistency.verify.push(performance.now() - started);
      await baselines(consistency, proof);
    }

    async function baselines(into: Samples, proof: readonly Buffer[]): Promise<void> {
      into.lengths.push(proof.length);
      const ids = randomIds(proof.length);
      let started = performance.now();
      await store.readLogHashes(ids);
      into.readBaseline.push(performance.now() - started);
      started = performance.now();
      let hash = root;
      for (const sibling of proof) hash = hashChildren(hash, sibling);
      into.hashBaseline.push(performance.now() - started);
      if (hash.length !== 32) throw new Error('unreachable');
    }

    return { size, inclusion: summariseSamples(inclusion), consistency: summariseSamples(consistency) };
  }

  // -------------------------------------------------------------------------------------------
  // The 1,000,000-entry log
  // -------------------------------------------------------------------------------------------

  private async bigLog(): Promise<BigLogFigures> {
    const size = Number(process.env['CUSTODY_BENCH_LOG_ENTRIES'] ?? TARGET_SIZE);
    if (!Number.isSafeInteger(size) || size < 2) throw new Error('CUSTODY_BENCH_LOG_ENTRIES must be an integer ≥ 2');
    const mode = process.env['CUSTODY_BENCH_LOG_BUILD'] === 'append' ? 'append' : 'writes';
    say(`3. A log of ${fmtInt(size)} entries, SQLite`);
    say(
      mode === 'append'
        ? `   Building it with TransparencyLog.append in transactions of ${fmtInt(BUILD_BATCH)} (CUSTODY_BENCH_LOG_BUILD=append)…`
        : `   Building it in transactions of ${fmtInt(BUILD_BATCH)} with TransparencyLog.appendBatch (append's store writes without the per-event receipts)…`,
    );
    const { store, file } = await this.sqliteStore('big.db');
    const log = new TransparencyLog(store, this.key);
    let buildMs = 0;
    const transactionMs: number[] = [];
    const wallStarted = performance.now();
    let nextReport = size / 10;
    for (let start = 0; start < size; start += BUILD_BATCH) {
      await yieldToEventLoop();
      const events = registrationEvents(start, Math.min(BUILD_BATCH, size - start));
      const started = performance.now();
      if (mode === 'append') await store.transaction((tx) => log.append(tx, events));
      else await store.transaction((tx) => log.appendBatch(tx, events));
      transactionMs.push(performance.now() - started);
      buildMs += performance.now() - started;
      const done = start + events.length;
      if (done >= nextReport || done === size) {
        say(`   ${fmtInt(done).padStart(9)} entries  ${fmtDuration(performance.now() - wallStarted).padStart(9)}  (${fmtInt(perSecond(done, buildMs))} entries/s in transactions)`);
        nextReport += size / 10;
      }
    }
    if ((await store.logSize()) !== size) throw new Error(`the built log does not have ${size} entries`);
    const dbBytes = await fileSizes([file, `${file}-wal`]);
    say(`   Built in ${fmtDuration(buildMs)} inside transactions (${fmtDuration(performance.now() - wallStarted)} wall, event generation included); database ${(dbBytes / GiB).toFixed(2)} GiB.`);

    say(`   Proofs: ${fmtInt(PROOF_SAMPLES)} random inclusion proofs and ${fmtInt(PROOF_SAMPLES)} consistency proofs to the latest checkpoint…`);
    const built = await log.latestCheckpoint();
    const builtRoot = verifyCheckpoint(built.note, this.verifier).rootHash;
    const proofs = await this.measureProofs(store, PROOF_SAMPLES, 42);

    const signatures: number[] = [];
    const signatureBaseline: number[] = [];
    const { text, signature } = splitSignedNote(built.note);
    const publicKey = createPublicKey(this.key.privateKey);
    for (let i = 0; i < WARMUP + SIGNATURE_SAMPLES; i++) {
      let started = performance.now();
      verifyCheckpoint(built.note, this.verifier);
      const full = performance.now() - started;
      started = performance.now();
      const ok = verifySignature(null, text, publicKey, signature);
      const bare = performance.now() - started;
      if (!ok) throw new Error('the checkpoint signature does not verify with node:crypto');
      if (i >= WARMUP) {
        signatures.push(full);
        signatureBaseline.push(bare);
      }
    }

    say(`   Real appends at ${fmtInt(size)} entries: one transaction of ${fmtInt(BUILD_BATCH)} events, then ${SINGLE_APPENDS_AT_SIZE} of one event…`);
    await yieldToEventLoop();
    const batch = registrationEvents(size, BUILD_BATCH);
    let started = performance.now();
    const receipts = await store.transaction((tx) => log.append(tx, batch));
    const batchMs = performance.now() - started;
    const singles = registrationEvents(size + BUILD_BATCH, SINGLE_APPENDS_AT_SIZE);
    started = performance.now();
    for (const event of singles) await store.transaction((tx) => log.append(tx, [event]));
    const singlesMs = performance.now() - started;

    // The receipts verify, and the tree append() extended is the one the build signed.
    const receipt = receipts[Math.floor(receipts.length / 2)];
    if (receipt === undefined) throw new Error('append returned no receipts');
    const receiptRoot = verifyCheckpoint(receipt.checkpoint, this.verifier).rootHash;
    verifyInclusion(hex(receipt.leafHash), receipt.logIndex, receipt.treeSize, receipt.inclusionProof.map(hex), receiptRoot);
    const extension = await log.proveConsistency(size, receipt.treeSize);
    verifyConsistency(size, receipt.treeSize, extension.proof.map(hex), builtRoot, receiptRoot);
    say(`   A receipt of the batch verifies against its checkpoint, which is consistent with the built log's last checkpoint.`);
    await store.close();

    const at = `SQLite @ ${fmtInt(size)}`;
    return {
      size,
      mode,
      buildMs,
      lastBuildTransactionMs: transactionMs.slice(-10).reduce((sum, ms) => sum + ms, 0) / Math.min(10, transactionMs.length),
      lastBuildTransactions: Math.min(10, transactionMs.length),
      dbBytes,
      proofs,
      signature: summarise(signatures),
      signatureBaseline: summarise(signatureBaseline),
      appends: [
        { store: at, shape: { label: `1 × ${fmtInt(BUILD_BATCH)}`, transactions: 1, perTransaction: BUILD_BATCH }, logMs: batchMs, plainMs: undefined },
        { store: at, shape: { label: `${SINGLE_APPENDS_AT_SIZE} × 1`, transactions: SINGLE_APPENDS_AT_SIZE, perTransaction: 1 }, logMs: singlesMs, plainMs: undefined },
      ],
    };
  }

  // -------------------------------------------------------------------------------------------
  // Report
  // -------------------------------------------------------------------------------------------

  private report(appends: readonly AppendFigure[], big: BigLogFigures, context: readonly { label: string; figures: ProofFigures }[]): void {
    say('Summary');
    say();
    say(`Appends (events per second; part 1 and 2: best of ${RUNS} runs; plain = the same rows into a plain indexed table, same database and stack)`);
    const appendRows = [...appends, ...big.appends].map((figure) => {
      const events = figure.shape.transactions * figure.shape.perTransaction;
      const logRate = perSecond(events, figure.logMs);
      const plainRate = figure.plainMs === undefined ? undefined : perSecond(events, figure.plainMs);
      return [
        figure.store,
        figure.shape.label,
        fmtInt(logRate),
        fmtDuration(figure.logMs / figure.shape.transactions),
        plainRate === undefined ? '—' : fmtInt(plainRate),
        plainRate === undefined ? '—' : fmtRatio(logRate / plainRate),
      ];
    });
    say(renderTable(['store', 'tx × events', 'log events/s', 'log per tx', 'plain events/s', 'log ÷ plain'], appendRows));
    say();

    const proofRows: string[][] = [];
    const addProofRows = (label: string, figures: ProofFigures): void => {
      const kinds = [
        ['inclusion', figures.inclusion],
        ['consistency', figures.consistency],
      ] as const;
      for (const [name, kind] of kinds) {
        const length = kind.meanProofLength.toFixed(1);
        proofRows.push([label, `${name}: generate`, fmtDuration(kind.generate.median), fmtDuration(kind.generate.p99), `readLogHashes, ${length} ids`, fmtDuration(kind.readBaseline.median), fmtRatio(kind.generate.median / kind.readBaseline.median)]);
        proofRows.push([label, `${name}: verify`, fmtDuration(kind.verify.median), fmtDuration(kind.verify.p99), `${length} × hashChildren`, fmtDuration(kind.hashBaseline.median), fmtRatio(kind.verify.median / kind.hashBaseline.median)]);
      }
    };
    addProofRows(`SQLite @ ${fmtInt(big.size)}`, big.proofs);
    proofRows.push([
      `SQLite @ ${fmtInt(big.size)}`,
      'checkpoint: verifyCheckpoint',
      fmtDuration(big.signature.median),
      fmtDuration(big.signature.p99),
      'Ed25519 verify, key object ready',
      fmtDuration(big.signatureBaseline.median),
      fmtRatio(big.signature.median / big.signatureBaseline.median),
    ]);
    for (const { label, figures } of context) addProofRows(`${label} (context)`, figures);
    say(`Proofs (${fmtInt(PROOF_SAMPLES)} random samples at ${fmtInt(big.size)} entries, ${fmtInt(CONTEXT_PROOF_SAMPLES)} for the context rows; generate = the API's proveInclusion / proveConsistency, verify = verifyInclusion / verifyConsistency)`);
    say(renderTable(['log', 'operation', 'median', 'p99', 'baseline', 'baseline median', 'ratio (medians)'], proofRows));
    say();

    const built = big.mode === 'append' ? 'with TransparencyLog.append' : 'with TransparencyLog.appendBatch (no per-event receipts)';
    say(`Log of ${fmtInt(big.size)} entries built on SQLite ${built}, ${fmtInt(BUILD_BATCH)} per transaction: ${fmtDuration(big.buildMs)} (${fmtInt(perSecond(big.size, big.buildMs))} entries/s), ${(big.dbBytes / GiB).toFixed(2)} GiB.`);
    const realBatch = big.appends[0];
    if (big.mode === 'writes' && realBatch !== undefined) {
      const withoutReceipts = big.lastBuildTransactionMs;
      say(
        `A real append() of ${fmtInt(BUILD_BATCH)} events at that size took ${fmtDuration(realBatch.logMs)}; the last ${big.lastBuildTransactions} build transactions (the same writes without receipts) averaged ${fmtDuration(withoutReceipts)}: ` +
          `the per-event receipts (an inclusion proof per event, from one batched hash read) are about ${Math.max(0, (1 - withoutReceipts / realBatch.logMs) * 100).toFixed(0)}% of a large batch.`,
      );
    }
    say(`The ${fmtInt(big.size)}-entry figures are SQLite only: building that log on PostgreSQL does not fit the benchmark's time budget; the PostgreSQL proof rows are at the size its append runs left.`);
    say();

    say(`Load average at the end: ${(os.loadavg()[0] ?? 0).toFixed(2)} on ${os.cpus().length} CPU(s) (a loaded machine mostly shows in the p99 figures).`);
    say();
    say('Targets (issue 3; printed, not asserted)');
    const rate = (figure: AppendFigure): number => perSecond(figure.shape.transactions * figure.shape.perTransaction, figure.logMs);
    const batched = appends.filter((figure) => figure.store === 'SQLite' && figure.shape.perTransaction > 1);
    const slowest = batched.reduce<AppendFigure | undefined>((worst, figure) => (worst === undefined || rate(figure) < rate(worst) ? figure : worst), undefined);
    if (slowest !== undefined) {
      const slowestRate = rate(slowest);
      say(`  ≥ ${fmtInt(TARGET_EVENTS_PER_SECOND)} appended events/s on SQLite with batching: ${fmtInt(slowestRate)} events/s (the slower batched shape, ${slowest.shape.label}) — ${slowestRate >= TARGET_EVENTS_PER_SECOND ? 'PASS' : 'MISS'}`);
    }
    const inclusion = big.proofs.inclusion.generate;
    const verdict = (ms: number): string => (ms < TARGET_INCLUSION_MS ? 'PASS' : 'MISS');
    const sizeNote = big.size === TARGET_SIZE ? '' : ` (measured at ${fmtInt(big.size)} entries, not the target's ${fmtInt(TARGET_SIZE)})`;
    say(
      `  inclusion proof generation at ${fmtInt(TARGET_SIZE)} entries < ${TARGET_INCLUSION_MS} ms: median ${fmtDuration(inclusion.median)} — ${verdict(inclusion.median)}; p99 ${fmtDuration(inclusion.p99)} — ${verdict(inclusion.p99)}${sizeNote}`,
    );
  }
}

interface Samples {
  readonly generate: number[];
  readonly verify: number[];
  readonly readBaseline: number[];
  readonly hashBaseline: number[];
  readonly lengths: number[];
}

function newSamples(): Samples {
  return { generate: [], verify: [], readBaseline: [], hashBaseline: [], lengths: [] };
}

function summariseSamples(samples: Samples): ProofKind {
  return {
    generate: summarise(samples.generate),
    verify: summarise(samples.verify),
    readBaseline: summarise(samples.readBaseline),
    hashBaseline: summarise(samples.hashBaseline),
    meanProofLength: samples.lengths.reduce((sum, n) => sum + n, 0) / samples.lengths.length,
  };
}

/** The signed text and the raw Ed25519 signature (key ID cut off) of a one-signature note. */
function splitSignedNote(note: string): { text: Buffer; signature: Buffer } {
  const split = note.lastIndexOf('\n\n');
  const line = note.slice(split + 2).split('\n')[0] ?? '';
  const signature = Buffer.from(line.slice(line.lastIndexOf(' ') + 1), 'base64').subarray(4);
  return { text: Buffer.from(note.slice(0, split + 1), 'utf8'), signature };
}

async function fileSizes(files: readonly string[]): Promise<number> {
  let total = 0;
  for (const file of files) total += await stat(file).then((info) => info.size, () => 0);
  return total;
}

async function main(): Promise<number> {
  const base = os.tmpdir();
  const fs = await statfs(base);
  const free = fs.bavail * fs.bsize;
  if (free < REQUIRED_FREE_BYTES) {
    process.stderr.write(`bench:log needs ${REQUIRED_FREE_BYTES / GiB} GiB free under ${base} (the 1,000,000-entry SQLite log is about 1 GiB); only ${(free / GiB).toFixed(1)} GiB is free.\n`);
    return 1;
  }
  const resources = new Resources(await mkdtemp(path.join(base, `custody-bench-log-${randomBytes(3).toString('hex')}-`)), CleanupGuard.start());
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    interrupted = true;
    process.stderr.write(`\n${signal}: stopping the benchmark, PostgreSQL, and removing ${resources.tmp}\n`);
    const force = setTimeout(() => {
      rmSync(resources.tmp, { recursive: true, force: true });
      process.exit(130);
    }, 45_000);
    void resources.cleanup().finally(() => {
      clearTimeout(force);
      process.exit(130);
    });
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await new LogBench(resources).run();
    return 0;
  } catch (error) {
    // After Ctrl-C the cleanup closes the stores under the running measurement: not a failure.
    if (interrupted) return 130;
    process.stderr.write(`bench:log failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    return 1;
  } finally {
    await resources.cleanup();
  }
}

process.exitCode = await main();
