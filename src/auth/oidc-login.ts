/**
 * The web UI's OpenID Connect client (issue 8 §2): single sign-on with the authorization code
 * flow and PKCE (OpenID Connect Core 1.0 §3.1, RFC 7636 S256). It builds the authorization
 * request, redeems the code at the token endpoint (`client_secret_basic` when a secret is
 * configured, a public client otherwise) and verifies the ID token (§3.1.3.7): signature with an
 * allow-listed asymmetric algorithm and a key from the provider's JWKS (`jwks-source.ts`), `iss`
 * exact, `aud` containing the client id (and `azp` the client id when there are several
 * audiences), `nonce` that of the pending login, `exp`/`nbf`/`iat` within the configured skew.
 *
 * Refusal reasons are for logs; nothing returned or thrown contains a code, a token or the
 * client secret. The pending login (state, nonce, verifier) is kept by `service/oidc-sign-in.ts`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { z } from 'zod';
import { CustodyError } from '../domain/errors.js';
import { BoundedFetchError, fetchBounded, openJwksSource, type JwksFailure, type JwksSource } from './jwks-source.js';
import { isTrustedHttpUrl, OIDC_ALGORITHMS, type OidcAlgorithm } from './oidc-config.js';
import { OidcDiscovery } from './oidc-discovery.js';
import { looksLikeJwt } from './oidc-verifier.js';

/** `ui.oidc` in the configuration: the identity provider the web UI signs users in with. */
export interface UiOidcConfig {
  /** Compared byte for byte with the discovery document's and the ID token's `iss`. */
  readonly issuer: string;
  readonly clientId: string;
  /** Prefer CUSTODY_UI_OIDC_CLIENT_SECRET; never logged nor shown. Absent: a public client (PKCE only). */
  readonly clientSecret?: string | undefined;
  readonly scopes: readonly string[];
  readonly algorithms: readonly OidcAlgorithm[];
  /** The sign-in page's single sign-on link text. */
  readonly label: string;
}

/** The allow-list unless the configuration names one: asymmetric algorithms common at identity providers. */
export const DEFAULT_UI_OIDC_ALGORITHMS: readonly OidcAlgorithm[] = ['ES256', 'EdDSA', 'RS256'];

// RFC 6749 §3.3 scope-token and §2.2 client id characters (printable ASCII).
const SCOPE_TOKEN = /^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/;
const PRINTABLE = /^[\x20-\x7E]+$/;

/** The `ui.oidc` section; strict, so a misspelt key stops the server. */
export const uiOidcSchema: z.ZodType<UiOidcConfig> = z
  .object({
    issuer: z
      .string()
      .max(2048)
      .refine((value) => isTrustedHttpUrl(value, { allowQuery: false }), {
        message: 'must be an https URL without query or fragment (http only for 127.0.0.1, localhost or ::1)',
      }),
    clientId: z.string().min(1).max(256).regex(PRINTABLE, 'must be printable ASCII'),
    clientSecret: z.string().min(1, 'must not be empty').max(1024, 'is too long').optional(),
    scopes: z
      .array(z.string().regex(SCOPE_TOKEN, 'must be a scope token (printable ASCII without spaces, quotes or backslashes)'))
      .max(32)
      .refine((list) => list.includes('openid'), 'must include openid')
      .default(['openid']),
    algorithms: z
      .array(
        z.enum(OIDC_ALGORITHMS, {
          error: (issue) =>
            `unsupported signature algorithm ${JSON.stringify(issue.input) ?? 'undefined'}: allowed are ${OIDC_ALGORITHMS.join(', ')} ("none" and HMAC algorithms are never accepted)`,
        }),
      )
      .min(1, 'must name at least one algorithm')
      .default([...DEFAULT_UI_OIDC_ALGORITHMS]),
    label: z.string().min(1).max(100).default('Sign in with single sign-on'),
  })
  .strict();

/** The secrets of one pending login: never sent anywhere but the provider, never logged. */
export interface LoginSecrets {
  readonly state: string;
  readonly nonce: string;
  /** RFC 7636 §4.1: 43 characters of base64url. */
  readonly codeVerifier: string;
}

/** Fresh random state, nonce and PKCE verifier (32 bytes each). */
export function newLoginSecrets(): LoginSecrets {
  const random = (): string => randomBytes(32).toString('base64url');
  return { state: random(), nonce: random(), codeVerifier: random() };
}

