/**
 * Web UI sessions (issue 8 §2; SPEC §7): the browser never holds an API token. A user pastes one
 * into the sign-in form once; the server checks it and starts a server-side session referenced
 * by an HttpOnly `__Host-` cookie whose value is `<id>.<secret>`. Only the SHA-256 of the secret
 * is stored (like API tokens), compared in constant time. Each request re-establishes the actor
 * through `AuthService.actorForSession`, so a revoked token or a disabled principal ends the
 * session at once. Sessions end after `idleMinutes` without use and `maxHours` after sign-in;
 * approving, revoking a key and activating a policy need a sign-in within `recentAuthMinutes`
 * (reference/ui-screens.md). The cookie value is never logged nor put in an error.
 *
 * With single sign-on configured (`ui.oidc`), `oidc` runs the login at the identity provider and
 * `signInOidc` starts the session of the user principal it identified: no API token (`tokenId`
 * null), so each request re-checks the principal alone — disabling it ends the session.
 */
import { randomBytes } from 'node:crypto';
import { hashesEqual, isTokenShaped } from '../auth/api-token.js';
import { looksLikeJwt } from '../auth/oidc-verifier.js';
import type { Clock } from '../domain/clock.js';
import { sha256Hex } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { MetadataStore, UiSession } from '../store/metadata-store.js';
import type { Actor, AuthService } from './auth-service.js';
import type { OidcSignIn } from './oidc-sign-in.js';

/** What the UI may know of a session: never the cookie secret nor its hash. */
export interface UiSessionView {
  readonly id: string;
  readonly principalId: string;
  /** Echoed by every unsafe UI request (a hidden form field). */
  readonly csrfToken: string;
  readonly createdAt: string;
  /** The last sign-in or re-authentication; `isRecent` compares it with `recentAuthMinutes`. */
  readonly authenticatedAt: string;
  /** When the session ends unless used again: min(absolute end, last use + idle limit). */
  readonly expiresAt: string;
}

/** Session lifetimes, from the `ui` section of the configuration. */
export interface SessionOptions {
  readonly idleMinutes: number;
  readonly maxHours: number;
  readonly recentAuthMinutes: number;
}

/** A signed-in request: who acts, and the session it came with. */
export interface ResumedSession {
  readonly actor: Actor;
  readonly session: UiSessionView;
}

const MINUTE_MS = 60_000;
const HOUR_MS = 60 * MINUTE_MS;
/** Activity is recorded at most this often, so browsing is not one write per request. */
const TOUCH_INTERVAL_MS = MINUTE_MS;
/** Ended and expired sessions are kept this long (for the header's "signed out" and debugging). */
const RETENTION_MS = 24 * HOUR_MS;
/** `newId()` is 16 random bytes and the secret 32, both base64url without padding. */
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

function randomSecret(): string {
  return randomBytes(32).toString('base64url');
}

function unauthenticated(): never {
  throw new CustodyError('UNAUTHENTICATED', 'a valid API token is required to sign in');
}

/** The id and secret of a well-formed cookie value, or undefined for anything else. */
function parseCookie(cookie: unknown): { id: string; secret: string } | undefined {
  if (typeof cookie !== 'string' || cookie.length > 128) return undefined;
  const match = COOKIE_SHAPE.exec(cookie);
  if (match === null) return undefined;
  const [, id, secret] = match;
  return id === undefined || secret === undefined ? undefined : { id, secret };
}

export class SessionService {
  readonly #idleMs: number;
  readonly #maxMs: number;
  readonly #recentMs: number;

