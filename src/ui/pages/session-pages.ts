/**
 * Signing in and out of the web UI (issue 8 §2). The browser never holds an API token: the user
 * pastes one into the sign-in form once; the server checks it (`SessionService.signIn`, the same
 * check as a bearer token) and answers with a session cookie. Failed sign-ins count against the
 * client like failed API authentications. Sign-out is a POST with the session's CSRF token. With
 * `ui.oidc` configured, the page offers single sign-on first (`oidc-pages.ts`).
 */
import { CustodyError } from '../../domain/errors.js';
import { html, type Html } from '../html.js';
import { definePage, type PageDef } from '../page.js';
import { sessionCookieHeader } from '../ui-front.js';

/** Where to go after signing in: a path on this server, never elsewhere. */
export function safeNext(next: string | null): string {
  return next !== null && next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\') && next.length <= 2048 ? next : '/models';
}

/** The single sign-on link (when `ui.oidc` is configured), above the token form. */
function singleSignOn(label: string | undefined, next: string): Html | string {
  if (label === undefined) return '';
  return html`<p><a id="sign-in-oidc" href="/sign-in/oidc?next=${encodeURIComponent(next)}">${label}</a></p>
<h2>Or paste an API token</h2>`;
}

function signInForm(next: string, ssoLabel: string | undefined, error?: string): Html {
  return html`<h1>Sign in</h1>
${error === undefined ? '' : html`<p class="error" role="alert" id="sign-in-error">${error}</p>`}
${singleSignOn(ssoLabel, next)}
<form class="stack" method="post" action="/sign-in">
  <label for="token">API token</label>
  <input id="token" name="token" type="password" autocomplete="off" required maxlength="600"${error === undefined ? '' : html` aria-describedby="sign-in-error"`}>
  <input type="hidden" name="next" value="${next}">
  <button type="submit">Sign in</button>
</form>
<p class="muted">Create a token with <code>custody token create --name browser</code>. The token is checked once and never stored in the browser: the server keeps a session instead.</p>`;
}

export const sessionPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/',
    access: 'public',
    handle: ({ signedIn }) => Promise.resolve({ kind: 'redirect', location: signedIn === undefined ? '/sign-in' : '/models' }),
  }),
  definePage({
    method: 'GET',
    path: '/sign-in',
    access: 'public',
    handle: ({ url, services }) => Promise.resolve({ kind: 'page', title: 'Sign in', body: signInForm(safeNext(url.searchParams.get('next')), services.sessions.oidc?.label) }),
  }),
  definePage({
    method: 'POST',
    path: '/sign-in',
    access: 'public',
    authAttempt: true,
    handle: async ({ form, services, sessionCookie, audit }) => {
      const next = safeNext(form.get('next'));
      try {
        const { cookie, session, actor } = await services.sessions.signIn(form.get('token') ?? '');
        audit('session.started', { principal: actor.principal.name, via: actor.via, signedInWith: actor.tokenId, session: session.id, expiresAt: session.expiresAt });
        // A new sign-in replaces the browser's old session.
        if (sessionCookie !== undefined) await services.sessions.signOut(sessionCookie);
        const seconds = (Date.parse(session.expiresAt) - Date.now()) / 1000;
        return { kind: 'redirect', location: next, setCookies: [sessionCookieHeader(cookie, seconds)] };
      } catch (error) {
        if (error instanceof CustodyError && error.code === 'UNAUTHENTICATED') {
          audit('session.refused');
          return { kind: 'page', title: 'Sign in', status: 401, body: signInForm(next, services.sessions.oidc?.label, 'That token was not accepted: it is unknown, revoked or expired, or its principal is disabled.') };
        }
        throw error;
      }
    },
  }),
  definePage({
    method: 'POST',
    path: '/sign-out',
    access: 'signed-in',
    handle: async ({ services, sessionCookie, signedIn, audit }) => {
      await services.sessions.signOut(sessionCookie);
      audit('session.ended', { session: signedIn?.session.id ?? null });
      return { kind: 'redirect', location: '/sign-in', setCookies: [sessionCookieHeader('', 0)] };
    },
  }),
];
