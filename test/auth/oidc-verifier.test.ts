/**
 * OIDC workload identity (SPEC §7, §10 "JWT alg and claim checks"): tokens minted here with keys
 * generated here, verified against a JWKS file and a JWKS served by a real node:http server on
 * 127.0.0.1. A valid token for a bound service passes; every attack and every bad claim is refused
 * with its reason, and no result ever carries the token.
 */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateApiToken } from '../../src/auth/api-token.js';
import { compileClaimCondition } from '../../src/auth/claim-condition.js';
import { oidcIssuerSchema, type OidcIssuerConfig } from '../../src/auth/oidc-config.js';
import { looksLikeJwt, OidcVerifier, type OidcResult } from '../../src/auth/oidc-verifier.js';
import { isCustodyError } from '../../src/domain/errors.js';

const ISSUER = 'https://ci.example.com';
const RSA_ISSUER = 'https://rsa.example.com';
const AUDIENCE = 'custody';
const SUBJECT = 'repo:acme/fraud:ref:refs/heads/main';
const NOW = 1_900_000_000; // seconds; the verifier's clock is fixed here
const now = (): Date => new Date(NOW * 1000);

interface SigningKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly kid: string;
  readonly alg: 'ES256' | 'EdDSA' | 'RS256';
}

async function signingKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, publicKey, kid, alg };
}

async function publicJwk(key: SigningKey): Promise<JWK> {
  return { ...(await exportJWK(key.publicKey)), kid: key.kid, alg: key.alg, use: 'sig' };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  const base: Record<string, unknown> = {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: SUBJECT,
    iat: NOW - 10,
    nbf: NOW - 10,
    exp: NOW + 300,
    repository: 'acme/fraud',
    ref: 'refs/heads/main',
    run_attempt: 1,
  };
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) Reflect.deleteProperty(base, name);
    else base[name] = value;
  }
  return base;
}

async function mint(key: SigningKey, payload: JWTPayload = claims(), header: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT', ...header }).sign(key.privateKey);
}

let dir: string;
let server: Server;
let localIssuer: string;
let es: SigningKey;
let ed: SigningKey;
let rsa: SigningKey;
let local: SigningKey;
let rotated: SigningKey;
let servedKeys: JWK[];
let jwksRequests = 0;
let verifier: OidcVerifier;

beforeAll(async () => {
  [es, ed, rsa, local, rotated] = await Promise.all([
    signingKey('ES256', 'es-1'),
    signingKey('EdDSA', 'ed-1'),
    signingKey('RS256', 'rsa-1'),
    signingKey('ES256', 'local-1'),
    signingKey('ES256', 'local-2'),
  ]);
  dir = mkdtempSync(path.join(tmpdir(), 'custody-oidc-'));
  writeFileSync(path.join(dir, 'ci-jwks.json'), JSON.stringify({ keys: await Promise.all([es, ed, rsa].map(publicJwk)) }));

  servedKeys = [await publicJwk(local)];
  server = createServer((request, response) => {
    if (request.url === '/jwks') jwksRequests += 1;
    if (request.url === '/jwks') response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: servedKeys }));
    else response.writeHead(500).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  localIssuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const issuers: OidcIssuerConfig[] = [
    { issuer: ISSUER, audience: AUDIENCE, jwks: 'file:ci-jwks.json', algorithms: ['ES256', 'EdDSA'] },
    { issuer: RSA_ISSUER, audience: AUDIENCE, jwks: 'file:ci-jwks.json', algorithms: ['RS256'] },
    { issuer: localIssuer, audience: AUDIENCE, jwks: `${localIssuer}/jwks`, algorithms: ['ES256'] },
    { issuer: 'https://down.example.com', audience: AUDIENCE, jwks: `${localIssuer}/broken`, algorithms: ['ES256'] },
  ];
  verifier = new OidcVerifier(issuers, { baseDir: dir, now, jwks: { minRefreshIntervalMs: 0 } });
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
});

function expectRefused(result: OidcResult, reason: string): void {
  expect(result.ok ? 'accepted' : result.reason).toBe(reason);
}

