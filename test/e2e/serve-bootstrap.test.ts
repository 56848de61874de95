/**
 * `custody serve` as an operator meets it: the first start creates the admin and shows its
 * token exactly once (never in the structured log); a restart shows none; a bad configuration
 * stops the server with a message naming the key; logs are JSON lines.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH } from '../support/registry.js';

interface Served {
  readonly stdout: string;
  readonly stderr: string;
  readonly code: number | null;
}

/** Runs `custody serve` until it listens (then SIGTERM) or exits by itself. */
function serveOnce(args: readonly string[], env: Record<string, string> = {}, probe?: (url: string, stderrSoFar: string) => Promise<void>): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', '0', ...args], {
      env: { ...process.env, CUSTODY_BOOTSTRAP_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let probing = false;
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
      const url = /custody listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url !== undefined && !probing) {
        probing = true;
        (probe ?? (() => Promise.resolve()))(url, stderr).then(
          () => child.kill('SIGTERM'),
          (error: unknown) => {
            child.kill('SIGKILL');
            reject(error instanceof Error ? error : new Error(String(error)));
          },
        );
      }
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      resolve({ stdout, stderr, code });
    });
  });
}

describe('custody serve', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'custody-serve-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('shows the admin token once on first start, never in the log, and it works', async () => {
    const data = path.join(dir, 'data');
    let status = 0;
    const first = await serveOnce(['--data', data], {}, async (url, stderr) => {
      const shown = /^\s+(custody_[A-Za-z0-9_-]{43})$/m.exec(stderr)?.[1] ?? '';
      status = (await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${shown}` } })).status;
    });
    const token = /^\s+(custody_[A-Za-z0-9_-]{43})$/m.exec(first.stderr)?.[1];
    expect(token).toBeDefined();
    expect(first.code).toBe(0);
    expect(status).toBe(200);
    expect(first.stdout).not.toContain(token);
    for (const line of first.stdout.trim().split('\n')) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect(first.stdout).toContain('"msg":"custody listening"');

    const second = await serveOnce(['--data', data]);
    expect(second.code).toBe(0);
    expect(second.stderr).not.toMatch(/custody_[A-Za-z0-9_-]{43}/);
  });

  it('uses CUSTODY_BOOTSTRAP_TOKEN without printing it', async () => {
    const token = 'operator-chosen-bootstrap-token-0123456789';
    let status = 0;
    const served = await serveOnce(['--data', path.join(dir, 'chosen')], { CUSTODY_BOOTSTRAP_TOKEN: token }, async (url) => {
      status = (await fetch(`${url}/api/v1/whoami`, { headers: { authorization: `Bearer ${token}` } })).status;
    });
    expect(status).toBe(200);
    expect(served.stderr + served.stdout).not.toContain(token);
  });

  it('stops with a message naming an unknown configuration key', async () => {
    const file = path.join(dir, 'bad.yaml');
    await writeFile(file, 'storage:\n  metadata: sqlite:custody.db\n  blobstore: file:blobs\n');
    const served = await serveOnce(['--data', path.join(dir, 'bad'), '--config', file]);
    expect(served.code).toBe(1);
    expect(served.stderr).toContain('storage.blobstore');
    expect(served.stderr).toContain('CONFIG_INVALID');
  });

  it('stops with a message naming a bad environment override', async () => {
    const served = await serveOnce(['--data', path.join(dir, 'badenv')], { CUSTODY_STORAGE_METADATA: 'mysql://x' });
    expect(served.code).toBe(1);
    expect(served.stderr).toContain('storage.metadata');
  });
});
