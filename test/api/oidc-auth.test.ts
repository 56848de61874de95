/**
 * OIDC workload identity over real HTTP (SPEC §7, §10 "JWT alg and claim checks"; issue 5 §3,
 * §7) on SQLite and PostgreSQL. Tokens are minted here with keys generated here; the issuer's
 * JWKS is served by a node:http server on 127.0.0.1 (and, in another suite, read from a file in
 * the data directory). A bound service acts with its roles; every forged or out-of-bounds token
 * gets the one 401 body a request without a token gets; binding conditions decide which roles
 * apply; a key the issuer rotates in is picked up by refetching the JWKS on its unknown kid; and
 * the server log names each refusal's reason but never a token.
 */
import { createHmac } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { startRegistry, type RunningRegistry } from '../../src/app/start-registry.js';
import { resolveConfig, type ConfigInput } from '../../src/config/config.js';
import { createLogger } from '../../src/observability/logger.js';
import { BACKENDS, blobsConfig, createTestStorage, TEST_AUTH_FAILURES, WITHOUT_PROVENANCE, type Backend } from '../support/registry.js';

const AUDIENCE = 'custody';
const SUBJECT = 'repo:acme/fraud:ref:refs/heads/main';

interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly kid: string;
  readonly alg: 'ES256' | 'EdDSA';
}

async function signingKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicKey, kid, alg };
}