describe('OidcVerifier accepts', () => {
  it('an ES256 token of a trusted issuer, from a JWKS file, with issuer, subject and claims', async () => {
    const result = await verifier.verify(await mint(es));
    expect(result).toEqual({ ok: true, token: { issuer: ISSUER, subject: SUBJECT, claims: expect.objectContaining({ repository: 'acme/fraud', run_attempt: 1 }) as unknown } });
    if (result.ok) expect(Object.isFrozen(result.token.claims)).toBe(true);
  });

  it('an EdDSA token and an audience list that contains the configured audience', async () => {
    expectRefused(await verifier.verify(await mint(ed, claims({ aud: ['other', AUDIENCE] }))), 'accepted');
  });

  it('a token whose keys come from a JWKS served over HTTP', async () => {
    const result = await verifier.verify(await mint(local, claims({ iss: localIssuer })));
    expect(result.ok && result.token.issuer).toBe(localIssuer);
  });

  it('a token signed with a key the issuer rotated in after the JWKS was cached', async () => {
    expectRefused(await verifier.verify(await mint(local, claims({ iss: localIssuer }))), 'accepted');
    servedKeys = [await publicJwk(local), await publicJwk(rotated)];
    expectRefused(await verifier.verify(await mint(rotated, claims({ iss: localIssuer }))), 'accepted');
  });

  it('nbf 30 s ahead and exp 30 s past with the default 60 s clock skew', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ nbf: NOW + 30 }))), 'accepted');
    expectRefused(await verifier.verify(await mint(es, claims({ exp: NOW - 30 }))), 'accepted');
    const strict = new OidcVerifier([{ issuer: ISSUER, audience: AUDIENCE, jwks: 'file:ci-jwks.json', algorithms: ['ES256'] }], { baseDir: dir, now, clockSkewSeconds: 0 });
    expectRefused(await strict.verify(await mint(es, claims({ nbf: NOW + 30 }))), 'not_yet_valid');
  });

  it('a bound service whose claim condition holds, and not one whose condition fails', async () => {
    // How the authentication service binds a principal: issuer + subject + optional CEL condition.
    const binding = { issuer: ISSUER, subject: SUBJECT, condition: compileClaimCondition('claims.repository == "acme/fraud" && claims.ref == "refs/heads/main" && claims.run_attempt == 1') };
    const actsAsService = async (token: string): Promise<boolean> => {
      const result = await verifier.verify(token);
      return result.ok && result.token.issuer === binding.issuer && result.token.subject === binding.subject && binding.condition.evaluate(result.token.claims);
    };
    expect(await actsAsService(await mint(es))).toBe(true);
    expect(await actsAsService(await mint(es, claims({ ref: 'refs/heads/feature' })))).toBe(false);
    expect(await actsAsService(await mint(es, claims({ run_attempt: 2 })))).toBe(false);
    expect(await actsAsService(await mint(es, claims({ sub: 'repo:acme/other:ref:refs/heads/main' })))).toBe(false);
  });
});

