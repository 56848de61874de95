/**
 * `GET /api/v1/keys` reports for every key how many attestations it signed and when it last
 * signed one (issue 8 §1 keys page, reference/ui-screens.md §2.5), counted over the namespaces
 * the caller may read; the OpenAPI document describes both fields; `custody keys list` prints
 * them (the built CLI: run `npm run build` first).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attest, createPrincipal, pushModel, scanPredicate, type PushedVersion } from '../support/promotion-fixtures.js';
import { BACKENDS, runCli, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, SLSA, VULNS } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;

describe.each(BACKENDS)('key attestation counts on %s', (backend) => {
  let reg: TestRegistry;
  let alpha: PushedVersion;
  let beta: PushedVersion;
  let xdg: string;
  /** loggedAt of each scan, in the order made. */
  const scans: { version: PushedVersion; loggedAt: string }[] = [];
  const trainer = makeKey('trainer');
  const scanner = makeKey('scanner');
  const idle = makeKey('idle');

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    xdg = await mkdtemp(path.join(tmpdir(), 'custody-key-counts-'));
    await addKey(reg, trainer, [SLSA]);
    await addKey(reg, scanner, [VULNS]);
    await addKey(reg, idle, [VULNS]);
    alpha = await pushModel(reg, 'fraud/alpha', trainer);
    beta = await pushModel(reg, 'vision/beta', trainer);
    for (const [i, version] of [alpha, beta, alpha, alpha, beta].entries()) {
      const stored = await attest(reg, version, scanner, VULNS, { ...scanPredicate('clean'), invocation: { uri: `https://ci.example.com/scans/${i}` } });
      scans.push({ version, loggedAt: String(stored['loggedAt']) });
    }
  }, 120_000);

  afterAll(async () => {
    await reg.stop();
    await rm(xdg, { recursive: true, force: true });
  });

  const byName = (items: Json[]): Record<string, Json> => Object.fromEntries(items.map((k) => [String(k['name']), { attestationCount: k['attestationCount'], lastSignedAt: k['lastSignedAt'] }]));
  const newest = (list: readonly { loggedAt: string }[]): string => list.map((s) => s.loggedAt).sort().at(-1) ?? '';

  it('lists each key with the number of attestations it signed and the newest one\'s log time', async () => {
    const reply = await api(reg, 'GET', '/api/v1/keys');
    expect(reply.status).toBe(200);
    const provenance = await api(reg, 'GET', `/api/v1/models/${beta.model}/versions/${beta.digest}/attestations`);
    const trainerNewest = ((provenance.json['items'] as Json[]).find((a) => a['key'] === 'trainer') ?? {})['loggedAt'];
    expect(byName(reply.json['items'] as Json[])).toEqual({
      idle: { attestationCount: 0, lastSignedAt: null },
      scanner: { attestationCount: 5, lastSignedAt: newest(scans) },
      trainer: { attestationCount: 2, lastSignedAt: trainerNewest },
    });
    // The single-key read is unchanged.
    expect((await api(reg, 'GET', '/api/v1/keys/scanner')).json).not.toHaveProperty('attestationCount');
  });

  it('counts for a namespace-bound reader only the attestations on versions it may read', async () => {
    const token = await createPrincipal(reg, `vision-reader-${backend}`, 'user', [{ role: 'viewer', namespaces: ['vision'] }]);
    const reply = await api(reg, 'GET', '/api/v1/keys', undefined, token);
    expect(reply.status).toBe(200);
    expect(byName(reply.json['items'] as Json[])).toMatchObject({
      idle: { attestationCount: 0, lastSignedAt: null },
      scanner: { attestationCount: 2, lastSignedAt: newest(scans.filter((s) => s.version === beta)) },
      trainer: { attestationCount: 1 },
    });
  });

  it('describes attestationCount and lastSignedAt in the OpenAPI document', async () => {
    const doc = await api(reg, 'GET', '/api/v1/openapi.json');
    expect(doc.status).toBe(200);
    const text = JSON.stringify((doc.json['paths'] as Json)['/api/v1/keys']);
    expect(text).toContain('"attestationCount"');
    expect(text).toContain('"lastSignedAt"');
  });

  it('prints the counts in custody keys list', async () => {
    const env = { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token, XDG_CONFIG_HOME: xdg };
    const result = await runCli(['keys', 'list'], env);
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/ attestations +last signed +status$/);
    const line = (name: string): string => lines.find((l) => l.startsWith(`${name} `)) ?? '';
    expect(line('scanner')).toMatch(new RegExp(` 5 +${newest(scans).replaceAll('.', '\\.')} +active$`));
    expect(line('idle')).toMatch(/ 0 +never +active$/);
  });
});
