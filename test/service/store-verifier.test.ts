/**
 * `admin verify-store`'s checks against real stores (issue 3 item 7, SPEC §10 "insider edits the
 * database"): a registry is filled through the SDK and stopped, then its database or blob
 * directory is edited behind its back with raw SQL or file writes, and the verifier must report
 * each edit naming the log index or the record involved. Once per metadata backend.
 */
import { createHash, generateKeyPairSync } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { hashLeaf } from '../../src/log/merkle.js';
import { ed25519RawPublicKey, formatVerifierKey, parseVerifierKey } from '../../src/log/signed-note.js';
import { verifyStore, type LogVerifier, type StoreProblem, type StoreReport } from '../../src/service/store-verifier.js';
import { openMetadataStore } from '../../src/store/open-metadata-store.js';
import { rawSql, type SqlRow } from '../support/raw-sql.js';
import { deleteStoredBlob, overwriteStoredBlob } from '../support/stored-blobs.js';
import { BACKENDS, openTestBlobStore, startTestRegistry, type TestRegistry } from '../support/registry.js';

const MODELS = ['team/alpha', 'team/beta', 'lab/gamma'] as const;
/** Distinct content per model, plus one file alpha and gamma share (one blob, two references). */
const FILES: Record<(typeof MODELS)[number], Record<string, string>> = {
  'team/alpha': { 'weights.bin': 'alpha weights '.repeat(4000), 'config.json': '{"layers":2}' },
  'team/beta': { 'weights.bin': 'beta weights '.repeat(3000), 'README.md': 'beta\n' },
  'lab/gamma': { 'model.bin': 'gamma weights '.repeat(2000), 'config.json': '{"layers":2}' },
};

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

function problemAt(kind: StoreProblem['kind'], where: { index?: number; record?: string }): unknown {
  return expect.objectContaining({ kind, ...where });
}

