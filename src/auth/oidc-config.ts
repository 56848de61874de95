/**
 * Trusted OIDC issuers for workload identity (SPEC §3.1 `oidc.issuers`, §7): which issuer, which
 * audience, where its keys live and which signature algorithms it may use. The server config
 * embeds `oidcIssuerSchema`; the verifier (`oidc-verifier.ts`) trusts nothing outside it.
 *
 * Only asymmetric algorithms exist here: `none` and the HMAC family are not in the enum, so a
 * config naming them is refused at start (RFC 8725 §3.1–§3.2, algorithm confusion).
 */
import { z } from 'zod';

/** Signature algorithms an issuer may be trusted for — asymmetric only (RFC 7518 §3.1, RFC 8037). */
export const OIDC_ALGORITHMS = ['ES256', 'ES384', 'EdDSA', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;

export type OidcAlgorithm = (typeof OIDC_ALGORITHMS)[number];

/** The default allow-list: the two algorithms CI providers commonly use that have no padding modes. */
export const DEFAULT_OIDC_ALGORITHMS: readonly OidcAlgorithm[] = ['ES256', 'EdDSA'];

export interface OidcIssuerConfig {
  /** Compared byte for byte with the token's `iss`. */
  readonly issuer: string;
  /** Must be one of the token's `aud` values. */
  readonly audience: string;
  /** `file:PATH` (relative to the data directory) or an http(s) URL serving a JWKS. */
  readonly jwks: string;
  readonly algorithms: readonly OidcAlgorithm[];
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** https anywhere; plain http only to this machine (a JWKS or issuer over http elsewhere is MITM-able). */
export function isTrustedHttpUrl(value: string, { allowQuery }: { allowQuery: boolean }): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username !== '' || url.password !== '' || url.hash !== '') return false;
  if (!allowQuery && url.search !== '') return false;
  if (url.protocol === 'https:') return true;
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname);
}

const issuerUrl = z
  .string()
  .max(2048)
  .refine((value) => isTrustedHttpUrl(value, { allowQuery: false }), {
    message: 'must be an https URL without query or fragment (http only for 127.0.0.1, localhost or ::1)',
  });

const jwksLocation = z
  .string()
  .max(2048)
  .refine((value) => (value.startsWith('file:') ? value.length > 'file:'.length : isTrustedHttpUrl(value, { allowQuery: true })), {
    message: 'must be file:PATH or an https URL (http only for 127.0.0.1, localhost or ::1)',
  });

const algorithm = z.enum(OIDC_ALGORITHMS, {
  error: (issue) =>
    `unsupported signature algorithm ${JSON.stringify(issue.input) ?? 'undefined'}: allowed are ${OIDC_ALGORITHMS.join(', ')} ("none" and HMAC algorithms are never accepted)`,
});

/** One trusted issuer; strict, so a misspelt key stops the server instead of being ignored. */
export const oidcIssuerSchema: z.ZodType<OidcIssuerConfig> = z
  .object({
    issuer: issuerUrl,
    audience: z.string().min(1).max(1024),
    jwks: jwksLocation,
    algorithms: z
      .array(algorithm)
      .min(1, 'must name at least one algorithm')
      .default([...DEFAULT_OIDC_ALGORITHMS]),
  })
  .strict();