/** RFC 7636 §4.2 S256: BASE64URL(SHA256(ASCII(code_verifier))). */
export function codeChallenge(codeVerifier: string): string {
  return createHash('sha256').update(codeVerifier, 'ascii').digest('base64url');
}

/** A verified ID token: who the provider says signed in. */
export interface VerifiedIdToken {
  readonly issuer: string;
  readonly subject: string;
  readonly claims: Readonly<Record<string, unknown>>;
}

export type IdTokenFailureReason =
  | 'malformed'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'jwks_unavailable'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'wrong_azp'
  | 'wrong_nonce'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'missing_claim'
  | 'token_exchange_failed';

export type IdTokenResult =
  | { readonly ok: true; readonly token: VerifiedIdToken }
  /** `detail` is a fixed, non-secret message for logs. */
  | { readonly ok: false; readonly reason: IdTokenFailureReason; readonly detail?: string };

/** What an ID token must say (§3.1.3.7). */
export interface IdTokenExpectations {
  readonly issuer: string;
  readonly clientId: string;
  readonly algorithms: readonly string[];
  readonly nonce: string;
  readonly clockSkewSeconds: number;
  readonly now: Date;
}

const MAX_SUBJECT_LENGTH = 1024;

class KeyLookupFailed extends Error {
  constructor(readonly failure: JwksFailure) {
    super(failure.detail);
  }
}

function refuse(reason: IdTokenFailureReason, detail?: string): IdTokenResult {
  return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
}

/**
 * Verifies an ID token against the provider's keys and the pending login. The header's `alg`
 * must be allow-listed before any key is looked up (`none` and HMAC never are); embedded keys are
 * ignored. Never throws; never returns the token.
 */
export async function verifyIdToken(idToken: string, keys: JwksSource, expect: IdTokenExpectations): Promise<IdTokenResult> {
  try {
    if (!looksLikeJwt(idToken)) return refuse('malformed');
    const header = JSON.parse(Buffer.from(idToken.split('.')[0] ?? '', 'base64url').toString('utf8')) as { alg?: unknown };
    if (typeof header.alg !== 'string' || !expect.algorithms.includes(header.alg)) return refuse('algorithm_not_allowed');
    const getKey: JWTVerifyGetKey = async (protectedHeader) => {
      const lookup = await keys.lookupKey({ alg: protectedHeader.alg, kid: protectedHeader.kid });
      if (!lookup.ok) throw new KeyLookupFailed(lookup.failure);
      return lookup.key;
    };
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(idToken, getKey, {
        algorithms: [...expect.algorithms],
        issuer: expect.issuer,
        audience: expect.clientId,
        requiredClaims: ['exp', 'iat', 'sub', 'nonce'],
        clockTolerance: expect.clockSkewSeconds,
        currentDate: expect.now,
      }));
    } catch (error) {
      return toFailure(error);
    }
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if (payload.azp !== undefined || audiences.length > 1) {
      if (payload.azp !== expect.clientId) return refuse('wrong_azp');
    }
    if (typeof payload.nonce !== 'string' || !sameText(payload.nonce, expect.nonce)) return refuse('wrong_nonce');
    if (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat)) return refuse('malformed');
    if (payload.iat > expect.now.getTime() / 1000 + expect.clockSkewSeconds) return refuse('issued_in_future');
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) return refuse('malformed');
    return { ok: true, token: { issuer: expect.issuer, subject, claims: Object.freeze(structuredClone(payload)) } };
  } catch {
    return refuse('malformed');
  }
}