describe.each(BACKENDS)('admin verify-store on %s', (backend) => {
  let work: string;
  const registries: TestRegistry[] = [];
  let clean: TestRegistry;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'custody-verify-store-'));
    for (const model of MODELS) {
      for (const [name, content] of Object.entries(FILES[model])) {
        await mkdir(path.join(work, model), { recursive: true });
        await writeFile(path.join(work, model, name), content);
      }
    }
    clean = await populated();
  });

  afterAll(async () => {
    for (const reg of registries.splice(0)) await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  /** A registry with the three models pushed, stopped, its storage kept. */
  async function populated(): Promise<TestRegistry> {
    const reg = await startTestRegistry(backend);
    registries.push(reg);
    const client = reg.client();
    try {
      for (const model of MODELS) await client.push(path.join(work, model), { model });
    } finally {
      client.close();
    }
    await reg.registry.stop();
    return reg;
  }

  async function verify(reg: TestRegistry, logVerifier?: LogVerifier): Promise<StoreReport> {
    const metadata = await openMetadataStore(reg.metadataSpec, reg.dataDir);
    try {
      const blobs = await openTestBlobStore(reg);
      try {
        const verifier = logVerifier ?? parseVerifierKey((await loadOrCreateLogKey(path.join(reg.dataDir, 'keys', 'log.key'), 'custody.local/log')).verifierKey);
        return await verifyStore({ metadata, blobs, logVerifier: verifier });
      } finally {
        await blobs.close();
      }
    } finally {
      await metadata.close();
    }
  }

  /** The `version.registered` entries by model. */
  async function registrations(reg: TestRegistry): Promise<Map<string, { index: number; leaf: string }>> {
    const rows = await rawSql(reg, "select idx, leaf from log_entries where type = 'version.registered' order by idx");
    return new Map(rows.map((r) => [(JSON.parse(String(r.leaf)) as { model: string }).model, { index: Number(r.idx), leaf: String(r.leaf) }]));
  }

  async function registrationOf(reg: TestRegistry, model: string): Promise<{ index: number; leaf: string }> {
    const found = (await registrations(reg)).get(model);
    if (found === undefined) throw new Error(`no registration of ${model}`);
    return found;
  }

  function kinds(report: StoreReport): string[] {
    return [...new Set(report.problems.map((p) => p.kind))].sort();
  }

  function expectEveryProblemLocated(report: StoreReport): void {
    for (const problem of report.problems) expect(problem.index !== undefined || problem.record !== undefined, problem.message).toBe(true);
  }

  it('finds no problem in the stores as the server left them', async () => {
    const report = await verify(clean);
    expect(report.problems).toEqual([]);
    expect(report.counts).toMatchObject({ logEntries: 6, checkpointSize: 6, models: 3, versions: 3, files: 6, blobs: 5 });
  });

  it('reports a checkpoint that does not verify with the given key', async () => {
    const other = ed25519RawPublicKey(generateKeyPairSync('ed25519').privateKey);
    const report = await verify(clean, parseVerifierKey(formatVerifierKey('custody.local/log', other)));
    expect(report.problems).toEqual([problemAt('checkpoint-invalid', { record: 'checkpoint 6' })]);
  });

  it('reports that signatures went unchecked without a log key, and still checks the root', async () => {
    const report = await verify(clean, { unavailable: 'no key here' });
    expect(report.problems).toEqual([problemAt('log-key-unavailable', { record: 'log key' })]);
  });

  it('names the entry whose leaf was edited in SQL', async () => {
    const reg = await populated();
    const beta = await registrationOf(reg, 'team/beta');
    const edited = beta.leaf.replace('"number":1', '"number":9');
    expect(edited).not.toBe(beta.leaf);
    await rawSql(reg, 'update log_entries set leaf = ? where idx = ?', [edited, beta.index]);
    const report = await verify(reg);
    expect(report.problems).toEqual(
      expect.arrayContaining([
        problemAt('leaf-hash-mismatch', { index: beta.index }),
        problemAt('tree-hash-mismatch', { index: beta.index }),
        problemAt('version-mismatch', { index: beta.index, record: 'team/beta@v1' }),
        problemAt('root-mismatch', { record: 'checkpoint 6' }),
      ]),
    );
    expectEveryProblemLocated(report);
  });

  it('names the entry whose leaf and leaf hash were both rewritten', async () => {
    const reg = await populated();
    const beta = await registrationOf(reg, 'team/beta');
    const edited = beta.leaf.replace(/"digest":"sha256:[0-9a-f]{64}"/, `"digest":"sha256:${'0'.repeat(64)}"`);
    expect(edited).not.toBe(beta.leaf);
    await rawSql(reg, 'update log_entries set leaf = ?, leaf_hash = ? where idx = ?', [edited, hashLeaf(Buffer.from(edited)).toString('hex'), beta.index]);
    const report = await verify(reg);
    expect(kinds(report)).toEqual(['root-mismatch', 'tree-hash-mismatch', 'version-mismatch']);
    expect(report.problems).toContainEqual(problemAt('tree-hash-mismatch', { index: beta.index }));
    expect(report.problems).toContainEqual(problemAt('version-mismatch', { index: beta.index, record: 'team/beta@v1' }));
  });

  it('names an entry whose row no longer reads back', async () => {
    const reg = await populated();
    await rawSql(reg, "update log_entries set leaf_hash = 'not hex' where idx = 1");
    const report = await verify(reg);
    expect(report.problems).toEqual([problemAt('log-entry-unreadable', { index: 1 })]);
  });

  it('names an entry whose index columns no longer match its event', async () => {
    const reg = await populated();
    const beta = await registrationOf(reg, 'team/beta');
    await rawSql(reg, "update log_entries set type = 'token.created' where idx = ?", [beta.index]);
    const report = await verify(reg);
    expect(report.problems).toEqual([problemAt('entry-columns-mismatch', { index: beta.index })]);
  });

  it('names the registration of a version deleted in SQL', async () => {
    const reg = await populated();
    const beta = await registrationOf(reg, 'team/beta');
    await rawSql(reg, "delete from aliases where namespace = 'team' and name = 'beta'");
    await rawSql(reg, "delete from version_files where version_id = (select id from versions where namespace = 'team' and name = 'beta')");
    await rawSql(reg, "delete from versions where namespace = 'team' and name = 'beta'");
    const report = await verify(reg);
    expect(report.problems).toEqual([problemAt('version-event-orphaned', { index: beta.index, record: 'team/beta@v1' })]);
  });

  it('names a deleted entry and the version it registered', async () => {
    const reg = await populated();
    const beta = await registrationOf(reg, 'team/beta');
    await rawSql(reg, 'delete from log_entries where idx = ?', [beta.index]);
    const report = await verify(reg);
    expect(kinds(report)).toEqual(['log-entry-missing', 'version-unlogged']);
    expect(report.problems).toContainEqual(problemAt('log-entry-missing', { index: beta.index }));
    expect(report.problems).toContainEqual(problemAt('version-unlogged', { record: 'team/beta@v1' }));
  });

  it('names both entries of a swapped pair, each row self-consistent', async () => {
    const reg = await populated();
    const alpha = await registrationOf(reg, 'team/alpha');
    const gamma = await registrationOf(reg, 'lab/gamma');
    const [a, g] = await Promise.all([alpha, gamma].map(async (r) => (await rawSql(reg, 'select * from log_entries where idx = ?', [r.index]))[0] as SqlRow));
    const move = async (from: SqlRow, to: number): Promise<void> => {
      await rawSql(reg, 'update log_entries set leaf = ?, leaf_hash = ?, type = ?, time = ?, namespace = ?, name = ? where idx = ?', [
        ...(['leaf', 'leaf_hash', 'type', 'time', 'namespace', 'name'] as const).map((c) => String(from[c])),
        to,
      ]);
    };
    await move(a as SqlRow, gamma.index);
    await move(g as SqlRow, alpha.index);
    const report = await verify(reg);
    expect(kinds(report)).toEqual(['root-mismatch', 'tree-hash-mismatch']);
    expect(report.problems).toContainEqual(problemAt('tree-hash-mismatch', { index: alpha.index }));
    expect(report.problems).toContainEqual(problemAt('tree-hash-mismatch', { index: gamma.index }));
  });

  it('names a version whose digest was changed in SQL', async () => {
    const reg = await populated();
    const beta = await registrationOf(reg, 'team/beta');
    await rawSql(reg, "update versions set digest = ? where namespace = 'team' and name = 'beta'", [`sha256:${'ab'.repeat(32)}`]);
    const report = await verify(reg);
    expect(kinds(report)).toEqual(['version-files-mismatch', 'version-mismatch']);
    expect(report.problems).toContainEqual(problemAt('version-mismatch', { index: beta.index, record: 'team/beta@v1' }));
    expect(report.problems).toContainEqual(problemAt('version-files-mismatch', { record: 'team/beta@v1' }));
  });

  it('names a version whose number was changed in SQL', async () => {
    const reg = await populated();
    const beta = await registrationOf(reg, 'team/beta');
    await rawSql(reg, "update versions set number = 5 where namespace = 'team' and name = 'beta'");
    const report = await verify(reg);
    expect(report.problems).toEqual([problemAt('version-mismatch', { index: beta.index, record: 'team/beta@v5' })]);
  });

  it('names a version whose file was changed in SQL', async () => {
    const reg = await populated();
    await rawSql(reg, "update version_files set size = size + 1 where version_id = (select id from versions where namespace = 'team' and name = 'beta') and path = 'README.md'");
    const report = await verify(reg);
    expect(report.problems).toEqual([problemAt('version-files-mismatch', { record: 'team/beta@v1' }), problemAt('blob-size-mismatch', { record: `sha256:${sha256('beta\n')}` })]);
  });

  it('names a corrupt blob and a missing one by digest', async () => {
    const reg = await populated();
    const corrupt = sha256(FILES['team/alpha']['weights.bin'] ?? '');
    const missing = sha256(FILES['lab/gamma']['model.bin'] ?? '');
    const bytes = Buffer.from(FILES['team/alpha']['weights.bin'] ?? '');
    bytes[100] = (bytes[100] ?? 0) ^ 0xff;
    await overwriteStoredBlob(reg, corrupt, bytes);
    await deleteStoredBlob(reg, missing);
    const report = await verify(reg);
    expect(report.problems).toHaveLength(2);
    expect(report.problems).toEqual(expect.arrayContaining([problemAt('blob-corrupt', { record: `sha256:${corrupt}` }), problemAt('blob-missing', { record: `sha256:${missing}` })]));
  });
});
