/**
 * Web UI sessions (issue 8 §2, `src/service/session-service.ts`) over real stores (SQLite and
 * PostgreSQL), a real AuthService, real tokens and principals made through the identity and
 * token services, and a clock the test moves: sign-in, resumption, every way a cookie is refused,
 * idle and absolute expiry, sign-out, revocation and disabling, narrowing, re-authentication and
 * "recent sign-in", and a database that never holds the cookie secret.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../support/error-code.js';
import { generateApiToken } from '../../src/auth/api-token.js';
import { resolveConfig } from '../../src/config/config.js';
import { sha256Hex } from '../../src/domain/digest.js';
import { CustodyError } from '../../src/domain/errors.js';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { silentLogger } from '../../src/observability/logger.js';
import { AuthService, type Actor } from '../../src/service/auth-service.js';
import { IdentityService } from '../../src/service/identity-service.js';
import { SessionService } from '../../src/service/session-service.js';
import { TokenService } from '../../src/service/token-service.js';
import { TransparencyLog } from '../../src/service/transparency-log.js';
import type { MetadataStore } from '../../src/store/metadata-store.js';
import { metadataStoreFactories, type OpenedMetadataStore } from '../support/databases.js';
import { rawSql } from '../support/raw-sql.js';
import { ManualClock } from '../support/manual-clock.js';

const ENVIRONMENTS = ['development', 'staging', 'production'];
const OPTIONS = { idleMinutes: 30, maxHours: 12, recentAuthMinutes: 5 };
const SECOND = 1000;
const MINUTE = 60 * SECOND;

describe.each(metadataStoreFactories)('sessions on $name', (factory) => {
  let opened: OpenedMetadataStore;
  let store: MetadataStore;
  let keyDir: string;
  let clock: ManualClock;
  let auth: AuthService;
  let tokens: TokenService;
  let identity: IdentityService;
  let sessions: SessionService;
  let admin: Actor;
  let adminToken: string;
  let bobToken: string;
  let bobTokenId: string;

  beforeEach(async () => {
    opened = await factory.open();
    store = opened.store;
    keyDir = await mkdtemp(path.join(tmpdir(), 'custody-sessions-'));
    clock = new ManualClock();
    const log = new TransparencyLog(store, await loadOrCreateLogKey(path.join(keyDir, 'log.key'), 'custody.local/log'));
    auth = new AuthService(store, clock, log, { environments: ENVIRONMENTS, lastEnvironmentServiceOnly: true }, undefined, silentLogger);
    identity = new IdentityService(store, clock, log, auth, { environments: ENVIRONMENTS, oidcIssuers: [] });
    tokens = new TokenService(store, clock, log, auth, ENVIRONMENTS);
    sessions = new SessionService(store, clock, auth, OPTIONS);
    const boot = await auth.bootstrap(undefined);
    if (boot.token === undefined) throw new Error('bootstrap printed no token');
    adminToken = boot.token;
    admin = await auth.authenticate(`Bearer ${adminToken}`);
    await identity.createPrincipal(admin, { name: 'bob', kind: 'user' });
    await identity.grant(admin, { principal: 'bob', role: 'viewer' });
    const bob = await tokens.create(admin, { principal: 'bob', name: 'bob-ui' });
    bobToken = bob.secret;
    bobTokenId = bob.value.id;
  });

  afterEach(async () => {
    await opened.cleanup();
    await rm(keyDir, { recursive: true, force: true });
  });

  const rows = () => rawSql({ dataDir: '/', metadataSpec: opened.spec }, 'select * from ui_sessions');

  it('signs in with an API token and resumes as the same principal from the cookie alone', async () => {
    const signedIn = await sessions.signIn(bobToken);
    expect(signedIn.cookie).toMatch(/^[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    expect(signedIn.actor.principal.name).toBe('bob');
    expect(signedIn.session.id).toBe(signedIn.cookie.split('.')[0]);
    expect(signedIn.session.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signedIn.session.expiresAt).toBe(new Date(clock.now().getTime() + 30 * MINUTE).toISOString());

    clock.advance(10 * MINUTE);
    const resumed = await sessions.resume(signedIn.cookie);
    expect(resumed?.actor.principal.id).toBe(signedIn.actor.principal.id);
    expect(resumed?.actor.via).toBe('token');
    expect(resumed?.actor.tokenId).toBe(bobTokenId);
    expect(resumed?.actor.grants.map((g) => g.role)).toEqual(['viewer']);
    expect(resumed?.session).toMatchObject({ id: signedIn.session.id, csrfToken: signedIn.session.csrfToken, createdAt: signedIn.session.createdAt });
    expect(resumed?.session.expiresAt).toBe(new Date(clock.now().getTime() + 30 * MINUTE).toISOString());

    const other = await sessions.signIn(bobToken);
    expect(other.session.id).not.toBe(signedIn.session.id);
    expect(other.session.csrfToken).not.toBe(signedIn.session.csrfToken);
  });

  it('refuses bad, revoked and JWT-shaped tokens at sign-in with UNAUTHENTICATED that does not echo them', async () => {
    const jwt = `${Buffer.from('{"alg":"ES256","typ":"JWT"}').toString('base64url')}.${Buffer.from('{"sub":"bob"}').toString('base64url')}.${'s'.repeat(40)}`;
    const unknown = generateApiToken();
    for (const bad of [unknown, '', 'short', jwt, 'x'.repeat(10_000), `${bobToken}\u0000`, `Bearer ${bobToken}`]) {
      try {
        await sessions.signIn(bad);
        expect.unreachable('sign-in must refuse this token');
      } catch (error) {
        expect(error).toBeInstanceOf(CustodyError);
        expect((error as CustodyError).code).toBe('UNAUTHENTICATED');
        if (bad.length >= 5) expect((error as Error).message).not.toContain(bad.slice(0, 30));
      }
    }
    await tokens.revoke(admin, bobTokenId);
    expect(await codeOf(sessions.signIn(bobToken))).toBe('UNAUTHENTICATED');
    expect(await rows()).toEqual([]);
  });

  it('answers undefined, without throwing, for a wrong secret, an unknown id and garbage cookies', async () => {
    const { cookie } = await sessions.signIn(bobToken);
    const [id, secret] = cookie.split('.') as [string, string];
    const flipped = `${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    const garbage = [
      undefined,
      '',
      '.',
      id,
      `${id}.`,
      `.${secret}`,
      `${id}${secret}`,
      `${id}.${flipped}`,
      `${'A'.repeat(22)}.${secret}`,
      `${id}.${secret}.${secret}`,
      `${id}.${secret}\u0000`,
      `${id}\u0000.${secret}`,
      `\u0000`,
      `${id}.${'x'.repeat(1_000_000)}`,
      'é'.repeat(66),
    ];
    for (const bad of garbage) expect(await sessions.resume(bad)).toBeUndefined();
    // Guessing at a session does not end it: the holder of the real cookie is still signed in.
    expect((await sessions.resume(cookie))?.actor.principal.name).toBe('bob');
  });

  it('ends a session unused for the idle limit, and records use at most once a minute', async () => {
    const { cookie, session } = await sessions.signIn(bobToken);
    const lastSeen = async () => (await store.getUiSession(session.id))?.lastSeenAt;
    const signedInAt = clock.now().toISOString();

    clock.advance(30 * SECOND);
    expect(await sessions.resume(cookie)).toBeDefined();
    expect(await lastSeen()).toBe(signedInAt);

    clock.advance(40 * SECOND);
    expect(await sessions.resume(cookie)).toBeDefined();
    expect(await lastSeen()).toBe(clock.now().toISOString());

    clock.advance(29 * MINUTE);
    expect(await sessions.resume(cookie)).toBeDefined();
    clock.advance(30 * MINUTE - SECOND);
    expect(await sessions.resume(cookie)).toBeDefined();
    clock.advance(30 * MINUTE);
    expect(await sessions.resume(cookie)).toBeUndefined();
    expect((await store.getUiSession(session.id))?.endedAt).toBe(clock.now().toISOString());
    // Once ended it stays ended, whatever the clock does.
    clock.advance(-10 * MINUTE);
    expect(await sessions.resume(cookie)).toBeUndefined();
  });

  it('ends a session at its absolute end however active it is, and reports the nearer end', async () => {
    const { cookie } = await sessions.signIn(bobToken);
    const absoluteEnd = new Date(clock.now().getTime() + 12 * 60 * MINUTE).toISOString();
    for (let elapsed = 0; elapsed < 12 * 60 - 20; elapsed += 20) {
      clock.advance(20 * MINUTE);
      const resumed = await sessions.resume(cookie);
      expect(resumed).toBeDefined();
    }
    // 11 h 40 min in: the idle end (12 h 10 min) is past the absolute end, so the view says 12 h.
    const late = await sessions.resume(cookie);
    expect(late?.session.expiresAt).toBe(absoluteEnd);
    clock.advance(20 * MINUTE - SECOND);
    expect(await sessions.resume(cookie)).toBeDefined();
    clock.advance(SECOND);
    expect(await sessions.resume(cookie)).toBeUndefined();
  });

  it('signs out: the cookie no longer resumes, and signing out again or with garbage is harmless', async () => {
    const { cookie, session } = await sessions.signIn(bobToken);
    const kept = await sessions.signIn(bobToken);
    const [id] = cookie.split('.') as [string];
    // Knowing the id is not enough to sign someone out.
    await sessions.signOut(`${id}.${'A'.repeat(43)}`);
    expect(await sessions.resume(cookie)).toBeDefined();

    await sessions.signOut(cookie);
    expect(await sessions.resume(cookie)).toBeUndefined();
    expect((await store.getUiSession(session.id))?.endedAt).toBe(clock.now().toISOString());
    await sessions.signOut(cookie);
    await sessions.signOut(undefined);
    await sessions.signOut('');
    await sessions.signOut('\u0000.\u0000');
    expect(await sessions.resume(kept.cookie)).toBeDefined();
  });

  it('stops resuming once the token is revoked or the principal disabled', async () => {
    const byToken = await sessions.signIn(bobToken);
    await tokens.revoke(admin, bobTokenId);
    expect(await sessions.resume(byToken.cookie)).toBeUndefined();
    expect((await store.getUiSession(byToken.session.id))?.endedAt).not.toBeNull();

    const second = await tokens.create(admin, { principal: 'bob', name: 'second' });
    const byPrincipal = await sessions.signIn(second.secret);
    expect(await sessions.resume(byPrincipal.cookie)).toBeDefined();
    await identity.disablePrincipal(admin, 'bob');
    expect(await sessions.resume(byPrincipal.cookie)).toBeUndefined();
  });

  it('stops resuming once the token has expired', async () => {
    const short = await tokens.create(admin, { principal: 'bob', name: 'short', expiresAt: new Date(clock.now().getTime() + 10 * MINUTE).toISOString() });
    const { cookie } = await sessions.signIn(short.secret);
    clock.advance(9 * MINUTE);
    expect(await sessions.resume(cookie)).toBeDefined();
    clock.advance(MINUTE);
    expect(await sessions.resume(cookie)).toBeUndefined();
  });

  it("carries a narrowed token's narrowing into the session's actor", async () => {
    const narrowed = await tokens.create(admin, { principal: 'admin', name: 'read-only', permissions: ['model:read'] });
    const full = await sessions.resume((await sessions.signIn(adminToken)).cookie);
    const reader = await sessions.resume((await sessions.signIn(narrowed.secret)).cookie);
    expect(full?.actor.narrowed).toBeNull();
    expect(reader?.actor.narrowed).toEqual(['model:read']);
    expect(reader?.actor.tokenId).toBe(narrowed.value.id);
    if (full === undefined || reader === undefined) throw new Error('both sessions must resume');
    expect(auth.holds(full.actor, 'principal:manage')).toBe(true);
    expect(auth.holds(reader.actor, 'principal:manage')).toBe(false);
    expect(auth.holds(reader.actor, 'model:read', { namespace: 'vision' })).toBe(true);
    expect(reader.actor).toEqual(await auth.authenticate(`Bearer ${narrowed.secret}`));
  });

  it("re-authenticates only with a token of the session's own principal", async () => {
    const { cookie, session } = await sessions.signIn(adminToken);
    const signedInAt = session.authenticatedAt;
    clock.advance(20 * MINUTE);

    expect(await codeOf(sessions.reauthenticate(cookie, bobToken))).toBe('UNAUTHENTICATED');
    expect(await codeOf(sessions.reauthenticate(cookie, generateApiToken()))).toBe('UNAUTHENTICATED');
    expect(await codeOf(sessions.reauthenticate(`${session.id}.${'A'.repeat(43)}`, adminToken))).toBe('UNAUTHENTICATED');
    expect(await codeOf(sessions.reauthenticate('garbage', adminToken))).toBe('UNAUTHENTICATED');
    expect((await store.getUiSession(session.id))?.authenticatedAt).toBe(signedInAt);

    const another = await tokens.create(admin, { principal: 'admin', name: 'second' });
    const renewed = await sessions.reauthenticate(cookie, another.secret);
    expect(renewed.authenticatedAt).toBe(clock.now().toISOString());
    expect((await store.getUiSession(session.id))?.authenticatedAt).toBe(clock.now().toISOString());
    expect(sessions.isRecent(renewed)).toBe(true);

    await sessions.signOut(cookie);
    expect(await codeOf(sessions.reauthenticate(cookie, adminToken))).toBe('UNAUTHENTICATED');
  });

  it('counts a sign-in as recent for recentAuthMinutes and no longer', async () => {
    const { cookie, session } = await sessions.signIn(adminToken);
    expect(sessions.isRecent(session)).toBe(true);
    clock.advance(5 * MINUTE - SECOND);
    expect(sessions.isRecent(session)).toBe(true);
    const resumed = await sessions.resume(cookie);
    if (resumed === undefined) throw new Error('the session must resume');
    expect(sessions.isRecent(resumed.session)).toBe(true);
    clock.advance(2 * SECOND);
    expect(sessions.isRecent(session)).toBe(false);
    const later = await sessions.resume(cookie);
    if (later === undefined) throw new Error('the session must resume');
    expect(sessions.isRecent(later.session)).toBe(false);
    expect(sessions.isRecent(await sessions.reauthenticate(cookie, adminToken))).toBe(true);
  });

  it('keeps no cookie secret and no API token in the database, only the SHA-256 of the secret', async () => {
    const { cookie, session } = await sessions.signIn(bobToken);
    const secret = cookie.split('.')[1] ?? '';
    const stored = await rows();
    expect(stored).toHaveLength(1);
    const text = JSON.stringify(stored);
    expect(text).not.toContain(secret);
    expect(text).not.toContain(cookie);
    expect(text).not.toContain(bobToken);
    expect(stored[0]?.['secret_hash']).toBe(sha256Hex(secret));
    expect(stored[0]?.['csrf_token']).toBe(session.csrfToken);
    expect(JSON.stringify(session)).not.toContain(secret);
  });

  it('deletes sessions a day after they ended or expired', async () => {
    const ended = await sessions.signIn(bobToken);
    const open = await sessions.signIn(adminToken);
    await sessions.signOut(ended.cookie);
    clock.advance(24 * 60 * MINUTE - SECOND);
    expect(await sessions.expire()).toBe(0);
    clock.advance(2 * SECOND);
    expect(await sessions.expire()).toBe(1);
    expect(await store.getUiSession(ended.session.id)).toBeUndefined();
    // The other passed its absolute end 12 h in; a day after that it goes too.
    expect(await store.getUiSession(open.session.id)).toBeDefined();
    clock.advance(12 * 60 * MINUTE);
    expect(await sessions.expire()).toBe(1);
    expect(await rows()).toEqual([]);
  });

  it("refuses in actorForSession a token that is another principal's", async () => {
    const bob = await store.getPrincipalByName('bob');
    if (bob === undefined) throw new Error('bob exists');
    expect(await codeOf(auth.actorForSession(bob.id, admin.tokenId))).toBe('UNAUTHENTICATED');
    expect(await codeOf(auth.actorForSession('nobody', null))).toBe('UNAUTHENTICATED');
    expect((await auth.actorForSession(bob.id, bobTokenId)).principal.name).toBe('bob');
  });

  it('refuses to build with a lifetime that is not a positive integer', () => {
    for (const options of [
      { ...OPTIONS, idleMinutes: 0 },
      { ...OPTIONS, maxHours: 1.5 },
      { ...OPTIONS, recentAuthMinutes: Number.NaN },
    ]) {
      expect(() => new SessionService(store, clock, auth, options)).toThrow(CustodyError);
    }
  });
});

describe('session configuration', () => {
  it('defaults to 30 idle minutes, 12 hours and 5 recent minutes, overridable from the environment', () => {
    expect(resolveConfig(undefined, {}).ui).toEqual({ sessionIdleMinutes: 30, sessionMaxHours: 12, recentAuthMinutes: 5 });
    const env = { CUSTODY_UI_SESSION_IDLE_MINUTES: '15', CUSTODY_UI_SESSION_MAX_HOURS: '8', CUSTODY_UI_RECENT_AUTH_MINUTES: '2' };
    expect(resolveConfig(undefined, env).ui).toEqual({ sessionIdleMinutes: 15, sessionMaxHours: 8, recentAuthMinutes: 2 });
    expect(() => resolveConfig({ ui: { sessionIdleMinutes: 0 } }, {})).toThrow(/ui\.sessionIdleMinutes/);
  });
});
