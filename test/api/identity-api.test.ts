/**
 * Identity and access management over real HTTP on SQLite and PostgreSQL (SPEC §7; issue 5 §1,
 * §2, §4, §5, §7): every principal, token and binding change returns a receipt whose event is in
 * the log and carries no secret; tokens are listed without secrets and can be narrowed; no one
 * grants what they lack; bindings are validated; the registry never loses its last admin; the
 * seed's rule keeps users out of the last environment; namespace-limited readers see only their
 * namespaces, blobs included.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiToken } from '../../src/auth/api-token.js';
import { BUILT_IN_ROLES } from '../../src/auth/permissions.js';
import { systemClock } from '../../src/domain/clock.js';
import { isCustodyError } from '../../src/domain/errors.js';
import { verifyCheckpoint } from '../../src/log/checkpoint.js';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { verifyInclusion } from '../../src/log/merkle.js';
import { parseVerifierKey } from '../../src/log/signed-note.js';
import { silentLogger } from '../../src/observability/logger.js';
import { AuthService } from '../../src/service/auth-service.js';
import { TransparencyLog } from '../../src/service/transparency-log.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { makeKey, register, SLSA, uploadRandomModel } from '../support/trust-fixtures.js';

type Json = Record<string, unknown>;

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly json: Json;
}

interface Receipt {
  readonly logIndex: number;
  readonly leafHash: string;
  readonly treeSize: number;
  readonly inclusionProof: string[];
  readonly checkpoint: string;
}

const ENVIRONMENTS = ['development', 'staging', 'production'];

async function call(reg: TestRegistry, method: string, route: string, body?: unknown, token: string = reg.token): Promise<Reply> {
  const res = await fetch(`${reg.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: Json = {};
  try {
    json = JSON.parse(text) as Json;
  } catch {
    // a blob or an empty body
  }
  return { status: res.status, text, json };
}

/** Calls the API and expects `status`, returning the JSON body. */
async function expectStatus(reg: TestRegistry, status: number, method: string, route: string, body?: unknown, token?: string): Promise<Json> {
  const res = await call(reg, method, route, body, token);
  expect(res.status, `${method} ${route}: ${res.text}`).toBe(status);
  return res.json;
}

/** An AuthService over the running registry's store, as its composition root builds one. */
async function authServiceOf(reg: TestRegistry, lastEnvironmentServiceOnly: boolean): Promise<AuthService> {
  const logKey = await loadOrCreateLogKey(path.join(reg.dataDir, 'keys', 'log.key'), 'custody.local/log');
  const log = new TransparencyLog(reg.registry.metadata, logKey);
  return new AuthService(reg.registry.metadata, systemClock, log, { environments: ENVIRONMENTS, lastEnvironmentServiceOnly }, undefined, silentLogger);
}

/** What `run` throws, or undefined. */
function thrown(run: () => void): unknown {
  try {
    run();
    return undefined;
  } catch (error) {
    return error;
  }
}

/** The code of what `run` throws, or 'allowed'. */
function outcome(run: () => void): string {
  const error = thrown(run);
  if (error === undefined) return 'allowed';
  return isCustodyError(error) ? error.code : 'other error';
}