describe('OidcVerifier refuses', () => {
  it('an issuer it does not trust', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ iss: 'https://evil.example.com' }))), 'unknown_issuer');
    expectRefused(await verifier.verify(await mint(es, claims({ iss: `${ISSUER}/` }))), 'unknown_issuer');
  });

  it("a token of one trusted issuer's key claiming to come from another", async () => {
    expectRefused(await verifier.verify(await mint(local, claims({ iss: ISSUER }))), 'unknown_key');
    // …even when it borrows a kid the claimed issuer does hold.
    expectRefused(await verifier.verify(await mint({ ...local, kid: es.kid }, claims({ iss: ISSUER }))), 'bad_signature');
  });

  it('a token for another audience', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ aud: 'someone-else' }))), 'wrong_audience');
    expectRefused(await verifier.verify(await mint(es, claims({ aud: ['a', 'b'] }))), 'wrong_audience');
  });

  it('an expired token', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ exp: NOW - 120 }))), 'expired');
  });

  it('a token that is not yet valid', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ nbf: NOW + 120 }))), 'not_yet_valid');
  });

  it('a token issued in the future', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ iat: NOW + 3600, nbf: undefined }))), 'issued_in_future');
  });

  it('an unsigned token (alg none)', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
    expect(looksLikeJwt(unsigned)).toBe(true);
    expectRefused(await verifier.verify(unsigned), 'algorithm_not_allowed');
    expectRefused(await verifier.verify(`${b64({ alg: 'none', kid: es.kid })}.${b64(claims())}.${b64('x')}`), 'algorithm_not_allowed');
  });

  it('an HS256 token whose HMAC key is the issuer public key (algorithm confusion)', async () => {
    const pem = await exportSPKI(es.publicKey);
    const jwkBytes = JSON.stringify(await publicJwk(es));
    for (const secret of [pem, jwkBytes]) {
      const input = `${b64({ alg: 'HS256', typ: 'JWT', kid: es.kid })}.${b64(claims())}`;
      const forged = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      expectRefused(await verifier.verify(forged), 'algorithm_not_allowed');
    }
  });

  it('an RS256 token from an issuer whose allow-list is ES256 and EdDSA, though its key is in the JWKS', async () => {
    expectRefused(await verifier.verify(await mint(rsa, claims({ iss: ISSUER }))), 'algorithm_not_allowed');
    // The same key and JWKS are fine for an issuer that allows RS256.
    expectRefused(await verifier.verify(await mint(rsa, claims({ iss: RSA_ISSUER }))), 'accepted');
  });

  it('an algorithm outside the allow-list before looking up any key, so it cannot make the issuer JWKS be fetched', async () => {
    await verifier.verify(await mint(local, claims({ iss: localIssuer })));
    const before = jwksRequests;
    for (let i = 0; i < 10; i++) {
      const forged = `${b64({ alg: 'HS256', kid: `forged-${i}` })}.${b64(claims({ iss: localIssuer }))}.${b64('sig')}`;
      expectRefused(await verifier.verify(forged), 'algorithm_not_allowed');
      expectRefused(await verifier.verify(await mint({ ...rsa, kid: `forged-${i}` }, claims({ iss: localIssuer }))), 'algorithm_not_allowed');
    }
    expect(jwksRequests).toBe(before);
    // An allowed algorithm with an unknown kid does refetch (the refresh interval is 0 in this suite).
    expectRefused(await verifier.verify(await mint({ ...local, kid: 'forged' }, claims({ iss: localIssuer }))), 'unknown_key');
    expect(jwksRequests).toBe(before + 1);
  });

  it('an unknown kid, and a kid whose key type does not fit the algorithm', async () => {
    expectRefused(await verifier.verify(await mint({ ...es, kid: 'not-in-jwks' })), 'unknown_key');
    expectRefused(await verifier.verify(await mint({ ...ed, kid: es.kid })), 'unknown_key');
  });

  it('a tampered payload or signature', async () => {
    const [header, , signature] = (await mint(es)).split('.') as [string, string, string];
    expectRefused(await verifier.verify(`${header}.${b64(claims({ sub: 'repo:acme/admin:ref:refs/heads/main' }))}.${signature}`), 'bad_signature');
    const flipped = `${signature.slice(0, 10)}${signature[10] === 'A' ? 'B' : 'A'}${signature.slice(11)}`;
    expectRefused(await verifier.verify(`${header}.${b64(claims())}.${flipped}`), 'bad_signature');
  });

  it('a token without exp, sub or iss', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ exp: undefined }))), 'missing_claim');
    expectRefused(await verifier.verify(await mint(es, claims({ sub: undefined }))), 'missing_claim');
    expectRefused(await verifier.verify(await mint(es, claims({ iss: undefined }))), 'missing_claim');
    expectRefused(await verifier.verify(await mint(es, claims({ aud: undefined }))), 'missing_claim');
  });

  it('claims of the wrong type', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ exp: String(NOW + 300) }))), 'malformed');
    expectRefused(await verifier.verify(await mint(es, claims({ sub: 42 }))), 'malformed');
    expectRefused(await verifier.verify(await mint(es, claims({ iss: [ISSUER] }))), 'malformed');
  });

  it('garbage, without throwing', async () => {
    const valid = await mint(es);
    const garbage = ['', 'abc', 'a.b.c', '...', 'custody_' + 'x'.repeat(43), generateApiToken(), `${valid}.x`, `${b64([1])}.${b64(claims())}.x`,
      `${b64({ alg: 'ES256' })}.${b64([claims()])}.x`, `${b64({ alg: 'ES256' })}.not+base64.x`, `${Buffer.from('{"alg":').toString('base64url')}.${b64(claims())}.x`,
      `${b64({ alg: 'ES256', crit: ['exp'] })}.${b64(claims())}.x`, `${valid}${'A'.repeat(20_000)}`, 42 as unknown as string, null as unknown as string];
    for (const [i, token] of garbage.entries()) expect([i, await verifier.verify(token)]).toEqual([i, { ok: false, reason: "malformed" }]);
  });

  it('a token when the issuer JWKS cannot be loaded', async () => {
    expectRefused(await verifier.verify(await mint(es, claims({ iss: 'https://down.example.com' }))), 'jwks_unavailable');
  });

  it('without ever returning the token or a part of it', async () => {
    const tokens = [await mint(es, claims({ aud: 'x' })), await mint({ ...es, kid: 'nope' }), await mint(es, claims({ iss: 'https://down.example.com' }))];
    for (const token of tokens) {
      const text = JSON.stringify(await verifier.verify(token));
      for (const part of token.split('.')) expect(text).not.toContain(part);
    }
  });
});

