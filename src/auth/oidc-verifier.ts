/**
 * Verifies OIDC workload-identity tokens (SPEC §7, §10 "JWT alg and claim checks"): a CI job's
 * JWT (RFC 7519) signed by a trusted issuer becomes a verified issuer + subject + claims, which
 * the authentication service then binds to a service principal.
 *
 * The unverified payload is read only to pick the issuer's config by exact `iss`; from then on
 * only that config counts: the header's `alg` must be on its allow-list before any key is looked
 * up (so `none` and HMAC-with-a-public-key never reach a verifier, RFC 8725 §2.1, §3.1), the key
 * comes from its JWKS only (embedded `jwk`/`jku`/`x5u` headers are ignored), and `iss`, `aud`,
 * `exp`, `nbf`, `iat`, `sub` are checked with a small clock skew.
 *
 * Failure reasons are for logs and metrics. Clients must get one undifferentiated 401, so a
 * caller learns nothing about which issuers, keys or principals exist. Tokens never appear in a
 * result, a reason or a detail.
 */
import { errors, jwtVerify, type JWTVerifyGetKey } from 'jose';
import { CustodyError } from '../domain/errors.js';
import { openJwksSource, type JwksFailure, type JwksSource, type JwksSourceOptions } from './jwks-source.js';
import { oidcIssuerSchema, type OidcIssuerConfig } from './oidc-config.js';

export interface VerifiedWorkloadToken {
  readonly issuer: string;
  readonly subject: string;
  /** The whole verified payload (deeply frozen), for claim conditions. */
  readonly claims: Readonly<Record<string, unknown>>;
}

export type OidcFailureReason =
  | 'malformed'
  | 'unknown_issuer'
  | 'algorithm_not_allowed'
  | 'unknown_key'
  | 'bad_signature'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid'
  | 'issued_in_future'
  | 'missing_claim'
  | 'jwks_unavailable';

export type OidcResult =
  | { readonly ok: true; readonly token: VerifiedWorkloadToken }
  /** `detail` is a fixed, non-secret message for logs (e.g. why a JWKS could not be loaded). */
  | { readonly ok: false; readonly reason: OidcFailureReason; readonly detail?: string };

export interface OidcVerifierOptions {
  /** Relative JWKS `file:` paths resolve against it (the data directory). */
  readonly baseDir: string;
  /** Tolerance for `exp`, `nbf` and `iat` (default 60 s). */
  readonly clockSkewSeconds?: number;
  readonly now?: () => Date;
  /** Passed to every issuer's JWKS source. */
  readonly jwks?: Partial<JwksSourceOptions>;
}

/** Far above any real CI token (GitHub's are ~1–2 KiB); bounds the work an anonymous caller can cause. */
export const MAX_JWT_LENGTH = 16 * 1024;
const MAX_SUBJECT_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Cheap syntactic check: three base64url segments, header JSON has `alg` — used to tell JWTs from Custody API tokens. */
export function looksLikeJwt(token: string): boolean {
  if (typeof token !== 'string' || token.length > MAX_JWT_LENGTH) return false;
  const parts = token.split('.');
  if (parts.length !== 3) return false;
  const [header, payload, signature] = parts as [string, string, string];
  // The signature may be empty: an unsigned token is still a JWT, refused later for its `alg`.
  if (header === '' || payload === '' || !BASE64URL.test(header) || !BASE64URL.test(payload) || !BASE64URL.test(signature)) return false;
  const decoded = decodeJsonSegment(header);
  return isRecord(decoded) && typeof decoded.alg === 'string';
}

/** Thrown inside jose's key callback so that the JWKS failure reaches `verify` untouched. */
class KeyLookupFailed extends Error {
  constructor(readonly failure: JwksFailure) {
    super(failure.detail);
  }
}

interface TrustedIssuer {
  readonly config: OidcIssuerConfig;
  readonly keys: JwksSource;
}

export class OidcVerifier {
  private readonly issuers = new Map<string, TrustedIssuer>();
  private readonly skewSeconds: number;
  private readonly now: () => Date;

