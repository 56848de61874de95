/**
 * Identity and access through the built `custody` CLI, once per metadata backend (SPEC §7, §8,
 * issue 5): the admin creates a user principal, grants it `data-scientist` in one namespace and
 * mints its tokens; with such a token `whoami` shows the binding and `model:push`, a push into
 * its namespace works while a push elsewhere, `keys add` and `roles grant` exit 5; tokens are
 * listed without secrets, revoked tokens and the tokens of a disabled principal exit 5; bad
 * `--expires` values are usage errors (exit 2); a taken name, an unknown principal and an
 * untrusted OIDC issuer fail with their codes. Run `npm run build` first.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS, runCli, startTestRegistry, type CliResult, type TestRegistry } from '../support/registry.js';

const TIMEOUT = 120_000;
const DAY_MS = 86_400_000;

type Json = Record<string, unknown>;

function ok(result: CliResult): CliResult {
  if (result.code !== 0) throw new Error(`custody exited ${String(result.code)}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  return result;
}

/** The one JSON document a `--json` run printed (also for failures: `{error: …}`). */
function json(result: CliResult): Json {
  try {
    return JSON.parse(result.stdout) as Json;
  } catch {
    throw new Error(`not JSON (exit ${String(result.code)})\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
  }
}

function items(result: CliResult): Json[] {
  return json(ok(result)).items as Json[];
}

describe.each(BACKENDS)('principals, tokens, roles and whoami through the CLI on %s', (backend) => {
  let reg: TestRegistry | undefined;
  let work = '';
  let adminEnv: Record<string, string> = {};
  /** alice's tokens, once created: the one for the happy path and a narrowed one. */
  let aliceToken = '';
  let aliceTokenId = '';
  let narrowToken = '';
  let bindingId = '';

  const admin = (...args: string[]): Promise<CliResult> => runCli(args, adminEnv);
  const as = (token: string, ...args: string[]): Promise<CliResult> => {
    if (token === '') throw new Error('the token was not created (an earlier test failed)');
    return runCli(args, { ...adminEnv, CUSTODY_TOKEN: token });
  };

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
    work = await mkdtemp(path.join(tmpdir(), `custody-access-cli-${backend}-`));
    adminEnv = { CUSTODY_SERVER: reg.url, CUSTODY_TOKEN: reg.token, XDG_CONFIG_HOME: path.join(work, 'xdg') };
    await mkdir(path.join(work, 'model'));
    await writeFile(path.join(work, 'model', 'weights.bin'), `weights for ${backend}`);
    await writeFile(path.join(work, 'model', 'config.json'), '{"layers":2}');
    ok(await admin('keygen', '--out', path.join(work, 'signer'), '--quiet'));
  }, TIMEOUT);

  afterAll(async () => {
    try {
      await reg?.stop();
    } finally {
      if (work !== '') await rm(work, { recursive: true, force: true });
    }
  });

  it('the admin creates a user, grants it data-scientist in one namespace and mints a 1-day token printed alone on stdout', async () => {
    const created = ok(await admin('principals', 'create', 'alice', '--kind', 'user'));
    expect(created.stdout).toContain('created principal alice (user)');
    expect(created.stdout).toMatch(/logged: entry \d+ \(principal\.created\)/);

    const granted = json(ok(await admin('--json', 'roles', 'grant', 'data-scientist', '--principal', 'alice', '--namespaces', 'acme')));
    expect(granted).toMatchObject({ principal: 'alice', role: 'data-scientist', namespaces: ['acme'], environments: null, condition: null, revokedAt: null });
    expect(granted.receipt).toMatchObject({ logIndex: expect.any(Number) as number });
    bindingId = String(granted.id);

    const before = Date.now();
    const minted = ok(await admin('tokens', 'create', '--principal', 'alice', '--expires', '1d', '--name', 'laptop'));
    const lines = minted.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    aliceToken = lines[0] ?? '';
    expect(aliceToken.length).toBeGreaterThanOrEqual(32);
    expect(minted.stderr).toMatch(/WARNING: the token is shown this once/);
    expect(minted.stderr).toMatch(/logged: entry \d+ \(token\.created\)/);
    expect(minted.stderr).not.toContain(aliceToken);

    const [listed] = items(await admin('--json', 'tokens', 'list', '--principal', 'alice'));
    expect(listed).toMatchObject({ principal: 'alice', name: 'laptop', status: 'active', permissions: null, revokedAt: null });
    aliceTokenId = String(listed?.id);
    const expires = Date.parse(String(listed?.expiresAt));
    expect(expires).toBeGreaterThanOrEqual(before + DAY_MS - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + DAY_MS + 1000);
  }, TIMEOUT);

  it('with that token, whoami shows the principal, the scoped binding, model:push and no narrowing', async () => {
    const human = ok(await as(aliceToken, 'whoami'));
    expect(human.stdout).toMatch(/principal: +alice \(user\), authenticated by API token/);
    const row = human.stdout.split('\n').find((l) => l.includes(bindingId));
    expect(row).toMatch(new RegExp(`${bindingId} +data-scientist +acme +\\* +- +yes`));
    expect(human.stdout).toMatch(/permissions: model:push, model:read/);
    expect(human.stdout).toContain('token:       not narrowed');

    const me = json(ok(await as(aliceToken, '--json', 'whoami')));
    expect(me).toEqual({
      name: 'alice',
      kind: 'user',
      via: 'token',
      roles: ['data-scientist'],
      bindings: [{ id: bindingId, role: 'data-scientist', namespaces: ['acme'], environments: null, condition: null, applies: true }],
      permissions: ['model:push', 'model:read'],
      tokenPermissions: null,
    });
  }, TIMEOUT);

  it('the data scientist pushes into its namespace, but a push elsewhere, keys add and roles grant exit 5', async () => {
    const pushed = json(ok(await as(aliceToken, '--json', 'push', path.join(work, 'model'), '--model', 'acme/fraud')));
    expect(pushed).toMatchObject({ number: 1 });

    const elsewhere = await as(aliceToken, '--json', 'push', path.join(work, 'model'), '--model', 'other/fraud');
    expect(elsewhere.code).toBe(5);
    expect(json(elsewhere)).toMatchObject({ error: { code: 'FORBIDDEN' } });

    expect((await as(aliceToken, 'keys', 'add', 'rogue', '--public-key', path.join(work, 'signer.pub'), '--predicate-types', 'https://slsa.dev/provenance/v1')).code).toBe(5);
    expect((await as(aliceToken, 'roles', 'grant', 'admin', '--principal', 'alice')).code).toBe(5);
    expect((await as(aliceToken, 'principals', 'list')).code).toBe(5);
    // The admin's view is unchanged: nothing was granted.
    expect(items(await admin('--json', 'roles', 'list', '--principal', 'alice')).map((b) => b.role)).toEqual(['data-scientist']);
  }, TIMEOUT);

  it('a token narrowed to model:read shows its narrowing in whoami and cannot push', async () => {
    const minted = json(ok(await admin('--json', 'tokens', 'create', '--principal', 'alice', '--permissions', 'model:read', '--name', 'read-only', '--expires', 'never')));
    expect(minted).toMatchObject({ principal: 'alice', name: 'read-only', permissions: ['model:read'], expiresAt: null, status: 'active' });
    expect(minted.receipt).toMatchObject({ logIndex: expect.any(Number) as number });
    narrowToken = String(minted.token);

    const human = ok(await as(narrowToken, 'whoami'));
    expect(human.stdout).toContain('token:       narrowed to model:read');
    expect(human.stdout).toMatch(/permissions: model:read\n/);
    expect((await as(narrowToken, 'push', path.join(work, 'model'), '--model', 'acme/other')).code).toBe(5);
  }, TIMEOUT);

  it('tokens list shows the tokens and never a secret', async () => {
    const human = ok(await admin('tokens', 'list', '--principal', 'alice'));
    expect(human.stdout).toMatch(/^id +principal +name +status +created +expires +permissions/);
    expect(human.stdout).toContain(aliceTokenId);
    expect(human.stdout).toMatch(/read-only +active .* never +model:read/);
    expect(human.stdout).not.toContain(aliceToken);
    expect(human.stdout).not.toContain(narrowToken);

    const machine = await admin('--json', 'tokens', 'list');
    expect(machine.stdout).not.toContain(aliceToken);
    expect(machine.stdout).not.toContain(narrowToken);
    for (const token of items(machine)) expect(token).not.toHaveProperty('token');
  }, TIMEOUT);

  it('tokens revoke logs the revocation and the token is refused from then on', async () => {
    const revoked = ok(await admin('tokens', 'revoke', aliceTokenId));
    expect(revoked.stdout).toContain(`revoked token ${aliceTokenId} (laptop) of alice`);
    expect(revoked.stdout).toMatch(/logged: entry \d+ \(token\.revoked\)/);
    expect((await as(aliceToken, 'whoami')).code).toBe(5);
    expect(items(await admin('--json', 'tokens', 'list', '--principal', 'alice')).find((t) => t.id === aliceTokenId)).toMatchObject({ status: 'revoked' });
    // A second revocation is a conflict, an unknown id is not found.
    expect((await admin('tokens', 'revoke', aliceTokenId)).code).toBe(1);
    expect((await admin('tokens', 'revoke', 'A'.repeat(22))).code).toBe(6);
  }, TIMEOUT);

  it('roles list and roles revoke: the revoked binding is gone and its permissions with it', async () => {
    const listed = ok(await admin('roles', 'list'));
    expect(listed.stdout).toMatch(/^id +principal +role +namespaces +environments +condition/);
    expect(listed.stdout).toMatch(new RegExp(`${bindingId} +alice +data-scientist +acme +\\* +-`));
    expect(listed.stdout).toMatch(/ admin +admin +\* +\* +-/);

    const revoked = ok(await admin('roles', 'revoke', bindingId));
    expect(revoked.stdout).toContain(`revoked binding ${bindingId}: data-scientist of alice`);
    expect(revoked.stdout).toMatch(/logged: entry \d+ \(binding\.revoked\)/);
    expect(items(await admin('--json', 'roles', 'list', '--principal', 'alice'))).toEqual([]);
    const me = json(ok(await as(narrowToken, '--json', 'whoami')));
    expect(me).toMatchObject({ bindings: [], permissions: [] });
    expect((await admin('roles', 'revoke', 'B'.repeat(22))).code).toBe(6);
  }, TIMEOUT);

  it('principals disable stops the principal\'s other tokens; principals list marks it', async () => {
    ok(await as(narrowToken, 'whoami'));
    const disabled = ok(await admin('principals', 'disable', 'alice'));
    expect(disabled.stdout).toContain('disabled principal alice (user)');
    expect(disabled.stdout).toMatch(/logged: entry \d+ \(principal\.disabled\)/);
    expect((await as(narrowToken, 'whoami')).code).toBe(5);

    const listed = ok(await admin('principals', 'list'));
    expect(listed.stdout).toMatch(/^alice +user +DISABLED \(/m);
    expect(listed.stdout).toMatch(/^admin +user +active /m);
    expect((await admin('principals', 'disable', 'nobody')).code).toBe(6);
  }, TIMEOUT);

  it('--expires takes only a lifetime, never or an RFC 3339 time; anything else exits 2 before any request', async () => {
    ok(await admin('principals', 'create', 'bob', '--kind', 'user'));
    // Every spelling is covered in test/cli/token-expiry.test.ts; here, that the CLI stops before any request.
    for (const bad of ['bogus', '0d', '2026-02-30T00:00:00Z']) {
      const result = await admin('tokens', 'create', '--principal', 'bob', '--expires', bad);
      expect(result.code, bad).toBe(2);
      expect(result.stdout, bad).toBe('');
    }
    expect(items(await admin('--json', 'tokens', 'list', '--principal', 'bob'))).toEqual([]);

    const at = new Date(Date.now() + 2 * DAY_MS).toISOString().replace(/\.\d+Z$/, 'Z');
    expect(json(ok(await admin('--json', 'tokens', 'create', '--principal', 'bob', '--expires', at)))).toMatchObject({ expiresAt: at.replace('Z', '.000Z') });
    expect(json(ok(await admin('--json', 'tokens', 'create', '--principal', 'bob', '--expires', '90m'))).expiresAt).toEqual(expect.any(String));
  }, TIMEOUT);

  it('a taken name exits 1 with PRINCIPAL_EXISTS, a token for an unknown principal exits 6, half an OIDC identity exits 2', async () => {
    const taken = await admin('--json', 'principals', 'create', 'bob', '--kind', 'service');
    expect(taken.code).toBe(1);
    expect(json(taken)).toMatchObject({ error: { code: 'PRINCIPAL_EXISTS' } });

    const unknown = await admin('--json', 'tokens', 'create', '--principal', 'nobody');
    expect(unknown.code).toBe(6);
    expect(json(unknown)).toMatchObject({ error: { code: 'PRINCIPAL_NOT_FOUND' } });

    expect((await admin('principals', 'create', 'ci', '--kind', 'service', '--oidc-issuer', 'https://token.actions.githubusercontent.com')).code).toBe(2);
    expect((await admin('principals', 'create', 'ci', '--kind', 'service', '--oidc-subject', 'repo:acme/fraud:ref:refs/heads/main')).code).toBe(2);
    expect((await admin('principals', 'create', 'ci', '--kind', 'robot')).code).toBe(2);
    expect((await admin('roles', 'grant', 'viewer', '--principal', 'bob', '--namespaces', ' , ')).code).toBe(2);
  }, TIMEOUT);

  it('a service principal for an issuer the server does not trust exits 1 naming oidc.issuer', async () => {
    const result = await admin('--json', 'principals', 'create', 'ci', '--kind', 'service', '--oidc-issuer', 'https://untrusted.example', '--oidc-subject', 'repo:acme/fraud');
    expect(result.code).toBe(1);
    expect(json(result)).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: { field: 'oidc.issuer' } } });
    expect(result.stderr).toContain('oidc.issuers');
    expect(items(await admin('--json', 'principals', 'list')).map((p) => p.name)).not.toContain('ci');

    const plain = json(ok(await admin('--json', 'principals', 'create', 'ci', '--kind', 'service')));
    expect(plain).toMatchObject({ name: 'ci', kind: 'service', disabledAt: null, oidc: null });
  }, TIMEOUT);
});