async function publicJwk(key: SigningKey): Promise<JWK> {
  return { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: key.alg, use: 'sig' };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A registry in this process whose log lines are kept (startTestRegistry's logger is silent). */
interface LoggedRegistry {
  readonly url: string;
  readonly token: string;
  readonly lines: string[];
  readonly registry: RunningRegistry;
  stop(): Promise<void>;
}

async function startLoggedRegistry(backend: Backend, config: ConfigInput, prepare?: (dataDir: string) => Promise<void>): Promise<LoggedRegistry> {
  const storage = await createTestStorage(backend);
  const token = generateApiToken();
  const lines: string[] = [];
  let registry: RunningRegistry;
  try {
    await prepare?.(storage.dataDir);
    const effective = resolveConfig(
      { ...config, server: { port: 0, ...(config.server ?? {}) }, storage: { metadata: storage.metadataSpec, ...blobsConfig(storage.blobs) }, provenance: WITHOUT_PROVENANCE, limits: { authFailures: TEST_AUTH_FAILURES } },
      {},
    );
    registry = await startRegistry({ config: effective, dataDir: storage.dataDir, bootstrapToken: token, logger: createLogger('debug', (line) => lines.push(line)) });
  } catch (error) {
    await storage.cleanup();
    throw error;
  }
  return {
    url: registry.url,
    token,
    lines,
    registry,
    stop: async () => {
      await registry.stop();
      await storage.cleanup();
    },
  };
}

interface Reply {
  readonly status: number;
  readonly text: string;
  readonly headers: Headers;
  readonly json: Record<string, unknown>;
}

async function call(reg: LoggedRegistry, method: string, route: string, bearer: string | undefined, body?: unknown): Promise<Reply> {
  const headers: Record<string, string> = {};
  if (bearer !== undefined) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${reg.url}${route}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the caller looks at the status or text
  }
  return { status: res.status, text, headers: res.headers, json };
}

/** The JSON log lines written since `from`, parsed. */
function linesSince(reg: LoggedRegistry, from: number): Record<string, unknown>[] {
  return reg.lines.slice(from).map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A JWKS endpoint on 127.0.0.1, as a CI provider's issuer serves it; `keys` can be changed. */
interface JwksEndpoint {
  readonly issuer: string;
  keys: JWK[];
  /** GET /jwks requests so far, and when the last one arrived. */
  requests: number;
  lastRequestAt: number;
  close(): Promise<void>;
}

async function serveJwks(keys: JWK[]): Promise<JwksEndpoint> {
  const server = createServer((request, response) => {
    if (request.url !== '/jwks') {
      response.writeHead(404).end();
      return;
    }
    endpoint.requests += 1;
    endpoint.lastRequestAt = Date.now();
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: endpoint.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint: JwksEndpoint = {
    issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keys,
    requests: 0,
    lastRequestAt: 0,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
  return endpoint;
}

describe.each(BACKENDS)('OIDC workload identity with a JWKS served over HTTP (%s)', (backend) => {
  let reg: LoggedRegistry;
  let jwks: JwksEndpoint;
  let issuer: string;
  let es: SigningKey;
  let ed: SigningKey;
  let stranger: SigningKey;
  /** Every JWT sent to the registry, to look for in its log at the end. */
  const sent: string[] = [];
  /** The 401 body of a request without any token: every refused JWT must get exactly this. */
  let anonymous401: string;

  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const now = Math.floor(Date.now() / 1000);
    return { iss: issuer, sub: SUBJECT, aud: AUDIENCE, iat: now - 5, nbf: now - 5, exp: now + 300, repository: 'acme/fraud', ref: 'refs/heads/main', ...overrides };
  }

  async function mint(key: SigningKey, payload: Record<string, unknown> = claims()): Promise<string> {
    const jwt = await new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' }).sign(key.privateKey);
    sent.push(jwt);
    return jwt;
  }

  function forged(jwt: string): string {
    sent.push(jwt);
    return jwt;
  }

  const whoami = (bearer: string): Promise<Reply> => call(reg, 'GET', '/api/v1/whoami', bearer);

  /** Sends `jwt` to whoami and expects the anonymous 401, with `reason` logged for it. */
  async function expectRefused(jwt: string, reason: string): Promise<void> {
    const from = reg.lines.length;
    const res = await whoami(jwt);
    expect(res.status, reason).toBe(401);
    expect(res.headers.get('www-authenticate'), reason).toBe('Bearer');
    expect(res.text, reason).toBe(anonymous401);
    const refusals = linesSince(reg, from).filter((l) => l.msg === 'oidc token refused');
    expect(refusals.map((l) => l.reason)).toEqual([reason]);
  }

  beforeAll(async () => {
    [es, ed, stranger] = await Promise.all([signingKey('ES256', 'es-1'), signingKey('EdDSA', 'ed-1'), signingKey('ES256', 'stranger')]);
    jwks = await serveJwks([await publicJwk(es), await publicJwk(ed)]);
    issuer = jwks.issuer;
    reg = await startLoggedRegistry(backend, { oidc: { issuers: [{ issuer, audience: AUDIENCE, jwks: `${issuer}/jwks`, algorithms: ['ES256', 'EdDSA'] }] } });
    anonymous401 = (await call(reg, 'GET', '/api/v1/whoami', undefined)).text;
    expect(JSON.parse(anonymous401)).toMatchObject({ status: 401, code: 'UNAUTHENTICATED' });

    const created = await call(reg, 'POST', '/api/v1/principals', reg.token, {
      name: 'ci',
      kind: 'service',
      oidc: { issuer, subject: SUBJECT, condition: 'claims.repository == "acme/fraud"' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ name: 'ci', kind: 'service', oidc: { issuer, subject: SUBJECT, condition: 'claims.repository == "acme/fraud"' } });
    const granted = await call(reg, 'POST', '/api/v1/bindings', reg.token, { principal: 'ci', role: 'data-scientist', namespaces: ['acme'] });
    expect(granted.status, granted.text).toBe(201);
  });

  afterAll(async () => {
    await reg.stop();
    await jwks.close();
  });

  it('refuses to give a user principal a workload identity: without ui.oidc, users carry no OIDC identity', async () => {
    const res = await call(reg, 'POST', '/api/v1/principals', reg.token, { name: 'alice', kind: 'user', oidc: { issuer, subject: 'repo:acme/x:ref:refs/heads/main' } });
    expect(res.status).toBe(400);
    expect(res.json).toMatchObject({ code: 'VALIDATION_FAILED', field: 'oidc.issuer' });
    expect(res.json.detail).toMatch(/ui\.oidc\.issuer, not configured here/);
    const principals = await call(reg, 'GET', '/api/v1/principals', reg.token);
    expect((principals.json.items as { name: string }[]).map((p) => p.name)).not.toContain('alice');
  });

  it('lets a valid ES256 token act as the bound service, with exactly its roles', async () => {
    const jwt = await mint(es);
    const me = await whoami(jwt);
    expect(me.status, me.text).toBe(200);
    expect(me.json).toMatchObject({ name: 'ci', kind: 'service', via: 'oidc', roles: ['data-scientist'], tokenPermissions: null });
    expect(me.json.permissions).toEqual(['model:push', 'model:read']);
    expect(jwks.requests).toBeGreaterThanOrEqual(1);

    const read = await call(reg, 'GET', '/api/v1/models/acme/x/versions', jwt);
    expect([read.status, read.json.code]).toEqual([404, 'MODEL_NOT_FOUND']);
    const elsewhere = await call(reg, 'GET', '/api/v1/models/other/x/versions', jwt);
    expect([elsewhere.status, elsewhere.json.code]).toEqual([403, 'FORBIDDEN']);
    const addKey = await call(reg, 'POST', '/api/v1/keys', jwt, {});
    expect([addKey.status, addKey.json.code]).toEqual([403, 'FORBIDDEN']);
  });

  it('accepts EdDSA, the other allowed algorithm', async () => {
    const me = await whoami(await mint(ed));
    expect([me.status, me.json.name, me.json.via]).toEqual([200, 'ci', 'oidc']);
  });

  it('refuses a wrong issuer, wrong audience, expired, not-yet-valid, alg none, HS256 with the public key and an unknown kid, all with one body', async () => {
    const now = Math.floor(Date.now() / 1000);
    await expectRefused(await mint(es, claims({ iss: 'https://evil.example.com' })), 'unknown_issuer');
    await expectRefused(await mint(es, claims({ iss: `${issuer}/` })), 'unknown_issuer');
    await expectRefused(await mint(es, claims({ aud: 'someone-else' })), 'wrong_audience');
    await expectRefused(await mint(es, claims({ iat: now - 900, nbf: now - 900, exp: now - 600 })), 'expired');
    await expectRefused(await mint(es, claims({ iat: now, nbf: now + 600 })), 'not_yet_valid');
    await expectRefused(forged(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`), 'algorithm_not_allowed');
    await expectRefused(forged(`${b64({ alg: 'none', typ: 'JWT', kid: es.kid })}.${b64(claims())}.${b64('x')}`), 'algorithm_not_allowed');
    // Algorithm confusion: an HMAC "signed" with the issuer's public key bytes (PEM and JWK).
    for (const secret of [await exportSPKI(es.publicKey), JSON.stringify(await publicJwk(es))]) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: es.kid })}.${b64(claims())}`;
      await expectRefused(forged(`${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`), 'algorithm_not_allowed');
    }
    await expectRefused(await mint(stranger), 'unknown_key');
    // A key outside the JWKS borrowing a kid the issuer does hold.
    await expectRefused(await mint({ ...stranger, kid: es.kid }), 'bad_signature');
  });

  it('refuses a token whose claims fail the principal condition, and one for a subject no principal is bound to', async () => {
    await expectRefused(await mint(es, claims({ repository: 'evil/fork' })), 'condition_false');
    await expectRefused(await mint(es, claims({ repository: undefined })), 'condition_false');
    await expectRefused(await mint(es, claims({ sub: 'repo:acme/fraud:ref:refs/heads/dev' })), 'no_principal');
  });

  it('fetches the JWKS at most once per refresh interval however many unknown kids arrive', async () => {
    const before = jwks.requests;
    for (let i = 0; i < 5; i++) await expectRefused(await mint({ ...stranger, kid: `unknown-${i}` }), 'unknown_key');
    expect(jwks.requests - before).toBeLessThanOrEqual(1);
  });

  it('applies a binding only when its claim condition holds for the token', async () => {
    const granted = await call(reg, 'POST', '/api/v1/bindings', reg.token, { principal: 'ci', role: 'attester', namespaces: ['acme'], condition: 'claims.ref == "refs/heads/main"' });
    expect(granted.status, granted.text).toBe(201);
    const attesterId = granted.json.id;
    const attest = '/api/v1/models/acme/x/versions/v1/attestations';

    const dev = await mint(es, claims({ ref: 'refs/heads/dev' }));
    const devMe = await whoami(dev);
    expect(devMe.status).toBe(200);
    const devBindings = devMe.json.bindings as { id: string; role: string; applies: boolean }[];
    expect(devBindings.find((b) => b.id === attesterId)).toMatchObject({ role: 'attester', applies: false });
    expect(devBindings.find((b) => b.role === 'data-scientist')).toMatchObject({ applies: true });
    expect(devMe.json.roles).toEqual(['data-scientist']);
    expect(devMe.json.permissions).not.toContain('attestation:write');
    const devAttest = await call(reg, 'POST', attest, dev, {});
    expect([devAttest.status, devAttest.json.code, devAttest.json.permission]).toEqual([403, 'FORBIDDEN', 'attestation:write']);

    const main = await mint(es, claims({ ref: 'refs/heads/main' }));
    const mainMe = await whoami(main);
    expect((mainMe.json.bindings as { id: string; applies: boolean }[]).find((b) => b.id === attesterId)).toMatchObject({ applies: true });
    expect(mainMe.json.roles).toEqual(['attester', 'data-scientist']);
    expect(mainMe.json.permissions).toContain('attestation:write');
    // Past the permission check: now the (empty) body is what is wrong.
    const mainAttest = await call(reg, 'POST', attest, main, {});
    expect([mainAttest.status, mainAttest.json.code]).toEqual([400, 'VALIDATION_FAILED']);
  });

  it('refuses a valid token once the service principal is disabled', async () => {
    const jwt = await mint(es);
    expect((await whoami(jwt)).status).toBe(200);
    const disabled = await call(reg, 'POST', '/api/v1/principals/ci/disable', reg.token);
    expect(disabled.status, disabled.text).toBe(200);
    expect(disabled.json.disabledAt).toEqual(expect.any(String));
    await expectRefused(jwt, 'no_principal');
    await expectRefused(await mint(es), 'no_principal');
  });

  it('logs why each token was refused but never a token, a part of one, or a key', async () => {
    const log = reg.lines.join('');
    expect(sent.length).toBeGreaterThan(20);
    for (const jwt of sent) {
      const [, payload = '', signature = ''] = jwt.split('.');
      expect(log).not.toContain(jwt);
      expect(log).not.toContain(payload);
      if (signature !== '') expect(log).not.toContain(signature);
    }
    expect(log).not.toContain(reg.token);
    for (const key of [es, ed, stranger]) {
      const { d } = await exportJWK(key.privateKey);
      expect(d).toEqual(expect.any(String));
      expect(log).not.toContain(d);
    }
    const reasons = new Set(linesSince(reg, 0).map((l) => l.reason));
    for (const reason of ['unknown_issuer', 'wrong_audience', 'expired', 'not_yet_valid', 'algorithm_not_allowed', 'unknown_key', 'bad_signature', 'condition_false', 'no_principal']) {
      expect(reasons.has(reason), reason).toBe(true);
    }
  });
});

/**
 * Key rotation runs on SQLite only: the JWKS cache lives in the server process and the store plays
 * no part in it, while the refresh throttle makes this suite wait half a minute of real time.
 */
describe('OIDC key rotation with a JWKS served over HTTP (sqlite)', () => {
  /** jwks-source.ts: an unknown kid reloads the key set at most this often. */
  const REFRESH_INTERVAL_MS = 30_000;
  let reg: LoggedRegistry;
  let jwks: JwksEndpoint;
  let current: SigningKey;
  let next: SigningKey;

  const mint = (key: SigningKey): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    return new SignJWT({ iss: jwks.issuer, sub: SUBJECT, aud: AUDIENCE, iat: now, exp: now + 300 }).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
  };
  const whoami = async (key: SigningKey): Promise<Reply> => call(reg, 'GET', '/api/v1/whoami', await mint(key));

  beforeAll(async () => {
    [current, next] = await Promise.all([signingKey('ES256', 'key-2025'), signingKey('ES256', 'key-2026')]);
    jwks = await serveJwks([await publicJwk(current)]);
    reg = await startLoggedRegistry('sqlite', { oidc: { issuers: [{ issuer: jwks.issuer, audience: AUDIENCE, jwks: `${jwks.issuer}/jwks`, algorithms: ['ES256'] }] } });
    expect((await call(reg, 'POST', '/api/v1/principals', reg.token, { name: 'ci', kind: 'service', oidc: { issuer: jwks.issuer, subject: SUBJECT } })).status).toBe(201);
    expect((await call(reg, 'POST', '/api/v1/bindings', reg.token, { principal: 'ci', role: 'viewer' })).status).toBe(201);
  });

  afterAll(async () => {
    await reg.stop();
    await jwks.close();
  });

  it('accepts a token signed with a key published after the first fetch, by refetching the JWKS on its unknown kid', async () => {
    expect((await whoami(current)).status).toBe(200);
    expect(jwks.requests).toBe(1);
    // The issuer rotates: the new key is published, tokens are signed with it.
    jwks.keys = [await publicJwk(current), await publicJwk(next)];
    // Within the refresh interval the cached set is kept, so an unknown kid cannot make the
    // registry hammer the issuer; once it has passed, the unknown kid triggers one refetch.
    const early = await whoami(next);
    if (Date.now() - jwks.lastRequestAt < REFRESH_INTERVAL_MS - 1_000) expect([early.status, jwks.requests]).toEqual([401, 1]);
    await sleep(Math.max(0, jwks.lastRequestAt + REFRESH_INTERVAL_MS + 500 - Date.now()));
    const requestsBefore = jwks.requests;
    const rotated = await whoami(next);
    expect([rotated.status, rotated.json.name, rotated.json.via]).toEqual([200, 'ci', 'oidc']);
    expect(jwks.requests).toBe(requestsBefore + 1);
    // The old key still works while the issuer keeps publishing it.
    expect((await whoami(current)).status).toBe(200);
    expect(jwks.requests).toBe(requestsBefore + 1);
  }, 90_000);
});

describe.each(BACKENDS)('OIDC workload identity with a JWKS file in the data directory (%s)', (backend) => {
  const issuer = 'https://token.actions.example.com';
  let reg: LoggedRegistry;
  let ed: SigningKey;
  let es: SigningKey;

  const mint = (key: SigningKey, overrides: Record<string, unknown> = {}): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const payload = { iss: issuer, sub: 'repo:acme/fraud:environment:release', aud: AUDIENCE, iat: now, exp: now + 300, ...overrides };
    return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
  };

  beforeAll(async () => {
    [ed, es] = await Promise.all([signingKey('EdDSA', 'ed-file'), signingKey('ES256', 'es-unpublished')]);
    const jwks = JSON.stringify({ keys: [await publicJwk(ed)] });
    reg = await startLoggedRegistry(backend, { oidc: { issuers: [{ issuer, audience: AUDIENCE, jwks: 'file:oidc/jwks.json', algorithms: ['ES256', 'EdDSA'] }] } }, async (dataDir) => {
      await mkdir(path.join(dataDir, 'oidc'), { recursive: true });
      await writeFile(path.join(dataDir, 'oidc', 'jwks.json'), jwks);
    });
    const created = await call(reg, 'POST', '/api/v1/principals', reg.token, { name: 'release', kind: 'service', oidc: { issuer, subject: 'repo:acme/fraud:environment:release' } });
    expect(created.status, created.text).toBe(201);
    expect((await call(reg, 'POST', '/api/v1/bindings', reg.token, { principal: 'release', role: 'viewer' })).status).toBe(201);
  });

  afterAll(async () => {
    await reg.stop();
  });

  it('accepts a token signed by a key in the file and refuses one whose key is not in it', async () => {
    const ok = await call(reg, 'GET', '/api/v1/whoami', await mint(ed));
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json).toMatchObject({ name: 'release', kind: 'service', via: 'oidc', roles: ['viewer'] });
    const anonymous = await call(reg, 'GET', '/api/v1/whoami', undefined);
    const refused = await call(reg, 'GET', '/api/v1/whoami', await mint(es));
    expect(refused.status).toBe(401);
    expect(refused.text).toBe(anonymous.text);
    const wrongAudience = await call(reg, 'GET', '/api/v1/whoami', await mint(ed, { aud: 'other' }));
    expect([wrongAudience.status, wrongAudience.text]).toEqual([401, anonymous.text]);
  });
});

/**
 * A user principal may carry an OIDC identity for the web UI's single sign-on (issue 8 §2) — only
 * at `ui.oidc.issuer` and without a condition — but bearer JWTs on the API stay service-only: the
 * user's ID token, even from an issuer also trusted for workloads and with the right audience, is
 * the anonymous 401.
 */
describe.each(BACKENDS)('user principals bound to the web UI sign-on issuer (%s)', (backend) => {
  const CLIENT_ID = 'custody-ui';
  let reg: LoggedRegistry;
  let jwks: JwksEndpoint;
  let es: SigningKey;

  beforeAll(async () => {
    es = await signingKey('ES256', 'idp-1');
    jwks = await serveJwks([await publicJwk(es)]);
    reg = await startLoggedRegistry(backend, {
      server: { publicUrl: 'http://127.0.0.1:8700' },
      ui: { oidc: { issuer: jwks.issuer, clientId: CLIENT_ID } },
      oidc: { issuers: [{ issuer: jwks.issuer, audience: CLIENT_ID, jwks: `${jwks.issuer}/jwks`, algorithms: ['ES256'] }] },
    });
  });

  afterAll(async () => {
    await reg.stop();
    await jwks.close();
  });

  it('creates a user with an identity at ui.oidc.issuer (201), and refuses another issuer or a condition (400)', async () => {
    const created = await call(reg, 'POST', '/api/v1/principals', reg.token, { name: 'alice', kind: 'user', oidc: { issuer: jwks.issuer, subject: 'alice-sub' } });
    expect(created.status, created.text).toBe(201);
    expect(created.json).toMatchObject({ name: 'alice', kind: 'user', oidc: { issuer: jwks.issuer, subject: 'alice-sub', condition: null } });
    const elsewhere = await call(reg, 'POST', '/api/v1/principals', reg.token, { name: 'bob', kind: 'user', oidc: { issuer: 'https://other.example.com', subject: 'bob-sub' } });
    expect([elsewhere.status, elsewhere.json.code, elsewhere.json.field]).toEqual([400, 'VALIDATION_FAILED', 'oidc.issuer']);
    const conditional = await call(reg, 'POST', '/api/v1/principals', reg.token, {
      name: 'carol',
      kind: 'user',
      oidc: { issuer: jwks.issuer, subject: 'carol-sub', condition: 'claims.email_verified == true' },
    });
    expect([conditional.status, conditional.json.code, conditional.json.field]).toEqual([400, 'VALIDATION_FAILED', 'oidc.condition']);
    const names = ((await call(reg, 'GET', '/api/v1/principals', reg.token)).json.items as { name: string }[]).map((p) => p.name);
    expect(names).toContain('alice');
    expect(names).not.toContain('bob');
    expect(names).not.toContain('carol');
  });

  it("answers the anonymous 401 to the user's ID token used as a bearer token", async () => {
    expect((await call(reg, 'POST', '/api/v1/bindings', reg.token, { principal: 'alice', role: 'viewer' })).status).toBe(201);
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({ iss: jwks.issuer, sub: 'alice-sub', aud: CLIENT_ID, nonce: 'n', iat: now - 5, exp: now + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: es.kid, typ: 'JWT' })
      .sign(es.privateKey);
    const anonymous = await call(reg, 'GET', '/api/v1/whoami', undefined);
    const from = reg.lines.length;
    const res = await call(reg, 'GET', '/api/v1/whoami', idToken);
    expect([res.status, res.text]).toEqual([401, anonymous.text]);
    // The token itself verified: it was refused for the principal it names, a user.
    expect(linesSince(reg, from).filter((l) => l.msg === 'oidc token refused').map((l) => l.reason)).toEqual(['no_principal']);
  });
});
