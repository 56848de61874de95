/**
 * The web UI's OIDC client checks (issue 8 §2; OpenID Connect Core §3.1.3.7, Discovery §4.3):
 * ID tokens minted here with `jose` and verified against a JWKS served on 127.0.0.1 — a good one
 * passes; a wrong nonce, audience, azp, issuer, an expired or future token, `alg: none`, HS256
 * keyed with the public key, an algorithm off the allow-list and a key not in the set are each
 * refused with their reason. Discovery accepts only a document naming the configured issuer
 * exactly, with https (or loopback) endpoints, fetched once and cached; PKCE's S256 challenge
 * matches RFC 7636's example.
 */
import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openJwksSource, type JwksSource } from '../../src/auth/jwks-source.js';
import { OidcDiscovery, parseDiscoveryDocument } from '../../src/auth/oidc-discovery.js';
import { codeChallenge, newLoginSecrets, verifyIdToken, type IdTokenExpectations } from '../../src/auth/oidc-login.js';

const ISSUER = 'https://idp.example.com';
const CLIENT_ID = 'custody-ui';
const NONCE = 'n-0S6_WzA2Mj';

/** One node:http server answering fixed bodies by path, counting requests. */
class FixedServer {
  readonly bodies = new Map<string, string>();
  readonly hits = new Map<string, number>();
  #server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.#server = createServer((request, response) => {
      const path = request.url ?? '';
      this.hits.set(path, (this.hits.get(path) ?? 0) + 1);
      const body = this.bodies.get(path);
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    });
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => { resolve(); }));
  }
}

describe('ID token verification against a JWKS served over HTTP', () => {
  const server = new FixedServer();
  let keys: JwksSource;
  let privateKey: CryptoKey;
  let publicJwk: Record<string, unknown>;
  let strangerKey: CryptoKey;
  const now = new Date();
  const seconds = Math.floor(now.getTime() / 1000);
  const expectations: IdTokenExpectations = { issuer: ISSUER, clientId: CLIENT_ID, algorithms: ['ES256', 'EdDSA', 'RS256'], nonce: NONCE, clockSkewSeconds: 60, now };

  function claims(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return { iss: ISSUER, sub: 'alice-sub', aud: CLIENT_ID, nonce: NONCE, iat: seconds - 5, exp: seconds + 300, ...overrides };
  }

  async function mint(payload: Record<string, unknown> = claims(), key: CryptoKey = privateKey, kid = 'k1'): Promise<string> {
    return new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' }).sign(key);
  }

  const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    privateKey = pair.privateKey;
    publicJwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    strangerKey = (await generateKeyPair('ES256')).privateKey;
    await server.start();
    server.bodies.set('/jwks', JSON.stringify({ keys: [publicJwk] }));
    keys = openJwksSource(`${server.url}/jwks`, { baseDir: '/' });
  });

  afterAll(async () => {
    await server.stop();
  });

  it('accepts a good token and returns its issuer, subject and claims', async () => {
    const result = await verifyIdToken(await mint(), keys, expectations);
    expect(result).toMatchObject({ ok: true, token: { issuer: ISSUER, subject: 'alice-sub', claims: { nonce: NONCE } } });
  });

  it('accepts several audiences when azp is the client, and refuses them when it is not', async () => {
    expect((await verifyIdToken(await mint(claims({ aud: [CLIENT_ID, 'other'], azp: CLIENT_ID })), keys, expectations)).ok).toBe(true);
    expect(await verifyIdToken(await mint(claims({ aud: [CLIENT_ID, 'other'] })), keys, expectations)).toEqual({ ok: false, reason: 'wrong_azp' });
    expect(await verifyIdToken(await mint(claims({ aud: [CLIENT_ID, 'other'], azp: 'other' })), keys, expectations)).toEqual({ ok: false, reason: 'wrong_azp' });
  });

  it.each([
    ['a wrong nonce', claims({ nonce: 'replayed' }), 'wrong_nonce'],
    ['no nonce', claims({ nonce: undefined }), 'missing_claim'],
    ['a wrong audience', claims({ aud: 'someone-else' }), 'wrong_audience'],
    ['a wrong issuer', claims({ iss: 'https://evil.example.com' }), 'wrong_issuer'],
    ['an expired token', claims({ iat: seconds - 900, exp: seconds - 600 }), 'expired'],
    ['a token not valid yet', claims({ nbf: seconds + 600 }), 'not_yet_valid'],
    ['a token issued in the future', claims({ iat: seconds + 600, exp: seconds + 900 }), 'issued_in_future'],
    ['no subject', claims({ sub: undefined }), 'missing_claim'],
  ])('refuses %s', async (_label, payload, reason) => {
    const result = await verifyIdToken(await mint(payload), keys, expectations);
    expect(result).toMatchObject({ ok: false, reason });
  });

  it('refuses alg none, HS256 keyed with the public key, an algorithm off the allow-list and a key not in the set', async () => {
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
    expect(await verifyIdToken(none, keys, expectations)).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    const input = `${b64({ alg: 'HS256', kid: 'k1', typ: 'JWT' })}.${b64(claims())}`;
    const hs256 = `${input}.${createHmac('sha256', JSON.stringify(publicJwk)).update(input).digest('base64url')}`;
    expect(await verifyIdToken(hs256, keys, expectations)).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    expect(await verifyIdToken(await mint(), keys, { ...expectations, algorithms: ['EdDSA'] })).toEqual({ ok: false, reason: 'algorithm_not_allowed' });
    expect(await verifyIdToken(await mint(claims(), strangerKey, 'k1'), keys, expectations)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(await verifyIdToken(await mint(claims(), strangerKey, 'k2'), keys, expectations)).toMatchObject({ ok: false, reason: 'unknown_key' });
    expect(await verifyIdToken('not a token', keys, expectations)).toEqual({ ok: false, reason: 'malformed' });
  });
});