describe('OidcVerifier configuration', () => {
  it('refuses none, HMAC and duplicate issuers even when the schema was bypassed', () => {
    const bad = (algorithms: string[]): OidcIssuerConfig => ({ issuer: ISSUER, audience: AUDIENCE, jwks: 'file:x.json', algorithms } as unknown as OidcIssuerConfig);
    for (const algorithms of [['none'], ['HS256'], []]) {
      let code: string | undefined;
      try {
        new OidcVerifier([bad(algorithms)], { baseDir: dir });
      } catch (error) {
        code = isCustodyError(error) ? error.code : 'other';
      }
      expect(code).toBe('CONFIG_INVALID');
    }
    expect(() => new OidcVerifier([bad(['ES256']), bad(['EdDSA'])], { baseDir: dir })).toThrow(/listed twice/);
  });
});

describe('oidcIssuerSchema', () => {
  const issues = (input: Record<string, unknown>): string[] => {
    const parsed = oidcIssuerSchema.safeParse({ issuer: ISSUER, audience: AUDIENCE, jwks: 'file:ci-jwks.json', ...input });
    return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  };

  it('takes the SPEC example and defaults the algorithms to ES256 and EdDSA', () => {
    expect(oidcIssuerSchema.parse({ issuer: ISSUER, audience: AUDIENCE, jwks: 'file:ci-jwks.json' }).algorithms).toEqual(['ES256', 'EdDSA']);
    expect(issues({ issuer: 'http://127.0.0.1:8080', jwks: 'http://[::1]:8080/jwks' })).toEqual([]);
  });

  it('refuses none and HMAC algorithms, saying which are allowed', () => {
    expect(issues({ algorithms: ['ES256', 'none', 'HS256'] })).toEqual([
      expect.stringMatching(/^algorithms\.1: unsupported signature algorithm "none": allowed are ES256, .*HMAC algorithms are never accepted/) as string,
      expect.stringMatching(/^algorithms\.2: unsupported signature algorithm "HS256"/) as string,
    ]);
    expect(issues({ algorithms: [] })).toEqual(['algorithms: must name at least one algorithm']);
  });

  it('refuses plain-http issuers and key sets off this machine, empty audiences and unknown keys', () => {
    expect(issues({ issuer: 'http://ci.example.com' })[0]).toMatch(/^issuer: must be an https URL/);
    expect(issues({ issuer: `${ISSUER}?x=1` })[0]).toMatch(/^issuer: /);
    expect(issues({ jwks: 'http://ci.example.com/jwks' })[0]).toMatch(/^jwks: must be file:PATH or an https URL/);
    expect(issues({ jwks: 'file:' })[0]).toMatch(/^jwks: /);
    expect(issues({ audience: '' })[0]).toMatch(/^audience: /);
    expect(issues({ audiences: ['x'] })[0]).toMatch(/Unrecognized key: "audiences"/);
  });
});

describe('looksLikeJwt', () => {
  it('tells JWTs from Custody API tokens', async () => {
    expect(looksLikeJwt(await mint(es))).toBe(true);
    expect(looksLikeJwt(generateApiToken())).toBe(false);
    expect(looksLikeJwt('a.b.c')).toBe(false);
    expect(looksLikeJwt(`${b64({ typ: 'JWT' })}.${b64(claims())}.x`)).toBe(false);
    expect(looksLikeJwt(`${b64({ alg: 'ES256' })}.${b64(claims())}.x=`)).toBe(false);
  });
});
