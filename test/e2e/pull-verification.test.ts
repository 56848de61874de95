/**
 * `pull` trusts nothing it did not verify (SPEC §10, "re-point metadata", "insider edits the
 * database"): a blob altered on the server's disk, or a file list altered in the metadata
 * database, makes the pull fail with VERIFICATION_FAILED (CLI exit code 4) and leaves neither
 * the target nor any temporary file behind.
 */
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CustodyError } from '../../src/domain/errors.js';
import { runCli, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { overwriteStoredBlob } from '../support/stored-blobs.js';

describe('pull verification against a tampered registry', () => {
  let reg: TestRegistry;
  let work: string;

  beforeEach(async () => {
    reg = await startTestRegistry('sqlite');
    work = await mkdtemp(path.join(tmpdir(), 'custody-pull-verify-'));
    await mkdir(path.join(work, 'model', 'sub'), { recursive: true });
    await writeFile(path.join(work, 'model', 'weights.bin'), Buffer.alloc(4096, 7));
    await writeFile(path.join(work, 'model', 'sub', 'config.json'), '{"layers": 3}');
    const client = reg.client();
    try {
      await client.push(path.join(work, 'model'), { model: 'team/m' });
    } finally {
      client.close();
    }
  });

  afterEach(async () => {
    await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function pullFails(): Promise<CustodyError> {
    const client = reg.client();
    try {
      await client.pull('team/m@v1', { output: path.join(work, 'out') });
    } catch (error) {
      if (error instanceof CustodyError) return error;
      throw error;
    } finally {
      client.close();
    }
    throw new Error('pull succeeded against a tampered registry');
  }

  async function expectNothingWritten(): Promise<void> {
    expect((await readdir(work)).sort()).toEqual(['model']);
  }

  it('refuses a blob whose bytes were changed on the server, naming the file, and writes nothing', async () => {
    const client = reg.client();
    const version = await client.getVersion('team/m@v1');
    client.close();
    const weights = version.files.find((f) => f.path === 'weights.bin');
    if (weights === undefined) throw new Error('weights.bin missing from the manifest');
    const hex = weights.digest.slice('sha256:'.length);
    await overwriteStoredBlob(reg, hex, Buffer.alloc(4096, 8)); // same size, other bytes

    const error = await pullFails();
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.message).toContain('weights.bin');
    await expectNothingWritten();

    const cli = await runCli(['pull', 'team/m@v1', '-o', path.join(work, 'out')], { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token });
    expect(cli.code).toBe(4);
    expect(cli.stderr).toContain('VERIFICATION_FAILED');
    await expectNothingWritten();
  });

  it('refuses a file list edited in the metadata database before fetching a byte', async () => {
    const db = new Database(path.join(reg.dataDir, 'custody.db'));
    try {
      // An insider points the manifest entry at other (but existing) content of the same size.
      const changed = db.prepare("update version_files set path = 'weights.pkl' where path = 'weights.bin'").run();
      expect(changed.changes).toBe(1);
    } finally {
      db.close();
    }
    const error = await pullFails();
    expect(error.code).toBe('VERIFICATION_FAILED');
    expect(error.message).toMatch(/hashes to sha256:[0-9a-f]{64}, not to the version digest/);
    await expectNothingWritten();
  });
});