describe.each(BACKENDS)('identity API (%s)', (backend) => {
  let reg: TestRegistry;
  /** Every token secret handed out, to look for where it must not be. */
  const secrets: string[] = [];

  const principal = (name: string, kind: 'user' | 'service' = 'user'): Promise<Json> => expectStatus(reg, 201, 'POST', '/api/v1/principals', { name, kind });
  const grant = (name: string, role: string, scope: Json = {}, token?: string): Promise<Json> =>
    expectStatus(reg, 201, 'POST', '/api/v1/bindings', { principal: name, role, ...scope }, token);
  const tokenFor = async (name: string, extra: Json = {}, token?: string): Promise<string> => {
    const created = await expectStatus(reg, 201, 'POST', '/api/v1/tokens', { principal: name, ...extra }, token);
    const secret = created.token;
    expect(typeof secret).toBe('string');
    secrets.push(secret as string);
    return secret as string;
  };
  const whoami = (token: string): Promise<Json> => expectStatus(reg, 200, 'GET', '/api/v1/whoami', undefined, token);

  /** Checks the receipt's proof against the signed checkpoint, and finds its event in the audit feed. */
  async function expectLogged(receipt: unknown, type: string, fields: Json): Promise<void> {
    const r = receipt as Receipt;
    const { verifierKey } = (await expectStatus(reg, 200, 'GET', '/api/v1/log/key')) as { verifierKey: string };
    const checkpoint = verifyCheckpoint(r.checkpoint, parseVerifierKey(verifierKey));
    expect(Number(checkpoint.size)).toBe(r.treeSize);
    const hex = (h: string): Buffer => Buffer.from(h, 'hex');
    verifyInclusion(hex(r.leafHash), r.logIndex, r.treeSize, r.inclusionProof.map(hex), checkpoint.rootHash);
    const feed = await expectStatus(reg, 200, 'GET', `/api/v1/audit?type=${type}&limit=1000`);
    const item = (feed.items as { index: number; leafHash: string; event: Json }[]).find((i) => i.index === r.logIndex);
    expect(item?.leafHash).toBe(r.leafHash);
    expect(item?.event).toMatchObject({ type, actor: { principal: 'admin' }, ...fields });
  }

  beforeAll(async () => {
    reg = await startTestRegistry(backend);
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('returns a receipt for every change whose event is in the log, and no event holds a token secret or its hash', async () => {
    const created = await principal('alice');
    await expectLogged(created.receipt, 'principal.created', { principal: 'alice', kind: 'user' });
    const granted = await grant('alice', 'data-scientist', { namespaces: ['acme'], environments: ['development'] });
    await expectLogged(granted.receipt, 'binding.granted', { principal: 'alice', role: 'data-scientist', namespaces: ['acme'], environments: ['development'] });
    const token = await expectStatus(reg, 201, 'POST', '/api/v1/tokens', { principal: 'alice', name: 'laptop' });
    secrets.push(String(token.token));
    await expectLogged(token.receipt, 'token.created', { principal: 'alice', token: token.id, name: 'laptop' });
    expect((await whoami(String(token.token))).name).toBe('alice');
    const revokedToken = await expectStatus(reg, 200, 'POST', `/api/v1/tokens/${String(token.id)}/revoke`);
    await expectLogged(revokedToken.receipt, 'token.revoked', { principal: 'alice', token: token.id });
    expect((await call(reg, 'GET', '/api/v1/whoami', undefined, String(token.token))).status).toBe(401);
    const revokedBinding = await expectStatus(reg, 200, 'POST', `/api/v1/bindings/${String(granted.id)}/revoke`);
    await expectLogged(revokedBinding.receipt, 'binding.revoked', { principal: 'alice', binding: granted.id });
    const disabled = await expectStatus(reg, 200, 'POST', '/api/v1/principals/alice/disable');
    await expectLogged(disabled.receipt, 'principal.disabled', { principal: 'alice' });
    // Undoing twice is a conflict, not a second event.
    expect((await expectStatus(reg, 409, 'POST', '/api/v1/principals/alice/disable')).code).toBe('CONFLICT');
    expect((await expectStatus(reg, 409, 'POST', `/api/v1/tokens/${String(token.id)}/revoke`)).code).toBe('CONFLICT');

    const feed = await call(reg, 'GET', '/api/v1/audit?limit=1000');
    expect((feed.json.items as unknown[]).length).toBeGreaterThanOrEqual(9);
    for (const secret of [...secrets, reg.token]) {
      expect(feed.text).not.toContain(secret);
      expect(feed.text).not.toContain(hashApiToken(secret));
    }
  });

  it('lists tokens without their secrets or hashes', async () => {
    await principal('lister');
    await grant('lister', 'viewer');
    const secret = await tokenFor('lister', { name: 'ci' });
    const list = await call(reg, 'GET', '/api/v1/tokens');
    expect(list.status).toBe(200);
    const items = list.json.items as Json[];
    expect(items.find((t) => t.principal === 'lister')).toMatchObject({ name: 'ci', status: 'active', permissions: null });
    expect(items.find((t) => t.principal === 'alice')).toMatchObject({ status: 'revoked' });
    for (const item of items) expect(Object.keys(item).sort()).toEqual(['createdAt', 'expiresAt', 'id', 'name', 'permissions', 'principal', 'revokedAt', 'status']);
    for (const s of [...secrets, secret, reg.token]) {
      expect(list.text).not.toContain(s);
      expect(list.text).not.toContain(hashApiToken(s));
    }
  });

  it('narrows a token to some of its principal’s permissions, and refuses to narrow it to one it lacks', async () => {
    await principal('dana');
    await grant('dana', 'data-scientist', { namespaces: ['acme'] });
    const full = await tokenFor('dana');
    const readOnly = await tokenFor('dana', { permissions: ['model:read'] });
    expect(await whoami(readOnly)).toMatchObject({ name: 'dana', permissions: ['model:read'], tokenPermissions: ['model:read'] });

    const uploaded = await uploadRandomModel(reg);
    expect((await register(reg, 'acme/fraud', uploaded, {}, full)).status).toBe(201);
    expect((await register(reg, 'other/fraud', uploaded, {}, full)).json.code).toBe('FORBIDDEN');
    expect((await expectStatus(reg, 200, 'GET', '/api/v1/models/acme/fraud/versions', undefined, readOnly)).items).toHaveLength(1);
    const push = await register(reg, 'acme/fraud2', uploaded, {}, readOnly);
    expect([push.status, push.json.code]).toEqual([403, 'FORBIDDEN']);
    expect((await expectStatus(reg, 403, 'POST', '/api/v1/blobs/missing', { digests: [uploaded.digest] }, readOnly)).code).toBe('FORBIDDEN');

    const lacking = await expectStatus(reg, 400, 'POST', '/api/v1/tokens', { principal: 'dana', permissions: ['model:read', 'key:manage'] });
    expect(lacking).toMatchObject({ code: 'VALIDATION_FAILED', field: 'permissions' });
    expect(String(lacking.detail)).toContain('key:manage');
    expect((await expectStatus(reg, 400, 'POST', '/api/v1/tokens', { principal: 'dana', permissions: ['model:delete'] })).code).toBe('VALIDATION_FAILED');
  });

  it('never applies a conditional binding to an API token, even a condition that holds without claims', async () => {
    await principal('gina');
    await grant('gina', 'viewer', { condition: '!has(claims.ref)' });
    const token = await tokenFor('gina');
    const me = await whoami(token);
    expect(me).toMatchObject({ name: 'gina', roles: [], permissions: [] });
    expect(me.bindings).toMatchObject([{ role: 'viewer', condition: '!has(claims.ref)', applies: false }]);
    expect((await expectStatus(reg, 403, 'GET', '/api/v1/models', undefined, token)).code).toBe('FORBIDDEN');
  });

  it('lets no one grant what they lack: an admin token narrowed to principal:manage cannot confer roles or full tokens', async () => {
    const manageOnly = await tokenFor('admin', { permissions: ['principal:manage'] });
    expect((await expectStatus(reg, 200, 'GET', '/api/v1/principals', undefined, manageOnly)).items).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'admin' }), expect.objectContaining({ name: 'dana' })]),
    );
    await expectStatus(reg, 201, 'POST', '/api/v1/principals', { name: 'erin', kind: 'user' }, manageOnly);
    const escalate = await expectStatus(reg, 403, 'POST', '/api/v1/bindings', { principal: 'erin', role: 'data-scientist' }, manageOnly);
    expect(escalate).toMatchObject({ code: 'FORBIDDEN', permission: 'model:read' });
    expect((await expectStatus(reg, 403, 'POST', '/api/v1/tokens', { principal: 'dana' }, manageOnly)).code).toBe('FORBIDDEN');
    expect((await expectStatus(reg, 403, 'POST', '/api/v1/tokens', { principal: 'dana', permissions: ['model:read'] }, manageOnly)).code).toBe('FORBIDDEN');
    expect((await expectStatus(reg, 200, 'GET', '/api/v1/bindings?principal=erin')).items).toEqual([]);
    // The unrestricted admin token may.
    await grant('erin', 'data-scientist');
  });

  it('gives a key admin keys but neither role grants nor promotion', async () => {
    await principal('kim');
    await grant('kim', 'key-admin');
    const kim = await tokenFor('kim');
    const key = makeKey('kims-key');
    await expectStatus(reg, 201, 'POST', '/api/v1/keys', { name: key.name, publicKey: key.publicKeyPem, predicateTypes: [SLSA] }, kim);
    expect((await expectStatus(reg, 403, 'POST', '/api/v1/bindings', { principal: 'kim', role: 'viewer' }, kim)).code).toBe('FORBIDDEN');
    expect((await expectStatus(reg, 403, 'POST', '/api/v1/tokens', { principal: 'kim' }, kim)).code).toBe('FORBIDDEN');
    const me = await whoami(kim);
    expect(me.permissions).toEqual(['audit:read', 'key:manage', 'model:read']);
    const auth = await authServiceOf(reg, true);
    const actor = await auth.authenticate(`Bearer ${kim}`);
    for (const env of ENVIRONMENTS) expect(outcome(() => { auth.authorize(actor, `promote:${env}`, { namespace: 'acme' }); }), env).toBe('FORBIDDEN');
  });

  it('validates bindings: environments for promoters, no namespaces for registry-wide roles, known roles and environments, no duplicates', async () => {
    await principal('val');
    const bad = (body: Json): Promise<Json> => expectStatus(reg, 400, 'POST', '/api/v1/bindings', { principal: 'val', ...body });
    expect(await bad({ role: 'promoter', namespaces: ['acme'] })).toMatchObject({ code: 'VALIDATION_FAILED', field: 'environments' });
    expect(await bad({ role: 'key-admin', namespaces: ['acme'] })).toMatchObject({ code: 'VALIDATION_FAILED', field: 'namespaces' });
    const unknownRole = await bad({ role: 'superuser' });
    expect(unknownRole).toMatchObject({ code: 'VALIDATION_FAILED', field: 'role' });
    for (const role of BUILT_IN_ROLES) expect(String(unknownRole.detail)).toContain(role);
    const unknownEnv = await bad({ role: 'promoter', environments: ['prod'] });
    expect(unknownEnv).toMatchObject({ code: 'VALIDATION_FAILED', field: 'environments' });
    for (const env of ENVIRONMENTS) expect(String(unknownEnv.detail)).toContain(env);
    await grant('val', 'promoter', { namespaces: ['acme'], environments: ['staging'] });
    const duplicate = await expectStatus(reg, 409, 'POST', '/api/v1/bindings', { principal: 'val', role: 'promoter', namespaces: ['acme'], environments: ['staging'] });
    expect(duplicate.code).toBe('CONFLICT');
    expect((await expectStatus(reg, 200, 'GET', '/api/v1/bindings?principal=val')).items).toHaveLength(1);
  });

  it('keeps promotion into the last environment for services (the seed’s rule)', async () => {
    for (const [name, kind] of [['uma', 'user'], ['sam', 'service']] as const) {
      await principal(name, kind);
      await grant(name, 'promoter', { namespaces: ['acme'], environments: ['production'] });
    }
    const uma = await tokenFor('uma');
    const sam = await tokenFor('sam');
    expect(await whoami(uma)).toMatchObject({ kind: 'user', roles: ['promoter'], permissions: ['model:read'] });
    expect(await whoami(sam)).toMatchObject({ kind: 'service', roles: ['promoter'], permissions: ['model:read', 'promote:production'] });

    const auth = await authServiceOf(reg, true);
    const user = await auth.authenticate(`Bearer ${uma}`);
    const service = await auth.authenticate(`Bearer ${sam}`);
    const promote = (actor: typeof user, env: string, namespace = 'acme'): string => outcome(() => { auth.authorize(actor, `promote:${env}`, { namespace }); });
    expect(promote(user, 'production')).toBe('FORBIDDEN');
    expect(promote(service, 'production')).toBe('allowed');
    expect(promote(service, 'staging')).toBe('FORBIDDEN');
    expect(promote(service, 'production', 'other')).toBe('FORBIDDEN');
    expect(thrown(() => { auth.authorize(user, 'promote:production', { namespace: 'acme' }); })).toMatchObject({ code: 'FORBIDDEN', details: { rule: 'lastEnvironmentServiceOnly' } });
    // The rule is about using the permission: an AuthService without it lets the same user binding through.
    const relaxed = await authServiceOf(reg, false);
    expect(outcome(() => { relaxed.authorize(user, 'promote:production', { namespace: 'acme' }); })).toBe('allowed');
  });

  it('lets a user promote into the last environment when promotion.lastEnvironmentServiceOnly is off', async () => {
    const open = await startTestRegistry(backend, { promotion: { lastEnvironmentServiceOnly: false } });
    try {
      await expectStatus(open, 201, 'POST', '/api/v1/principals', { name: 'uma', kind: 'user' });
      await expectStatus(open, 201, 'POST', '/api/v1/bindings', { principal: 'uma', role: 'promoter', namespaces: ['acme'], environments: ['production'] });
      const uma = String((await expectStatus(open, 201, 'POST', '/api/v1/tokens', { principal: 'uma' })).token);
      expect(await expectStatus(open, 200, 'GET', '/api/v1/whoami', undefined, uma)).toMatchObject({ kind: 'user', permissions: ['model:read', 'promote:production'] });
    } finally {
      await open.stop();
    }
  });

  it('limits a namespace viewer to its namespace: models listed, blobs of other namespaces do not exist for it', async () => {
    const mine = await uploadRandomModel(reg);
    const theirs = await uploadRandomModel(reg);
    expect((await register(reg, 'acme/visible', mine)).status).toBe(201);
    expect((await register(reg, 'other/hidden', theirs)).status).toBe(201);
    await principal('vic');
    await grant('vic', 'viewer', { namespaces: ['acme'] });
    const vic = await tokenFor('vic');

    const listed = (await expectStatus(reg, 200, 'GET', '/api/v1/models?limit=100', undefined, vic)).items as Json[];
    expect(listed.map((m) => `${String(m.namespace)}/${String(m.name)}`)).toContain('acme/visible');
    expect(listed.every((m) => m.namespace === 'acme')).toBe(true);
    const all = (await expectStatus(reg, 200, 'GET', '/api/v1/models?limit=100')).items as Json[];
    expect(all.map((m) => `${String(m.namespace)}/${String(m.name)}`)).toContain('other/hidden');

    const [theirFile] = theirs.files;
    const [myFile] = mine.files;
    if (theirFile === undefined || myFile === undefined) throw new Error('uploaded models have a file');
    const hidden = await call(reg, 'GET', `/api/v1/blobs/${theirFile.digest}`, undefined, vic);
    expect([hidden.status, hidden.json.code]).toEqual([404, 'BLOB_NOT_FOUND']);
    const nobodys = await call(reg, 'GET', `/api/v1/blobs/sha256:${'0'.repeat(64)}`, undefined, vic);
    expect(hidden.text).toBe(nobodys.text);
    const visible = await fetch(`${reg.url}/api/v1/blobs/${myFile.digest}`, { headers: { authorization: `Bearer ${vic}` } });
    expect(visible.status).toBe(200);
    const bytes = Buffer.from(await visible.arrayBuffer());
    expect(`sha256:${createHash('sha256').update(bytes).digest('hex')}`).toBe(myFile.digest);
    expect((await call(reg, 'GET', `/api/v1/blobs/${theirFile.digest}`)).status).toBe(200);
    expect((await expectStatus(reg, 403, 'GET', '/api/v1/models/other/hidden/versions', undefined, vic)).code).toBe('FORBIDDEN');
  });

  it('keeps every token secret handed out in this suite, and its hash, out of the whole log', async () => {
    expect(secrets.length).toBeGreaterThanOrEqual(8);
    const feed = await call(reg, 'GET', '/api/v1/audit?limit=1000');
    const items = feed.json.items as { event: Json }[];
    expect(items.filter((i) => i.event.type === 'token.created').length).toBe(secrets.length + 1);
    for (const secret of [...secrets, reg.token]) {
      expect(feed.text).not.toContain(secret);
      expect(feed.text).not.toContain(hashApiToken(secret));
    }
  });

  it('never leaves the registry without an admin, and refuses a disabled admin’s token', async () => {
    const bindings = (await expectStatus(reg, 200, 'GET', '/api/v1/bindings?principal=admin')).items as Json[];
    expect(bindings).toHaveLength(1);
    expect(bindings[0]).toMatchObject({ role: 'admin', namespaces: null, environments: null, condition: null });
    expect((await expectStatus(reg, 409, 'POST', `/api/v1/bindings/${String(bindings[0]?.id)}/revoke`)).code).toBe('LAST_ADMIN');
    expect((await expectStatus(reg, 409, 'POST', '/api/v1/principals/admin/disable')).code).toBe('LAST_ADMIN');
    expect((await whoami(reg.token)).name).toBe('admin');

    await principal('root2');
    await grant('root2', 'admin');
    const root2 = await tokenFor('root2');
    const disabled = await expectStatus(reg, 200, 'POST', '/api/v1/principals/admin/disable', undefined, root2);
    expect(disabled).toMatchObject({ name: 'admin', disabledAt: expect.any(String) as unknown });
    const refused = await call(reg, 'GET', '/api/v1/whoami');
    expect([refused.status, refused.json.code]).toEqual([401, 'UNAUTHENTICATED']);
    expect((await whoami(root2)).name).toBe('root2');
    // root2 is now the last admin.
    expect((await expectStatus(reg, 409, 'POST', '/api/v1/principals/root2/disable', undefined, root2)).code).toBe('LAST_ADMIN');
  });
});