  /** Validates every issuer config eagerly (CONFIG_INVALID); no key set is read until first use. */
  constructor(issuers: readonly OidcIssuerConfig[], options: OidcVerifierOptions) {
    const skew = options.clockSkewSeconds ?? 60;
    if (!Number.isFinite(skew) || skew < 0 || skew > 600) {
      throw new CustodyError('CONFIG_INVALID', 'oidc: the clock skew must be between 0 and 600 seconds');
    }
    this.skewSeconds = skew;
    this.now = options.now ?? (() => new Date());
    issuers.forEach((candidate, index) => {
      const parsed = oidcIssuerSchema.safeParse(candidate);
      if (!parsed.success) {
        const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(issuer)'}: ${issue.message}`).join('; ');
        throw new CustodyError('CONFIG_INVALID', `oidc.issuers.${index}: ${problems}`);
      }
      const config = parsed.data;
      if (this.issuers.has(config.issuer)) throw new CustodyError('CONFIG_INVALID', `oidc.issuers.${index}: issuer ${config.issuer} is listed twice`);
      const keys = openJwksSource(config.jwks, { ...options.jwks, baseDir: options.baseDir });
      this.issuers.set(config.issuer, { config, keys });
    });
  }

  /** Reads `iss` from the unverified payload only to pick the issuer config; everything is then checked against that config: alg ∈ the issuer's allow-list (never none/HS*), signature with a key from its JWKS (kty/alg must fit), iss exact, aud contains the configured audience, exp required and in the future, nbf and iat not in the future (skew), sub required. Never throws; never includes the token in anything it returns. */
  async verify(token: string): Promise<OidcResult> {
    try {
      return await this.check(token);
    } catch {
      return refuse('malformed');
    }
  }

  private async check(token: string): Promise<OidcResult> {
    if (!looksLikeJwt(token)) return refuse('malformed');
    const [encodedHeader, encodedPayload] = token.split('.') as [string, string, string];
    const header = decodeJsonSegment(encodedHeader);
    const unverified = decodeJsonSegment(encodedPayload);
    if (!isRecord(header) || !isRecord(unverified)) return refuse('malformed');
    if (unverified.iss === undefined) return refuse('missing_claim');
    if (typeof unverified.iss !== 'string') return refuse('malformed');
    const trusted = this.issuers.get(unverified.iss);
    if (trusted === undefined) return refuse('unknown_issuer');
    const { config, keys } = trusted;
    // Before any key lookup: an unlisted alg must not even cause a JWKS refresh.
    if (typeof header.alg !== 'string' || !(config.algorithms as readonly string[]).includes(header.alg)) return refuse('algorithm_not_allowed');

    const getKey: JWTVerifyGetKey = async (protectedHeader) => {
      const lookup = await keys.lookupKey({ alg: protectedHeader.alg, kid: protectedHeader.kid });
      if (!lookup.ok) throw new KeyLookupFailed(lookup.failure);
      return lookup.key;
    };
    const now = this.now();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: [...config.algorithms],
        issuer: config.issuer,
        audience: config.audience,
        requiredClaims: ['exp', 'sub'],
        clockTolerance: this.skewSeconds,
        currentDate: now,
      }));
    } catch (error) {
      return toFailure(error);
    }

    // jose checks `iat` only together with a maximum token age; a token from the future is refused here.
    if (payload.iat !== undefined && (typeof payload.iat !== 'number' || !Number.isFinite(payload.iat))) return refuse('malformed');
    if (typeof payload.iat === 'number' && payload.iat > now.getTime() / 1000 + this.skewSeconds) return refuse('issued_in_future');
    const subject = payload.sub;
    if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) return refuse('malformed');
    return { ok: true, token: { issuer: config.issuer, subject, claims: deepFreeze(structuredClone(payload)) } };
  }
}

function refuse(reason: OidcFailureReason, detail?: string): OidcResult {
  return detail === undefined ? { ok: false, reason } : { ok: false, reason, detail };
}

/** Maps jose's and the key source's errors to reasons; anything unforeseen is a refusal too. */
function toFailure(error: unknown): OidcResult {
  if (error instanceof KeyLookupFailed) {
    return refuse(error.failure.kind === 'unavailable' ? 'jwks_unavailable' : 'unknown_key', error.failure.detail);
  }
  if (error instanceof errors.JWTExpired) return refuse('expired');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return refuse('missing_claim', `missing "${error.claim}"`);
    if (error.claim === 'aud') return refuse('wrong_audience');
    if (error.claim === 'nbf' && error.reason === 'check_failed') return refuse('not_yet_valid');
    if (error.claim === 'iss') return refuse('unknown_issuer');
    return refuse('malformed', `invalid "${error.claim}"`);
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return refuse('algorithm_not_allowed');
  if (error instanceof errors.JWSSignatureVerificationFailed) return refuse('bad_signature');
  // JOSENotSupported: e.g. a `crit` header naming an extension nobody here understands.
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) return refuse('malformed');
  // e.g. a key whose type does not fit the algorithm.
  return refuse('bad_signature');
}

function decodeJsonSegment(segment: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(segment, 'base64url')));
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
