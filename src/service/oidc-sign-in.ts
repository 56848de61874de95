/**
 * Single sign-on for the web UI (issue 8 §2; SPEC §7): the server side of the authorization code
 * flow with PKCE. `begin` stores a pending login — state, nonce, PKCE verifier and where to go
 * afterwards — in the metadata store for 10 minutes and binds it to the browser with a short-lived
 * `__Host-` cookie `<id>.<secret>` (only the secret's SHA-256 is stored, like sessions). `complete`
 * takes the provider's callback: the pending login must be the cookie's, is deleted at once (so a
 * callback works once, whatever happens next), must be unexpired and match `state` (constant
 * time), and an `iss` in the answer must be the configured issuer (RFC 9207); then the code is redeemed and the ID token verified (`auth/oidc-login.ts`), and the
 * identity must be bound to an enabled principal of kind `user`. The session itself is started by
 * `SessionService.signInOidc`.
 *
 * Refusals carry a reason code for the audit log; nothing returned contains a code, a token or a
 * cookie secret.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { hashesEqual } from '../auth/api-token.js';
import type { IdTokenFailureReason, OidcLoginClient, VerifiedIdToken } from '../auth/oidc-login.js';
import { newLoginSecrets } from '../auth/oidc-login.js';
import type { Clock } from '../domain/clock.js';
import { sha256Hex } from '../domain/digest.js';
import { newId } from '../domain/ids.js';
import type { MetadataStore, OidcLogin, Principal } from '../store/metadata-store.js';

/** How long a login may take at the provider. */
export const OIDC_LOGIN_TTL_MS = 10 * 60_000;
/** `newId()` is 16 random bytes and the secret 32, both base64url without padding. */
const COOKIE_SHAPE = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;
const MAX_PARAM_LENGTH = 4096;

/** The query of the provider's redirect back to `/sign-in/oidc/callback`. */
export interface OidcCallbackParams {
  readonly code: string | null;
  readonly state: string | null;
  /** An OAuth error code (RFC 6749 §4.1.2.1), e.g. `access_denied`. */
  readonly error: string | null;
  /** The issuer that answered (RFC 9207), when the provider sends it: must be the configured one. */
  readonly iss: string | null;
}

export type OidcSignInRefusal = 'no_pending_login' | 'expired' | 'state_mismatch' | 'idp_error' | 'missing_code' | 'no_principal' | IdTokenFailureReason;

export type OidcSignInResult =
  | { readonly ok: true; readonly principal: Principal; readonly identity: VerifiedIdToken; readonly next: string }
  | {
      readonly ok: false;
      readonly reason: OidcSignInRefusal;
      /** Where the login wanted to go (to start again), `/models` without a pending login. */
      readonly next: string;
      /** The provider's error code for `idp_error` (printable ASCII, at most 64 characters). */
      readonly idpError?: string;
      /** The verified identity for `no_principal`: issuer and subject are not secrets. */
      readonly identity?: { readonly issuer: string; readonly subject: string };
      /** A fixed, non-secret message for logs. */
      readonly detail?: string;
    };

function refused(reason: OidcSignInRefusal, next: string, extra: { idpError?: string; identity?: { issuer: string; subject: string }; detail?: string } = {}): OidcSignInResult {
  return { ok: false, reason, next, ...extra };
}

/** Constant-time comparison of two strings (their SHA-256 digests). */
function sameText(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function parseCookie(cookie: unknown): { id: string; secret: string } | undefined {
  if (typeof cookie !== 'string' || cookie.length > 128) return undefined;
  const match = COOKIE_SHAPE.exec(cookie);
  const id = match?.[1];
  const secret = match?.[2];
  return id === undefined || secret === undefined ? undefined : { id, secret };
}

export class OidcSignIn {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly client: OidcLoginClient,
    /** The sign-in page's link text (`ui.oidc.label`). */
    readonly label: string,
  ) {}

  /**
   * Starts a login that returns to `next` (already a safe local path): the cookie value to set
   * for `maxAgeSeconds`, and the provider's authorization URL to redirect to. SERVICE_UNAVAILABLE
   * when the provider's configuration cannot be loaded (nothing is stored then).
   */
  async begin(next: string): Promise<{ cookie: string; maxAgeSeconds: number; location: string }> {
    const secrets = newLoginSecrets();
    const location = await this.client.authorizationUrl(secrets);
    const secret = randomBytes(32).toString('base64url');
    const now = this.clock.now();
    const login: OidcLogin = {
      id: newId(),
      secretHash: sha256Hex(secret),
      ...secrets,
      next,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + OIDC_LOGIN_TTL_MS).toISOString(),
    };
    await this.store.transaction(async (tx) => {
      // Abandoned logins go as new ones arrive: the table holds at most ten minutes' worth.
      await tx.deleteOidcLoginsExpiredBefore(login.createdAt);
      await tx.insertOidcLogin(login);
    });
    return { cookie: `${login.id}.${secret}`, maxAgeSeconds: OIDC_LOGIN_TTL_MS / 1000, location };
  }

  /**
   * Completes the login the cookie names with the provider's callback. The pending login is
   * consumed before anything else is checked. SERVICE_UNAVAILABLE when the provider's
   * configuration cannot be loaded; every other failure is a refusal with its reason.
   */
  async complete(cookie: string | undefined, params: OidcCallbackParams): Promise<OidcSignInResult> {
    const parsed = parseCookie(cookie);
    if (parsed === undefined) return refused('no_pending_login', '/models');
    const login = await this.store.getOidcLogin(parsed.id);
    if (login === undefined || !hashesEqual(login.secretHash, sha256Hex(parsed.secret))) return refused('no_pending_login', '/models');
    const consumed = await this.store.transaction((tx) => tx.deleteOidcLogin(login.id));
    // A concurrent callback with the same cookie took it first.
    if (!consumed) return refused('no_pending_login', login.next);
    const next = login.next;
    if (this.clock.now().getTime() >= Date.parse(login.expiresAt)) return refused('expired', next);
    if (params.state === null || params.state.length > MAX_PARAM_LENGTH || !sameText(params.state, login.state)) return refused('state_mismatch', next);
    // RFC 9207: an answer from another issuer (a mix-up attack) is refused before its code is used.
    if (params.iss !== null && params.iss !== this.client.issuer) return refused('wrong_issuer', next);
    if (params.error !== null) {
      const code = /^[\x20-\x7E]{1,64}$/.test(params.error) ? params.error : 'unknown_error';
      return refused('idp_error', next, { idpError: code });
    }
    if (params.code === null || params.code.length === 0 || params.code.length > MAX_PARAM_LENGTH) return refused('missing_code', next);
    const result = await this.client.redeem(params.code, login);
    if (!result.ok) return refused(result.reason, next, result.detail === undefined ? {} : { detail: result.detail });
    const { issuer, subject } = result.token;
    const principal = await this.store.findPrincipalByOidc(issuer, subject);
    if (principal === undefined || principal.kind !== 'user' || principal.disabledAt !== null) {
      const detail = principal === undefined ? 'no principal is bound' : principal.kind !== 'user' ? 'the bound principal is not a user' : 'the bound principal is disabled';
      return refused('no_principal', next, { identity: { issuer, subject }, detail });
    }
    return { ok: true, principal, identity: result.token, next };
  }

  /** Deletes pending logins that expired; returns how many. */
  async expire(): Promise<number> {
    const now = this.clock.now().toISOString();
    return this.store.transaction((tx) => tx.deleteOidcLoginsExpiredBefore(now));
  }
}
