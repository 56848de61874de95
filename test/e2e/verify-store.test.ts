/**
 * `custody admin verify-store` through the built CLI, once per metadata backend: exit 0 with a
 * summary on the stores a stopped server left, exit 4 naming the entry once an event row is
 * deleted in SQL, and nothing created on the way (no data directory, no log key).
 */
import { access, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { rawSql } from '../support/raw-sql.js';
import { BACKENDS, runCli, startTestRegistry, type CliResult, type TestRegistry } from '../support/registry.js';

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

function jsonOf(result: CliResult): Record<string, unknown> {
  try {
    return JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)}):\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

describe.each(BACKENDS)('custody admin verify-store on %s', (backend) => {
  let work: string;
  let reg: TestRegistry;

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'custody-e2e-verify-store-'));
    await mkdir(path.join(work, 'model'));
    await writeFile(path.join(work, 'model', 'weights.bin'), 'weights '.repeat(10_000));
    await writeFile(path.join(work, 'model', 'config.json'), '{"layers":3}');
    reg = await startTestRegistry(backend);
    const client = reg.client();
    try {
      await client.push(path.join(work, 'model'), { model: 'team/m' });
      await client.push(path.join(work, 'model'), { model: 'team/n' });
    } finally {
      client.close();
    }
    await reg.registry.stop();
  });

  afterAll(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  function verifyStore(args: readonly string[] = [], dataDir = reg.dataDir): Promise<CliResult> {
    return runCli([...args, 'admin', 'verify-store', '--data', dataDir], { CUSTODY_STORAGE_METADATA: reg.metadataSpec, ...reg.blobs.serverEnv });
  }

  it('exits 0 with a summary on the stores the server left, and prints the report with --json', async () => {
    const human = await verifyStore();
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toContain('no problems found');
    const json = jsonOf(await verifyStore(['--json']));
    expect(json).toMatchObject({ problems: [], counts: { logEntries: 5, checkpointSize: 5, models: 2, versions: 2, blobs: 2 } });
  });

  it('creates nothing: a missing data directory is an error, a missing log key a reported problem', async () => {
    const missing = path.join(work, 'no-such-data');
    const result = await verifyStore([], missing);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('does not exist');
    expect(await exists(missing)).toBe(false);

    const keyFile = path.join(reg.dataDir, 'keys', 'log.key');
    const moved = path.join(work, 'log.key');
    await rename(keyFile, moved);
    try {
      const withoutKey = await verifyStore();
      expect(withoutKey.code).toBe(4);
      expect(withoutKey.stdout).toContain('log-key-unavailable');
      expect(await exists(keyFile)).toBe(false);
      // A pinned verifier key stands in for the key file.
      const { verifierKey } = await loadOrCreateLogKey(moved, 'custody.local/log');
      const pinned = await runCli(['admin', 'verify-store', '--data', reg.dataDir, '--log-key', verifierKey], { CUSTODY_STORAGE_METADATA: reg.metadataSpec, ...reg.blobs.serverEnv });
      expect(pinned.code, pinned.stdout + pinned.stderr).toBe(0);
    } finally {
      await rename(moved, keyFile);
    }
  });

  it('exits 4 naming the entry once an event row is deleted in SQL', async () => {
    const [row] = await rawSql(reg, "select idx from log_entries where type = 'version.registered' order by idx");
    const index = Number(row?.idx);
    await rawSql(reg, 'delete from log_entries where idx = ?', [index]);

    const human = await verifyStore();
    expect(human.code).toBe(4);
    expect(human.stdout).toContain(`log-entry-missing [entry ${index}]`);
    expect(human.stdout).toContain('version-unlogged [team/m@v1]');
    expect(human.stderr).toContain('VERIFICATION_FAILED');

    const json = await verifyStore(['--json']);
    expect(json.code).toBe(4);
    expect(jsonOf(json)).toMatchObject({
      error: { code: 'VERIFICATION_FAILED', details: { problems: expect.arrayContaining([expect.objectContaining({ kind: 'log-entry-missing', index })]) as unknown } },
    });
  });
});