  /** Throws CONFIG_INVALID unless every lifetime is a positive integer. */
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly auth: AuthService,
    options: SessionOptions,
    /** Single sign-on (`ui.oidc`), or undefined when it is not configured. */
    readonly oidc?: OidcSignIn,
  ) {
    for (const [key, value] of Object.entries(options)) {
      if (!Number.isSafeInteger(value) || value <= 0) throw new CustodyError('CONFIG_INVALID', `session option ${key} must be a positive integer`);
    }
    this.#idleMs = options.idleMinutes * MINUTE_MS;
    this.#maxMs = options.maxHours * HOUR_MS;
    this.#recentMs = options.recentAuthMinutes * MINUTE_MS;
  }

  /**
   * Checks a pasted API token (OIDC JWTs are refused here) and starts a session for its
   * principal. Returns the cookie value to set (shown nowhere else), the session and the actor;
   * UNAUTHENTICATED for any bad token, without saying why.
   */
  async signIn(apiToken: string): Promise<{ cookie: string; session: UiSessionView; actor: Actor }> {
    const actor = await this.#authenticateToken(apiToken);
    if (actor.tokenId === null) return unauthenticated();
    return this.#start(actor, actor.tokenId);
  }

  /**
   * Starts a session for a principal that single sign-on identified (`OidcSignIn.complete`):
   * no API token, signed in now (so it counts as a recent sign-in). UNAUTHENTICATED when the
   * principal is gone or disabled.
   */
  async signInOidc(principalId: string): Promise<{ cookie: string; session: UiSessionView; actor: Actor }> {
    const actor = await this.auth.actorForSession(principalId, null);
    return this.#start(actor, null);
  }

  async #start(actor: Actor, tokenId: string | null): Promise<{ cookie: string; session: UiSessionView; actor: Actor }> {
    const now = this.clock.now();
    const at = now.toISOString();
    const secret = randomSecret();
    const session: UiSession = {
      id: newId(),
      secretHash: sha256Hex(secret),
      principalId: actor.principal.id,
      tokenId,
      csrfToken: randomSecret(),
      createdAt: at,
      authenticatedAt: at,
      lastSeenAt: at,
      expiresAt: new Date(now.getTime() + this.#maxMs).toISOString(),
      endedAt: null,
    };
    await this.store.transaction((tx) => tx.insertUiSession(session));
    return { cookie: `${session.id}.${secret}`, session: this.#view(session), actor };
  }

  /**
   * The actor and session of a cookie, or undefined when it is absent, malformed, unknown,
   * ended, expired (idle or absolute), its secret does not match, or its principal or token can
   * no longer authenticate (the session is then ended). Records activity at most once a minute.
   */
  async resume(cookie: string | undefined): Promise<ResumedSession | undefined> {
    const found = await this.#open(cookie);
    if (found === undefined) return undefined;
    let session = found.session;
    const now = this.clock.now();
    if (now.getTime() - Date.parse(session.lastSeenAt) >= TOUCH_INTERVAL_MS) {
      const lastSeenAt = now.toISOString();
      try {
        await this.store.transaction((tx) => tx.touchUiSession(session.id, lastSeenAt));
      } catch (error) {
        // Signed out (or expired) by a concurrent request between the read and the write.
        if (error instanceof CustodyError && error.code === 'CONFLICT') return undefined;
        throw error;
      }
      session = { ...session, lastSeenAt };
    }
    return { actor: found.actor, session: this.#view(session) };
  }

  /**
   * Records a fresh sign-in on an open session: `apiToken` must authenticate and belong to the
   * session's principal, else UNAUTHENTICATED and nothing changes. The session keeps the token
   * it was started with (and so its narrowing).
   */
  async reauthenticate(cookie: string, apiToken: string): Promise<UiSessionView> {
    const found = await this.#open(cookie);
    if (found === undefined) return unauthenticated();
    const actor = await this.#authenticateToken(apiToken);
    if (actor.principal.id !== found.session.principalId) return unauthenticated();
    const at = this.clock.now().toISOString();
    try {
      await this.store.transaction(async (tx) => {
        await tx.reauthenticateUiSession(found.session.id, at);
        await tx.touchUiSession(found.session.id, at);
      });
    } catch (error) {
      if (error instanceof CustodyError && error.code === 'CONFLICT') return unauthenticated();
      throw error;
    }
    return this.#view({ ...found.session, authenticatedAt: at, lastSeenAt: at });
  }

  /** True when the session's last sign-in is less than `recentAuthMinutes` old. */
  isRecent(session: UiSessionView): boolean {
    const age = this.clock.now().getTime() - Date.parse(session.authenticatedAt);
    return age >= 0 && age < this.#recentMs;
  }

  /** Ends the cookie's session; does nothing for an absent, malformed, unknown or ended one. */
  async signOut(cookie: string | undefined): Promise<void> {
    const parsed = parseCookie(cookie);
    if (parsed === undefined) return;
    const session = await this.store.getUiSession(parsed.id);
    // Only the holder of the secret may end a session: knowing an id is not enough.
    if (session === undefined || session.endedAt !== null || !hashesEqual(session.secretHash, sha256Hex(parsed.secret))) return;
    const at = this.clock.now().toISOString();
    await this.store.transaction((tx) => tx.endUiSession(session.id, at));
  }

  /**
   * Deletes sessions that ended, or passed their absolute end, more than a day ago (and expired
   * single sign-on logins); returns how many sessions. (An idle-expired session is ended when next presented, or goes at its absolute end.)
   */
  async expire(): Promise<number> {
    const cutoff = new Date(this.clock.now().getTime() - RETENTION_MS).toISOString();
    await this.oidc?.expire();
    return this.store.transaction((tx) => tx.deleteUiSessionsEndedBefore(cutoff));
  }

  /** An API token (never a JWT) to its actor, or UNAUTHENTICATED. */
  async #authenticateToken(apiToken: unknown): Promise<Actor> {
    if (typeof apiToken !== 'string') return unauthenticated();
    const presented = apiToken.trim();
    if (!isTokenShaped(presented) || looksLikeJwt(presented)) return unauthenticated();
    const actor = await this.auth.authenticate(`Bearer ${presented}`);
    if (actor.via !== 'token') return unauthenticated();
    return actor;
  }

  /** The open, unexpired session the cookie names and its actor now, or undefined. */
  async #open(cookie: unknown): Promise<{ session: UiSession; actor: Actor } | undefined> {
    const parsed = parseCookie(cookie);
    if (parsed === undefined) return undefined;
    const session = await this.store.getUiSession(parsed.id);
    if (session === undefined || !hashesEqual(session.secretHash, sha256Hex(parsed.secret))) return undefined;
    if (session.endedAt !== null) return undefined;
    const now = this.clock.now().getTime();
    const absoluteEnd = Date.parse(session.expiresAt);
    const idleEnd = Date.parse(session.lastSeenAt) + this.#idleMs;
    if (!(now < absoluteEnd && now < idleEnd)) {
      await this.#end(session.id);
      return undefined;
    }
    let actor: Actor;
    try {
      actor = await this.auth.actorForSession(session.principalId, session.tokenId);
    } catch (error) {
      if (error instanceof CustodyError && error.code === 'UNAUTHENTICATED') {
        await this.#end(session.id);
        return undefined;
      }
      throw error;
    }
    return { session, actor };
  }

  async #end(id: string): Promise<void> {
    const at = this.clock.now().toISOString();
    await this.store.transaction((tx) => tx.endUiSession(id, at));
  }

  #view(session: UiSession): UiSessionView {
    const idleEnd = Date.parse(session.lastSeenAt) + this.#idleMs;
    const absoluteEnd = Date.parse(session.expiresAt);
    return {
      id: session.id,
      principalId: session.principalId,
      csrfToken: session.csrfToken,
      createdAt: session.createdAt,
      authenticatedAt: session.authenticatedAt,
      expiresAt: new Date(Math.min(idleEnd, absoluteEnd)).toISOString(),
    };
  }
}
