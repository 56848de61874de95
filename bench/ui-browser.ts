/**
 * The web UI as `bench:ui` requests it, standing in for a browser (issue 8 §2): it signs in once
 * through the sign-in form (`POST /sign-in`, `token=<API token>`, same-origin as a browser's form
 * post is), keeps the `__Host-custody_session` cookie the server answers with, and sends it with
 * every page request. Each request is timed on the client's wall clock from just before it is sent
 * until its whole body has been read, over Node's `fetch` with kept-alive connections, like
 * `registry-api.ts` times the API. Redirects are not followed: a page that answers 303 (to
 * `/sign-in`, say) is reported, never timed as the page.
 */
import { performance } from 'node:perf_hooks';

const SESSION_COOKIE = '__Host-custody_session';

export interface PageReply {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
  /** Client-side wall clock of the request, response body included. */
  readonly ms: number;
}

/** One GET, timed; `headers` are sent as given. */
export async function timedGet(url: string, headers: Readonly<Record<string, string>>): Promise<PageReply> {
  const started = performance.now();
  const response = await fetch(url, { headers, redirect: 'manual' });
  const body = await response.text();
  const ms = performance.now() - started;
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', body, ms };
}

export class UiBrowser {
  private constructor(
    readonly baseUrl: string,
    private readonly cookie: string,
  ) {}

  /** Signs in with `token` through the form and keeps the session cookie; throws unless it is set. */
  static async signIn(baseUrl: string, token: string): Promise<UiBrowser> {
    const response = await fetch(`${baseUrl}/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(baseUrl).origin, 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ token, next: '/models' }).toString(),
      redirect: 'manual',
    });
    await response.text();
    if (response.status !== 303) throw new Error(`POST /sign-in answered ${response.status}, not 303`);
    for (const header of response.headers.getSetCookie()) {
      const [pair] = header.split(';');
      const eq = pair?.indexOf('=') ?? -1;
      if (pair !== undefined && eq > 0 && pair.slice(0, eq).trim() === SESSION_COOKIE) {
        const value = pair.slice(eq + 1).trim();
        if (value !== '') return new UiBrowser(baseUrl, `${SESSION_COOKIE}=${value}`);
      }
    }
    throw new Error(`POST /sign-in set no ${SESSION_COOKIE} cookie`);
  }

  /** A page of the UI under the session, timed. */
  get(pagePath: string): Promise<PageReply> {
    return timedGet(`${this.baseUrl}${pagePath}`, { cookie: this.cookie, accept: 'text/html' });
  }
}