describe('OpenID Provider discovery', () => {
  const server = new FixedServer();
  const document = (issuer: string, overrides: Record<string, unknown> = {}): string =>
    JSON.stringify({ issuer, authorization_endpoint: `${issuer}/auth`, token_endpoint: `${issuer}/token`, jwks_uri: `${issuer}/jwks`, ...overrides });
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);

  beforeAll(async () => {
    await server.start();
  });

  afterAll(async () => {
    await server.stop();
  });

  it('fetches the configuration once, lazily, and serves it from the cache', async () => {
    server.bodies.set('/.well-known/openid-configuration', document(server.url));
    const discovery = new OidcDiscovery(server.url);
    expect(server.hits.get('/.well-known/openid-configuration')).toBeUndefined();
    const first = await discovery.metadata();
    expect(first).toEqual({ issuer: server.url, authorizationEndpoint: `${server.url}/auth`, tokenEndpoint: `${server.url}/token`, jwksUri: `${server.url}/jwks` });
    expect(await discovery.metadata()).toEqual(first);
    expect(server.hits.get('/.well-known/openid-configuration')).toBe(1);
  });

  it('answers SERVICE_UNAVAILABLE while the provider has no document, without caching the failure', async () => {
    const discovery = new OidcDiscovery(`${server.url}/tenant`);
    await expect(discovery.metadata()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
    server.bodies.set('/tenant/.well-known/openid-configuration', document(`${server.url}/tenant`));
    expect((await discovery.metadata()).issuer).toBe(`${server.url}/tenant`);
  });

  it('refuses a document whose issuer differs in any byte, and endpoints that are not https or loopback http', () => {
    expect(() => parseDiscoveryDocument(bytes(document(`${ISSUER}/`)), ISSUER)).toThrow(/"issuer" is not the configured issuer/);
    expect(() => parseDiscoveryDocument(bytes(document('https://IDP.example.com')), ISSUER)).toThrow(/"issuer"/);
    expect(() => parseDiscoveryDocument(bytes(document(ISSUER, { token_endpoint: 'http://idp.example.com/token' })), ISSUER)).toThrow(/"token_endpoint"/);
    expect(() => parseDiscoveryDocument(bytes(document(ISSUER, { jwks_uri: 'file:///etc/passwd' })), ISSUER)).toThrow(/"jwks_uri"/);
    expect(() => parseDiscoveryDocument(bytes(document(ISSUER, { authorization_endpoint: 42 })), ISSUER)).toThrow(/"authorization_endpoint"/);
    expect(() => parseDiscoveryDocument(bytes('[1]'), ISSUER)).toThrow(/not a JSON object/);
    expect(() => parseDiscoveryDocument(bytes('{'), ISSUER)).toThrow(/not JSON/);
    expect(parseDiscoveryDocument(bytes(document(ISSUER)), ISSUER).tokenEndpoint).toBe(`${ISSUER}/token`);
  });

  it('refuses a document larger than its limit', async () => {
    server.bodies.set('/big/.well-known/openid-configuration', document(`${server.url}/big`, { padding: 'x'.repeat(70_000) }));
    await expect(new OidcDiscovery(`${server.url}/big`).metadata()).rejects.toMatchObject({ code: 'SERVICE_UNAVAILABLE', message: expect.stringMatching(/larger than 65536 bytes/) as unknown });
  });
});

describe('PKCE and login secrets', () => {
  it('computes the S256 challenge of RFC 7636 appendix B', () => {
    expect(codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk')).toBe('E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
  });

  it('makes fresh 43-character state, nonce and verifier for every login', () => {
    const a = newLoginSecrets();
    const b = newLoginSecrets();
    const values: string[] = [a.state, a.nonce, a.codeVerifier, b.state, b.nonce, b.codeVerifier];
    for (const value of values) expect(value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new Set(values).size).toBe(6);
  });
});
