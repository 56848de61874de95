/**
 * Single sign-on pages of the web UI (issue 8 §2): `GET /sign-in/oidc` starts a login at the
 * configured OpenID Provider (`ui.oidc`) and `GET /sign-in/oidc/callback` completes it into a
 * session, the same session a pasted API token starts. The protocol lives in
 * `auth/oidc-login.ts`, the pending login in `service/oidc-sign-in.ts`; these pages only move
 * cookies and render the outcome. The callback checks a credential, so refusals answer 401 and
 * count against the client like failed token sign-ins. No code, token or cookie value is shown or
 * logged.
 */
import { CustodyError } from '../../domain/errors.js';
import type { OidcSignIn, OidcSignInResult } from '../../service/oidc-sign-in.js';
import { html, type Html } from '../html.js';
import { definePage, type PageContext, type PageDef, type PageResult } from '../page.js';
import { cookieValue, sessionCookieHeader } from '../ui-front.js';
import { safeNext } from './session-pages.js';

/** The pending login's cookie: `__Host-` (this host, path `/`, Secure), HttpOnly, Lax so the provider's redirect back carries it. */
export const OIDC_LOGIN_COOKIE = '__Host-custody_oidc';

/** The `Set-Cookie` value that sets (or, with 0, clears) the pending login's cookie. */
export function oidcLoginCookieHeader(value: string, maxAgeSeconds: number): string {
  return `${OIDC_LOGIN_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

function signOnOf(ctx: PageContext): OidcSignIn {
  const oidc = ctx.services.sessions.oidc;
  if (oidc === undefined) throw new CustodyError('NOT_FOUND', 'single sign-on is not configured on this registry');
  return oidc;
}

/** The sentence a refused login shows (the reason code goes to the audit log). */
function refusalText(result: Extract<OidcSignInResult, { ok: false }>): Html {
  switch (result.reason) {
    case 'idp_error':
      return html`The identity provider did not sign you in: it answered <code>${result.idpError ?? 'unknown_error'}</code>.`;
    case 'no_principal':
      return html`No Custody principal is bound to this identity (issuer <code>${result.identity?.issuer ?? ''}</code>, subject <code>${result.identity?.subject ?? ''}</code>). An administrator can bind one with <code>custody principals create NAME --kind user --oidc-issuer ISSUER --oidc-subject SUBJECT</code>.`;
    case 'no_pending_login':
      return html`This sign-in was not started in this browser, or was already used.`;
    case 'expired':
      return html`This sign-in took too long (more than 10 minutes).`;
    case 'state_mismatch':
      return html`This sign-in does not match the one this browser started.`;
    default:
      return html`The identity provider's answer was not accepted.`;
  }
}

function refusedPage(result: Extract<OidcSignInResult, { ok: false }>): PageResult {
  return {
    kind: 'page',
    title: 'Sign-in refused',
    status: 401,
    body: html`<h1>Sign-in refused</h1>
<p class="error" role="alert">${refusalText(result)}</p>
<p><a href="/sign-in?next=${encodeURIComponent(result.next)}">Sign in again</a></p>`,
  };
}

export const oidcPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/sign-in/oidc',
    access: 'public',
    handle: async (ctx) => {
      const { cookie, maxAgeSeconds, location } = await signOnOf(ctx).begin(safeNext(ctx.url.searchParams.get('next')));
      return { kind: 'redirect', location, offSite: true, setCookies: [oidcLoginCookieHeader(cookie, maxAgeSeconds)] };
    },
  }),
  definePage({
    method: 'GET',
    path: '/sign-in/oidc/callback',
    access: 'public',
    authAttempt: true,
    handle: async (ctx) => {
      const { url, services, sessionCookie, audit } = ctx;
      const query = url.searchParams;
      const result = await signOnOf(ctx).complete(cookieValue(ctx.req.headers.cookie, OIDC_LOGIN_COOKIE), {
        code: query.get('code'),
        state: query.get('state'),
        error: query.get('error'),
        iss: query.get('iss'),
      });
      if (!result.ok) {
        audit('session.refused', {
          via: 'oidc',
          reason: result.reason,
          ...(result.detail === undefined ? {} : { detail: result.detail }),
          ...(result.idpError === undefined ? {} : { idpError: result.idpError }),
          ...(result.identity === undefined ? {} : { issuer: result.identity.issuer, subject: result.identity.subject }),
        });
        return refusedPage(result);
      }
      let started;
      try {
        started = await services.sessions.signInOidc(result.principal.id);
      } catch (error) {
        // Disabled between the check and the session.
        if (error instanceof CustodyError && error.code === 'UNAUTHENTICATED') {
          audit('session.refused', { via: 'oidc', reason: 'no_principal', detail: 'the bound principal is disabled' });
          return refusedPage({ ok: false, reason: 'no_principal', next: result.next, identity: result.identity });
        }
        throw error;
      }
      const { cookie, session, actor } = started;
      audit('session.started', {
        principal: actor.principal.name,
        via: 'oidc',
        issuer: result.identity.issuer,
        subject: result.identity.subject,
        session: session.id,
        expiresAt: session.expiresAt,
      });
      // A new sign-in replaces the browser's old session.
      if (sessionCookie !== undefined) await services.sessions.signOut(sessionCookie);
      const seconds = (Date.parse(session.expiresAt) - Date.now()) / 1000;
      return { kind: 'redirect', location: result.next, setCookies: [sessionCookieHeader(cookie, seconds), oidcLoginCookieHeader('', 0)] };
    },
  }),
];
