/**
 * Serves the web UI's pages (issue 8 §1–3) beside the API on the same server. One request:
 *   1. match the page table (`Router`, the API's path matching);
 *   2. resume the session from the `__Host-custody_session` cookie (HttpOnly, Secure,
 *      SameSite=Lax) — cookies are read here only, never by the API, which takes bearer
 *      credentials alone;
 *   3. for a POST: refuse cross-site requests (`Sec-Fetch-Site` other than same-origin, or an
 *      `Origin` that is not this server), read the urlencoded form (bounded), and check its `csrf`
 *      field against the session's token;
 *   4. check the page's permission through `AuthService.authorize`, exactly as the API does, and
 *      a recent sign-in where the page asks for one;
 *   5. render the page in the shared layout with a per-response CSP nonce, or redirect (303).
 * Errors become an HTML error page with the stable code; nothing about a credential is shown.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { statusOf } from '../api/problem.js';
import { Router } from '../api/router.js';
import type { Services } from '../api/services.js';
import type { Scope } from '../auth/permissions.js';
import { CustodyError } from '../domain/errors.js';
import type { FailureLimiter } from '../auth/failure-limiter.js';
import type { Logger } from '../observability/logger.js';
import { html } from './html.js';
import { renderDocument } from './layout.js';
import type { PageContext, PageDef, PageResult, SignedIn } from './page.js';
import { newNonce, pageSecurityHeaders } from './security-headers.js';
import { UI_ASSETS } from './assets/ui-assets.js';

/** The session cookie's name: `__Host-` binds it to this host, path `/`, and HTTPS-or-localhost. */
export const SESSION_COOKIE = '__Host-custody_session';
/** Form bodies are small: a token, a reason, a CSRF token. */
const MAX_FORM_BYTES = 64 * 1024;
const ASSET_PREFIX = '/ui/assets/';