/** Constant-time comparison (of the SHA-256 digests, so lengths leak nothing either). */
function sameText(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

function toFailure(error: unknown): IdTokenResult {
  if (error instanceof KeyLookupFailed) return refuse(error.failure.kind === 'unavailable' ? 'jwks_unavailable' : 'unknown_key', error.failure.detail);
  if (error instanceof errors.JWTExpired) return refuse('expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return refuse('missing_claim', `missing "${error.claim}"`);
    if (error.claim === 'aud') return refuse('wrong_audience');
    if (error.claim === 'iss') return refuse('wrong_issuer');
    if (error.claim === 'nbf' && error.reason === 'check_failed') return refuse('not_yet_valid');
    return refuse('malformed', `invalid "${error.claim}"`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return refuse('algorithm_not_allowed');
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('bad_signature');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) return refuse('malformed');
  return refuse('bad_signature');
}

export interface OidcLoginClientOptions {
  /** `${server.publicUrl}/sign-in/oidc/callback`, registered at the provider. */
  readonly redirectUri: string;
  readonly clockSkewSeconds: number;
  readonly now: () => Date;
  /** Every request to the provider (default 5 s). */
  readonly fetchTimeoutMs?: number;
}

/** Largest accepted token response (an ID token with many claims is still far below). */
const MAX_TOKEN_RESPONSE_BYTES = 256 * 1024;
const tokenResponse = z.looseObject({ id_token: z.string().min(1) });

/** The protocol side of single sign-on for one configured provider. */
export class OidcLoginClient {
  readonly #discovery: OidcDiscovery;
  readonly #jwks = new Map<string, JwksSource>();
  readonly #timeoutMs: number;

  constructor(
    private readonly config: UiOidcConfig,
    private readonly options: OidcLoginClientOptions,
  ) {
    this.#timeoutMs = options.fetchTimeoutMs ?? 5_000;
    this.#discovery = new OidcDiscovery(config.issuer, { fetchTimeoutMs: this.#timeoutMs, now: () => options.now().getTime() });
  }

  /** The configured issuer (`ui.oidc.issuer`). */
  get issuer(): string {
    return this.config.issuer;
  }

  /** The provider's authorization request for `login` (§3.1.2.1); SERVICE_UNAVAILABLE when discovery fails. */
  async authorizationUrl(login: LoginSecrets): Promise<string> {
    const { authorizationEndpoint } = await this.#discovery.metadata();
    const url = new URL(authorizationEndpoint);
    const params: Record<string, string> = {
      response_type: 'code',
      client_id: this.config.clientId,
      redirect_uri: this.options.redirectUri,
      scope: this.config.scopes.join(' '),
      state: login.state,
      nonce: login.nonce,
      code_challenge: codeChallenge(login.codeVerifier),
      code_challenge_method: 'S256',
    };
    for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
    return url.toString();
  }

  /**
   * Redeems `code` with the login's PKCE verifier and verifies the returned ID token against its
   * nonce. SERVICE_UNAVAILABLE when discovery fails; any other problem is a refusal.
   */
  async redeem(code: string, login: Pick<LoginSecrets, 'codeVerifier' | 'nonce'>): Promise<IdTokenResult> {
    const metadata = await this.#discovery.metadata();
    const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: this.options.redirectUri, code_verifier: login.codeVerifier });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    const secret = this.config.clientSecret;
    if (secret === undefined) form.set('client_id', this.config.clientId);
    // RFC 6749 §2.3.1: both parts are form-urlencoded before joining.
    else headers['authorization'] = `Basic ${Buffer.from(`${formEncode(this.config.clientId)}:${formEncode(secret)}`).toString('base64')}`;
    let idToken: string;
    try {
      const bytes = await fetchBounded(metadata.tokenEndpoint, {
        what: 'the token endpoint',
        method: 'POST',
        headers,
        body: form.toString(),
        timeoutMs: this.#timeoutMs,
        maxBytes: MAX_TOKEN_RESPONSE_BYTES,
      });
      const parsed = tokenResponse.safeParse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
      if (!parsed.success) return refuse('token_exchange_failed', 'the token response has no id_token');
      idToken = parsed.data.id_token;
    } catch (error) {
      return refuse('token_exchange_failed', error instanceof BoundedFetchError ? error.message : 'the token response is not JSON');
    }
    return verifyIdToken(idToken, this.#keys(metadata.jwksUri), {
      issuer: this.config.issuer,
      clientId: this.config.clientId,
      algorithms: this.config.algorithms,
      nonce: login.nonce,
      clockSkewSeconds: this.options.clockSkewSeconds,
      now: this.options.now(),
    });
  }

  #keys(jwksUri: string): JwksSource {
    let keys = this.#jwks.get(jwksUri);
    if (keys === undefined) {
      keys = openJwksSource(jwksUri, { baseDir: '/', fetchTimeoutMs: this.#timeoutMs, now: () => this.options.now().getTime() });
      this.#jwks.set(jwksUri, keys);
    }
    return keys;
  }
}

function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/** The redirect URI registered at the provider, `${publicUrl}/sign-in/oidc/callback`; CONFIG_INVALID without a public URL. */
export function redirectUriOf(publicUrl: string | undefined): string {
  if (publicUrl === undefined) throw new CustodyError('CONFIG_INVALID', 'ui.oidc needs server.publicUrl: the redirect URI is ${server.publicUrl}/sign-in/oidc/callback');
  return `${publicUrl.replace(/\/+$/, '')}/sign-in/oidc/callback`;
}
