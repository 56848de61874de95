/**
 * Web UI sessions started by single sign-on (issue 8 §2, `SessionService.signInOidc`) over real
 * stores (SQLite and PostgreSQL), a real AuthService and IdentityService and a clock the test
 * moves: the session holds no API token, counts as a recent sign-in right after the login, resumes
 * as the principal with its unconditional roles, ends as soon as the principal is disabled, and
 * cannot start for a disabled principal. `expire` also clears pending logins past their 10 minutes.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OidcLoginClient } from '../../src/auth/oidc-login.js';
import { sha256Hex } from '../../src/domain/digest.js';
import { CustodyError } from '../../src/domain/errors.js';
import { loadOrCreateLogKey } from '../../src/log/log-key.js';
import { silentLogger } from '../../src/observability/logger.js';
import { AuthService, type Actor } from '../../src/service/auth-service.js';
import { IdentityService } from '../../src/service/identity-service.js';
import { OidcSignIn } from '../../src/service/oidc-sign-in.js';
import { SessionService } from '../../src/service/session-service.js';
import { TransparencyLog } from '../../src/service/transparency-log.js';
import type { MetadataStore } from '../../src/store/metadata-store.js';
import { metadataStoreFactories, type OpenedMetadataStore } from '../support/databases.js';
import { rawSql } from '../support/raw-sql.js';
import { ManualClock } from '../support/manual-clock.js';

const ENVIRONMENTS = ['development', 'staging', 'production'];
const ISSUER = 'https://login.example.com';
const MINUTE = 60_000;

describe.each(metadataStoreFactories)('single sign-on sessions on $name', (factory) => {
  let opened: OpenedMetadataStore;
  let store: MetadataStore;
  let keyDir: string;
  let clock: ManualClock;
  let identity: IdentityService;
  let sessions: SessionService;
  let admin: Actor;
  let danaId: string;

  beforeEach(async () => {
    opened = await factory.open();
    store = opened.store;
    keyDir = await mkdtemp(path.join(tmpdir(), 'custody-oidc-sessions-'));
    clock = new ManualClock();
    const log = new TransparencyLog(store, await loadOrCreateLogKey(path.join(keyDir, 'log.key'), 'custody.local/log'));
    const auth = new AuthService(store, clock, log, { environments: ENVIRONMENTS, lastEnvironmentServiceOnly: true }, undefined, silentLogger);
    identity = new IdentityService(store, clock, log, auth, { environments: ENVIRONMENTS, oidcIssuers: [], uiOidcIssuer: ISSUER });
    const client = new OidcLoginClient(
      { issuer: ISSUER, clientId: 'custody-ui', scopes: ['openid'], algorithms: ['ES256'], label: 'SSO' },
      { redirectUri: 'https://custody.example.com/sign-in/oidc/callback', clockSkewSeconds: 60, now: () => clock.now() },
    );
    sessions = new SessionService(store, clock, auth, { idleMinutes: 30, maxHours: 12, recentAuthMinutes: 5 }, new OidcSignIn(store, clock, client, 'SSO'));
    const boot = await auth.bootstrap(undefined);
    admin = await auth.authenticate(`Bearer ${boot.token ?? ''}`);
    const dana = await identity.createPrincipal(admin, { name: 'dana', kind: 'user', oidc: { issuer: ISSUER, subject: 'dana-sub' } });
    await identity.grant(admin, { principal: 'dana', role: 'viewer' });
    danaId = (await store.getPrincipalByName(dana.value.name))?.id ?? '';
  });

  afterEach(async () => {
    await opened.cleanup();
    await rm(keyDir, { recursive: true, force: true });
  });

  it('starts a session without an API token that is a recent sign-in and resumes with the principal’s roles', async () => {
    const started = await sessions.signInOidc(danaId);
    expect(started.actor).toMatchObject({ via: 'oidc', tokenId: null, narrowed: null });
    expect(started.session.authenticatedAt).toBe(clock.now().toISOString());
    expect(sessions.isRecent(started.session)).toBe(true);
    const [row] = await rawSql({ dataDir: '/', metadataSpec: opened.spec }, 'select token_id, secret_hash from ui_sessions');
    expect(row).toMatchObject({ token_id: null, secret_hash: sha256Hex(started.cookie.split('.')[1] ?? '') });

    clock.advance(6 * MINUTE);
    const resumed = await sessions.resume(started.cookie);
    expect(resumed?.actor.principal.name).toBe('dana');
    expect(resumed?.actor.grants.map((g) => g.role)).toEqual(['viewer']);
    expect(resumed === undefined ? true : sessions.isRecent(resumed.session)).toBe(false);
  });

  it('ends the session once the principal is disabled, and starts none for a disabled principal', async () => {
    const started = await sessions.signInOidc(danaId);
    await identity.disablePrincipal(admin, 'dana');
    expect(await sessions.resume(started.cookie)).toBeUndefined();
    const [row] = await rawSql({ dataDir: '/', metadataSpec: opened.spec }, 'select ended_at from ui_sessions');
    expect(row?.['ended_at']).toBe(clock.now().toISOString());
    await expect(sessions.signInOidc(danaId)).rejects.toBeInstanceOf(CustodyError);
    await expect(sessions.signInOidc(danaId)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('clears pending logins older than 10 minutes when sessions expire', async () => {
    const base = { secretHash: sha256Hex('s'), state: 's', nonce: 'n', codeVerifier: 'v', next: '/models', createdAt: clock.now().toISOString() };
    await store.transaction(async (tx) => {
      await tx.insertOidcLogin({ ...base, id: 'stale', expiresAt: new Date(clock.now().getTime() + 10 * MINUTE).toISOString() });
      await tx.insertOidcLogin({ ...base, id: 'fresh', expiresAt: new Date(clock.now().getTime() + 20 * MINUTE).toISOString() });
    });
    clock.advance(15 * MINUTE);
    await sessions.expire();
    expect(await store.getOidcLogin('stale')).toBeUndefined();
    expect(await store.getOidcLogin('fresh')).toBeDefined();
  });
});