/** The `Set-Cookie` value that starts (or, with `maxAgeSeconds` 0, clears) the session cookie. */
export function sessionCookieHeader(value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`;
}

/** One cookie's value from a `Cookie` header, or undefined. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 8192) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export class UiFront {
  private readonly router: Router<PageDef>;

  constructor(
    pages: readonly PageDef[],
    private readonly services: Services,
    private readonly logger: Logger,
    private readonly failures: FailureLimiter,
  ) {
    this.router = new Router(pages);
  }

  /** Whether this request is the UI's: a page path or an asset (everything else is the API's). */
  owns(method: string, pathname: string): boolean {
    if (pathname.startsWith(ASSET_PREFIX)) return true;
    try {
      this.router.match(method, pathname);
      return true;
    } catch (error) {
      // A page path with another method is still the UI's (405 page).
      return error instanceof CustodyError && error.code === 'METHOD_NOT_ALLOWED';
    }
  }

  async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    const nonce = newNonce();
    let signedIn: SignedIn | undefined;
    try {
      if (url.pathname.startsWith(ASSET_PREFIX)) {
        this.serveAsset(req, res, url.pathname.slice(ASSET_PREFIX.length));
        return;
      }
      const { route: page, params } = this.router.match(req.method ?? 'GET', url.pathname);
      const sessionCookie = cookieValue(req.headers.cookie, SESSION_COOKIE);
      signedIn = await this.services.sessions.resume(sessionCookie);
      let form = new URLSearchParams();
      if (page.method === 'POST') {
        checkSameOrigin(req, this.services.config.server.publicUrl);
        form = await readForm(req);
        if (page.access !== 'public') checkCsrf(form, signedIn);
      }
      if (page.access !== 'public') {
        if (signedIn === undefined) {
          if (page.method === 'GET') {
            this.write(res, { kind: 'redirect', location: `/sign-in?next=${encodeURIComponent(url.pathname + url.search)}` }, nonce, undefined, url);
            return;
          }
          throw new CustodyError('UNAUTHENTICATED', 'sign in first');
        }
        if (page.access !== 'signed-in') {
          const scope: Scope = page.access.scope === 'global' ? {} : page.access.scope === 'any' ? 'any' : page.access.scope(params);
          this.services.auth.authorize(signedIn.actor, page.access.permission, scope);
        }
        if (page.recentAuth === true && !this.services.sessions.isRecent(signedIn.session)) {
          throw new CustodyError('FORBIDDEN', 'this action needs a recent sign-in: sign in again to confirm it is you', { details: { rule: 'recentSignIn' } });
        }
      }
      const client = req.socket.remoteAddress ?? 'unknown';
      if (page.authAttempt === true) {
        const wait = this.failures.retryAfter(client, Date.now());
        if (wait !== undefined) throw new CustodyError('RATE_LIMITED', 'too many failed sign-ins; try again later', { details: { retryAfter: wait } });
      }
      const audit: PageContext['audit'] = (action, fields = {}) => {
        this.logger.info('ui audit', { action, principal: signedIn?.actor.principal.name ?? null, path: url.pathname, client, ...fields });
      };
      const ctx: PageContext = { req, url, params, form, signedIn, services: this.services, sessionCookie, nonce, audit };
      const result = await page.handle(ctx);
      if (page.authAttempt === true && result.kind === 'page' && result.status === 401) this.failures.recordFailure(client, Date.now());
      this.write(res, result, nonce, signedIn, url);
    } catch (error) {
      this.writeError(res, error, nonce, signedIn, url);
    }
  }

  private serveAsset(req: IncomingMessage, res: ServerResponse, name: string): void {
    const asset = UI_ASSETS.get(name);
    if (asset === undefined || (req.method !== 'GET' && req.method !== 'HEAD')) throw new CustodyError('NOT_FOUND', 'no such asset');
    res.writeHead(200, {
      'content-type': asset.contentType,
      'content-length': String(Buffer.byteLength(asset.body)),
      'x-content-type-options': 'nosniff',
      'cache-control': 'public, max-age=300',
      'cross-origin-resource-policy': 'same-origin',
    });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  }

  private write(res: ServerResponse, result: PageResult, nonce: string, signedIn: SignedIn | undefined, url: URL): void {
    if (result.kind === 'redirect') {
      // Only paths on this server: a redirect target never comes from elsewhere (single sign-on's
      // redirect to the configured identity provider is the one `offSite` result).
      const location = result.offSite === true || (result.location.startsWith('/') && !result.location.startsWith('//')) ? result.location : '/';
      res.writeHead(303, { ...pageSecurityHeaders(nonce), location, ...(result.setCookies === undefined ? {} : { 'set-cookie': [...result.setCookies] }) });
      res.end();
      return;
    }
    if (result.kind === 'download') {
      // A plain file name only: nothing from the request reaches the header unchecked.
      const filename = /^[A-Za-z0-9._-]{1,100}$/.test(result.filename) ? result.filename : 'download';
      res.writeHead(200, {
        ...pageSecurityHeaders(nonce),
        'content-type': result.contentType,
        'content-disposition': `attachment; filename="${filename}"`,
        'content-length': String(Buffer.byteLength(result.body)),
      });
      res.end(result.body);
      return;
    }
    if (result.kind === 'data') {
      res.writeHead(200, { ...pageSecurityHeaders(nonce), 'content-type': result.contentType, 'content-length': String(Buffer.byteLength(result.body)) });
      res.end(result.body);
      return;
    }
    const body = renderDocument({ title: result.title, main: result.body, signedIn, path: url.pathname, nonce });
    res.writeHead(result.status ?? 200, { ...pageSecurityHeaders(nonce), 'content-type': 'text/html; charset=utf-8', 'content-length': String(Buffer.byteLength(body)) });
    res.end(body);
  }

  private writeError(res: ServerResponse, error: unknown, nonce: string, signedIn: SignedIn | undefined, url: URL): void {
    const known = error instanceof CustodyError ? error : undefined;
    const code = known?.code ?? 'INTERNAL';
    const status = known === undefined ? 500 : statusOf(known.code);
    if (status >= 500) this.logger.error('ui page failed', { code, path: url.pathname, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const message = status >= 500 && code === 'INTERNAL' ? 'Something went wrong on the server.' : (known?.message ?? '');
    const main = html`<h1>${titleOf(status)}</h1>
<p class="error" role="alert"><strong>${code}</strong>: ${message}</p>
${code === 'UNAUTHENTICATED' ? html`<p><a href="/sign-in">Sign in</a></p>` : ''}
${known?.details?.['rule'] === 'recentSignIn' ? html`<p><a href="/sign-in?next=${encodeURIComponent(url.pathname)}">Sign in again</a></p>` : ''}`;
    this.write(res, { kind: 'page', title: titleOf(status), body: main, status }, nonce, signedIn, url);
  }
}

function titleOf(status: number): string {
  if (status === 401) return 'Sign-in required';
  if (status === 403) return 'Not allowed';
  if (status === 404) return 'Not found';
  if (status === 405) return 'Method not allowed';
  if (status >= 500) return 'Server error';
  return 'Request refused';
}

/**
 * A form post must come from this server's own pages: `Sec-Fetch-Site: same-origin` when the
 * browser sends it, and an `Origin` naming this host when one is sent.
 */
function checkSameOrigin(req: IncomingMessage, publicUrl: string | undefined): void {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') throw new CustodyError('FORBIDDEN', 'cross-site form posts are refused', { details: { rule: 'sameOrigin' } });
  const origin = req.headers.origin;
  if (origin === undefined) return;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    throw new CustodyError('FORBIDDEN', 'cross-site form posts are refused', { details: { rule: 'sameOrigin' } });
  }
  const expected = publicUrl === undefined ? req.headers.host : new URL(publicUrl).host;
  if (expected === undefined || host !== expected) throw new CustodyError('FORBIDDEN', 'cross-site form posts are refused', { details: { rule: 'sameOrigin' } });
}

function checkCsrf(form: URLSearchParams, signedIn: SignedIn | undefined): void {
  const sent = Buffer.from(form.get('csrf') ?? '');
  const expected = Buffer.from(signedIn?.session.csrfToken ?? '');
  if (expected.length === 0 || sent.length !== expected.length || !timingSafeEqual(sent, expected)) {
    throw new CustodyError('FORBIDDEN', 'the form is stale or was not sent by this site; reload the page and try again', { details: { rule: 'csrf' } });
  }
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') throw new CustodyError('UNSUPPORTED_MEDIA_TYPE', 'forms are sent as application/x-www-form-urlencoded');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new CustodyError('BODY_TOO_LARGE', `a form may have at most ${MAX_FORM_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.includes('\uFFFD')) throw new CustodyError('BAD_REQUEST', 'the form is not valid UTF-8');
  return new URLSearchParams(text);
}
