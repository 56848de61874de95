/**
 * A real OpenID Provider for the web UI's single sign-on tests (issue 8 §2): panva's certified
 * `oidc-provider` on 127.0.0.1 with an ES256 signing key generated here, one confidential client
 * (client_secret_basic, authorization code only, PKCE required) whose redirect URI is the
 * registry's callback, and the provider's built-in development login form (`devInteractions`:
 * any login name becomes the subject). Consent is granted automatically for the `openid` scope,
 * so a login is one form. `login` drives that form over HTTP (manual redirects, a cookie jar) and
 * returns the callback URL the provider redirects to; browser tests use the same page in Chromium.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';
import { expect } from 'vitest';

export interface TestOpenIdProvider {
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly redirectUri: string;
  /**
   * Follows `authorizationUrl` at the provider, signs in as `subject` through its login form, and
   * returns the URL the provider sends the browser back to (the registry's callback with `code`).
   */
  login(authorizationUrl: string, subject: string): Promise<string>;
  /** Follows `authorizationUrl` to the login form and cancels it: the callback URL with `error=access_denied`. */
  abort(authorizationUrl: string): Promise<string>;
  close(): Promise<void>;
}

/** A free loopback port (bound, then released): the registry's, known before the provider registers its callback. */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

/** A `Cookie` header kept across redirects to one origin (names only; no paths, no expiry beyond Max-Age=0). */
class CookieJar {
  readonly #cookies = new Map<string, string>();

  header(): string {
    return [...this.#cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }

  take(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const expired = attributes.some((a) => /^\s*max-age=0\s*$/i.test(a) || /^\s*expires=thu, 01 jan 1970/i.test(a));
      if (expired) this.#cookies.delete(name);
      else this.#cookies.set(name, pair.slice(eq + 1).trim());
    }
  }
}

/** Starts the provider; `redirectUri` is the registry's `/sign-in/oidc/callback`. Stop it with `close`. */
export async function startOpenIdProvider(redirectUri: string): Promise<TestOpenIdProvider> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const signingKey = { ...(await exportJWK(privateKey)), kid: 'test-es256', alg: 'ES256', use: 'sig' };
  const clientId = 'custody-ui';
  const clientSecret = `secret-${crypto.randomUUID()}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [signingKey] },
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    cookies: { keys: [crypto.randomUUID()] },
    ttl: { Interaction: 600, Grant: 600, Session: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
    findAccount: (_ctx: KoaContextWithOIDC, id: string) => Promise.resolve({ accountId: id, claims: () => Promise.resolve({ sub: id }) }),
    // The provider's recipe for first-party clients: grant `openid` without a consent screen.
    loadExistingGrant: async (ctx: KoaContextWithOIDC) => {
      const client = ctx.oidc.client;
      const session = ctx.oidc.session;
      if (client === undefined || session === undefined) return undefined;
      const grantId = ctx.oidc.result?.['consent']?.grantId ?? session.grantIdFor(client.clientId);
      if (grantId !== undefined) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId ?? '' });
      grant.addOIDCScope('openid');
      await grant.save();
      return grant;
    },
  });
  server.on('request', provider.callback());

  /** Follows redirects at the provider until one leaves it; returns that URL. `atForm` answers the login form. */
  async function drive(authorizationUrl: string, atForm: (form: { action: string; uid: string }) => { url: string; init: RequestInit }): Promise<string> {
    const jar = new CookieJar();
    let next: { url: string; init: RequestInit } = { url: authorizationUrl, init: {} };
    for (let hop = 0; hop < 20; hop += 1) {
      const response = await fetch(next.url, { ...next.init, redirect: 'manual', headers: { ...(next.init.headers as Record<string, string> | undefined), cookie: jar.header() } });
      jar.take(response);
      const body = await response.text();
      const location = response.headers.get('location');
      if (location !== null) {
        const target = new URL(location, next.url).toString();
        if (!target.startsWith(issuer)) return target;
        next = { url: target, init: {} };
        continue;
      }
      expect(response.status, body).toBe(200);
      const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1];
      if (action === undefined) throw new Error(`the provider's page has no form: ${body.slice(0, 500)}`);
      const absolute = new URL(action.replace(/&amp;/g, '&'), next.url).toString();
      next = atForm({ action: absolute, uid: absolute.split('/').pop() ?? '' });
    }
    throw new Error('too many redirects at the provider');
  }

  return {
    issuer,
    clientId,
    clientSecret,
    redirectUri,
    login: (authorizationUrl, subject) =>
      drive(authorizationUrl, ({ action }) => ({
        url: action,
        init: {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ prompt: 'login', login: subject, password: 'any' }).toString(),
        },
      })),
    abort: (authorizationUrl) => drive(authorizationUrl, ({ action }) => ({ url: `${action}/abort`, init: {} })),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
