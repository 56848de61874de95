/**
 * The CLI as a log client (SPEC §5, §10 "insider edits the database"): it pins the log key and
 * the newest checkpoint it verified, and fails with exit code 4, naming what did not verify, when
 * the registry later shows a log rebuilt with other history, rolled back, signed by another key,
 * or edited in the database.
 */
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generateKeyPairSync } from 'node:crypto';
import { formatVerifierKey, ed25519RawPublicKey } from '../../src/log/signed-note.js';
import { runCli, startTestRegistry, type CliResult, type TestRegistry } from '../support/registry.js';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no port'));
        else resolve(address.port);
      });
    });
  });
}

describe('the CLI as a log client', () => {
  let work: string;
  const registries: TestRegistry[] = [];

  beforeEach(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'custody-log-client-'));
    await mkdir(path.join(work, 'model'));
  });

  afterEach(async () => {
    for (const reg of registries.splice(0)) await reg.stop();
    await rm(work, { recursive: true, force: true });
  });

  async function start(options: { port?: number } = {}): Promise<TestRegistry> {
    const reg = await startTestRegistry('sqlite', options.port === undefined ? {} : { server: { port: options.port } });
    registries.push(reg);
    return reg;
  }

  function cli(reg: TestRegistry, args: readonly string[], xdg = path.join(work, 'xdg')): Promise<CliResult> {
    return runCli(args, { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token, XDG_CONFIG_HOME: xdg });
  }

  async function push(reg: TestRegistry, model: string, content: string): Promise<void> {
    await writeFile(path.join(work, 'model', 'w.bin'), content);
    const result = await cli(reg, ['push', path.join(work, 'model'), '--model', model, '--quiet']);
    expect(result.code, result.stderr).toBe(0);
  }

  it('pins the key on login and verifies each pull against it', async () => {
    const reg = await start();
    await push(reg, 'team/m', 'v1');
    const login = await cli(reg, ['login', '--json']);
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toContain('trusting the log key');
    const pull = await cli(reg, ['pull', 'team/m@v1', '-o', path.join(work, 'out'), '--json']);
    expect(pull.code, pull.stderr).toBe(0);
    expect(JSON.parse(pull.stdout)).toMatchObject({ verified: true, log: { logIndex: 3 } });
    expect((await cli(reg, ['log', 'verify', '--full'])).code).toBe(0);
    expect((await cli(reg, ['log', 'checkpoint'])).code).toBe(0);
    const prove = await cli(reg, ['log', 'prove', '3', '--json']);
    expect(prove.code, prove.stderr).toBe(0);
    expect(JSON.parse(prove.stdout)).toMatchObject({ index: 3, verified: true });
    const audit = await cli(reg, ['audit', '--model', 'team/m', '--type', 'version.registered', '--json']);
    expect(audit.code, audit.stderr).toBe(0);
    expect(JSON.parse(audit.stdout)).toMatchObject({ items: [{ index: 3, event: { type: 'version.registered', model: 'team/m', number: 1 } }] });
    const newestFirst = JSON.parse((await cli(reg, ['audit', '--json'])).stdout) as { items: { index: number }[] };
    expect(newestFirst.items.map((i) => i.index)).toEqual([3, 2, 1, 0]);
  });

  it('refuses a checkpoint signed by another key than the one given', async () => {
    const reg = await start();
    await push(reg, 'team/m', 'v1');
    const { privateKey } = generateKeyPairSync('ed25519');
    const otherKey = formatVerifierKey('custody.local/log', ed25519RawPublicKey(privateKey));
    const pull = await cli(reg, ['pull', 'team/m@v1', '-o', path.join(work, 'out'), '--log-key', otherKey], path.join(work, 'fresh-xdg'));
    expect(pull.code).toBe(4);
    expect(pull.stderr).toContain('not signed by the pinned log key');
    const checkpoint = await cli(reg, ['log', 'checkpoint', '--log-key', otherKey], path.join(work, 'fresh-xdg-2'));
    expect(checkpoint.code).toBe(4);
  });

  it('detects a log rolled back and a log rebuilt from scratch with other history under the same key', async () => {
    const port = await freePort();
    const original = await start({ port });
    await push(original, 'team/m', 'v1');
    await push(original, 'team/m', 'v2');
    expect((await cli(original, ['login'])).code).toBe(0); // pins key + checkpoint of 5 entries
    await original.registry.stop();

    // Same URL, same log key, other history (its bootstrap events carry other times).
    const keyCopy = path.join(work, 'stolen-key');
    await mkdir(keyCopy, { mode: 0o700 });
    await copyFile(path.join(original.dataDir, 'keys', 'log.key'), path.join(keyCopy, 'log.key'));
    const rebuilt = await startTestRegistry('sqlite', { server: { port }, keys: { log: `file:${path.join(keyCopy, 'log.key')}` } });
    registries.push(rebuilt);

    const rolledBack = await cli(rebuilt, ['log', 'verify']);
    expect(rolledBack.code).toBe(4);
    expect(rolledBack.stderr).toContain('rolled back');

    for (const v of ['a', 'b', 'c']) await push(rebuilt, 'team/other', v);
    const rewritten = await cli(rebuilt, ['log', 'verify']);
    expect(rewritten.code).toBe(4);
    expect(rewritten.stderr).toContain('rewritten');
    const pull = await cli(rebuilt, ['pull', 'team/other@v1', '-o', path.join(work, 'out')]);
    expect(pull.code).toBe(4);
  });

  it.each([
    ['a deleted event', 'delete from log_entries where idx = 2', 'entry bundle 0 holds'],
    [
      'a swapped pair of events',
      `update log_entries set leaf = (select leaf from log_entries o where o.idx = case log_entries.idx when 1 then 2 else 1 end),
         leaf_hash = (select leaf_hash from log_entries o where o.idx = case log_entries.idx when 1 then 2 else 1 end) where idx in (1, 2)`,
      'recompute to root',
    ],
    ['an edited version row', `update versions set digest = 'sha256:${'ab'.repeat(32)}' where number = 1`, 'is served with digest'],
  ])('detects %s with log verify --full (exit 4)', async (_what, statement, message) => {
    const reg = await start();
    await push(reg, 'team/m', 'v1');
    expect((await cli(reg, ['login'])).code).toBe(0);
    expect((await cli(reg, ['log', 'verify', '--full'])).code).toBe(0);
    const db = new Database(path.join(reg.dataDir, 'custody.db'));
    try {
      expect(db.prepare(statement).run().changes).toBeGreaterThan(0);
    } finally {
      db.close();
    }
    const verify = await cli(reg, ['log', 'verify', '--full']);
    expect(verify.code, verify.stderr).toBe(4);
    expect(verify.stderr).toContain(message);
  });

  it('detects an event edited in the database: log verify --full and pull both fail', async () => {
    const reg = await start();
    await push(reg, 'team/m', 'v1');
    expect((await cli(reg, ['login'])).code).toBe(0);
    const db = new Database(path.join(reg.dataDir, 'custody.db'));
    try {
      const row = db.prepare('select leaf from log_entries where idx = 3').get() as { leaf: string };
      const edited = row.leaf.replace('"number":1', '"number":7');
      expect(edited).not.toBe(row.leaf);
      db.prepare('update log_entries set leaf = ? where idx = 3').run(edited);
    } finally {
      db.close();
    }
    const verify = await cli(reg, ['log', 'verify', '--full']);
    expect(verify.code).toBe(4);
    expect(verify.stderr).toContain('recompute to root');
    const pull = await cli(reg, ['pull', 'team/m@v1', '-o', path.join(work, 'out')]);
    expect(pull.code).toBe(4);
    expect(pull.stderr).toContain('log entry 3');
  });
});
