/**
 * HTTP-level helpers for the web UI's page tests (issue 8 §1–3; shared/reference/ui-screens.md):
 * fetch a page as a browser would (no redirect following, a session cookie, a urlencoded form
 * post) and sign in through `POST /sign-in` to get the session's `__Host-` cookie and CSRF token.
 * The browser-level helpers live in `test/support/browser.ts`.
 */
import { expect } from 'vitest';
import type { TestRegistry } from './registry.js';

/** A page's reply: status, headers and body text. */
export interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
}

/** How {@link page} requests a page. */
export interface PageInit {
  /** The `Cookie` header value, e.g. the session cookie from {@link signIn}. */
  readonly cookie?: string;
  /** The HTTP method; `POST` when `form` is given, `GET` otherwise. */
  readonly method?: string;
  /** Fields posted urlencoded. */
  readonly form?: Record<string, string>;
  /**
   * Extra request headers. On a form post, giving `headers` (even `{}`) replaces the default
   * same-origin `Origin` and `Sec-Fetch-Site` headers, so a test can post cross-site or without them.
   */
  readonly headers?: Record<string, string>;
}

/** The session a sign-in started: its `Cookie` header value, its id and its CSRF token. */
export interface UiSessionCookie {
  readonly cookie: string;
  /** The session id: the cookie value's part before the `.`. */
  readonly sessionId: string;
  readonly csrf: string;
}

/**
 * Requests `path` from the registry without following redirects. A form post carries, unless
 * `init.headers` is given, the `Origin` and `Sec-Fetch-Site: same-origin` headers a browser
 * sends for the registry's own forms.
 */
export async function page(reg: Pick<TestRegistry, 'url'>, path: string, init: PageInit = {}): Promise<Reply> {
  const sameOrigin = { origin: reg.url, 'sec-fetch-site': 'same-origin' };
  const response = await fetch(`${reg.url}${path}`, {
    method: init.method ?? (init.form === undefined ? 'GET' : 'POST'),
    redirect: 'manual',
    headers: {
      ...(init.cookie === undefined ? {} : { cookie: init.cookie }),
      ...(init.form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded', ...(init.headers === undefined ? sameOrigin : {}) }),
      ...(init.headers ?? {}),
    },
    ...(init.form === undefined ? {} : { body: new URLSearchParams(init.form).toString() }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

/**
 * Signs in with `token` through the sign-in form, asking to go `next` afterwards; asserts the
 * 303 and returns the `Cookie` header value of the session it started.
 */
export async function signInCookie(reg: Pick<TestRegistry, 'url'>, token: string, next = '/models'): Promise<string> {
  const reply = await page(reg, '/sign-in', { form: { token, next } });
  expect(reply.status, reply.text).toBe(303);
  return (reply.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
}

/**
 * Signs in with `token` ({@link signInCookie}), then loads `next` with the cookie (asserting a
 * 200) and reads the session's CSRF token from its form field. Throws when the page has none.
 */
export async function signIn(reg: Pick<TestRegistry, 'url'>, token: string, next = '/models'): Promise<UiSessionCookie> {
  const cookie = await signInCookie(reg, token, next);
  const landing = await page(reg, next, { cookie });
  expect(landing.status, landing.text).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(landing.text)?.[1];
  if (csrf === undefined) throw new Error(`no CSRF field on ${next}`);
  return { cookie, sessionId: cookie.slice(cookie.indexOf('=') + 1).split('.')[0] ?? '', csrf };
}
