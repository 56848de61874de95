/**
 * OpenID Provider discovery for the web UI's single sign-on (issue 8 §2; OpenID Connect
 * Discovery 1.0 §4): `${issuer}/.well-known/openid-configuration`, fetched on the first login —
 * never at start, so an identity provider that is down does not stop the registry — and cached.
 *
 * The document is hostile input: the fetch is bounded in time and size (`fetchBounded`, shared with
 * the key sets), its `issuer` must equal the configured issuer byte for byte (§4.3), and the three
 * endpoints Custody uses must be https (http only to this machine), like every other OIDC URL in
 * the configuration (`isTrustedHttpUrl`). A failure is SERVICE_UNAVAILABLE with a message fit for a
 * page and the logs.
 */
import { CustodyError } from '../domain/errors.js';
import { BoundedFetchError, fetchBounded } from './jwks-source.js';
import { isTrustedHttpUrl } from './oidc-config.js';

/** The parts of a provider's metadata the authorization code flow needs. */
export interface OidcProviderMetadata {
  readonly issuer: string;
  readonly authorizationEndpoint: string;
  readonly tokenEndpoint: string;
  readonly jwksUri: string;
}

export interface OidcDiscoveryOptions {
  /** Whole request (default 5 s). */
  readonly fetchTimeoutMs?: number;
  /** Largest accepted document (default 64 KiB). */
  readonly maxBytes?: number;
  /** A loaded document is fetched again after this long (default 1 h); the old one stays in use while that fails. */
  readonly cacheTtlMs?: number;
  /** Milliseconds since the epoch; tests control it. */
  readonly now?: () => number;
}

const DEFAULTS = { fetchTimeoutMs: 5_000, maxBytes: 64 * 1024, cacheTtlMs: 60 * 60_000 };
const MAX_URL_LENGTH = 2048;

/** Thrown for a document that is not acceptable; the message names the member, never its value. */
class DiscoveryRefused extends Error {}

/** The well-known URL of `issuer`'s configuration (a trailing `/` of the issuer is not doubled). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

/**
 * Checks a discovery document against the configured issuer: JSON object, `issuer` identical,
 * `authorization_endpoint`, `token_endpoint` and `jwks_uri` https (or loopback http) URLs.
 * Throws SERVICE_UNAVAILABLE naming what is wrong.
 */
export function parseDiscoveryDocument(bytes: Uint8Array, issuer: string): OidcProviderMetadata {
  try {
    let document: unknown;
    try {
      document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch {
      throw new DiscoveryRefused('it is not JSON');
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new DiscoveryRefused('it is not a JSON object');
    const fields = document as Record<string, unknown>;
    if (fields['issuer'] !== issuer) throw new DiscoveryRefused('its "issuer" is not the configured issuer (ui.oidc.issuer)');
    const endpoint = (name: string, allowQuery: boolean): string => {
      const value = fields[name];
      if (typeof value !== 'string' || value.length > MAX_URL_LENGTH || !isTrustedHttpUrl(value, { allowQuery })) {
        throw new DiscoveryRefused(`its "${name}" is not an https URL (http only for 127.0.0.1, localhost or ::1)`);
      }
      return value;
    };
    return {
      issuer,
      authorizationEndpoint: endpoint('authorization_endpoint', true),
      tokenEndpoint: endpoint('token_endpoint', true),
      jwksUri: endpoint('jwks_uri', true),
    };
  } catch (error) {
    if (error instanceof DiscoveryRefused) throw unavailable(`the identity provider's configuration was refused: ${error.message}`);
    throw error;
  }
}

function unavailable(message: string): CustodyError {
  return new CustodyError('SERVICE_UNAVAILABLE', message, { details: { service: 'oidc' } });
}

/** One issuer's discovery document, loaded on first use and cached. */
export class OidcDiscovery {
  readonly #settings: typeof DEFAULTS;
  readonly #now: () => number;
  #loaded: { readonly metadata: OidcProviderMetadata; readonly at: number } | undefined;
  #inflight: Promise<OidcProviderMetadata> | undefined;

  constructor(
    readonly issuer: string,
    options: OidcDiscoveryOptions = {},
  ) {
    this.#settings = {
      fetchTimeoutMs: options.fetchTimeoutMs ?? DEFAULTS.fetchTimeoutMs,
      maxBytes: options.maxBytes ?? DEFAULTS.maxBytes,
      cacheTtlMs: options.cacheTtlMs ?? DEFAULTS.cacheTtlMs,
    };
    this.#now = options.now ?? Date.now;
  }

  /**
   * The provider's endpoints: the cached document while fresh; otherwise fetched again (one
   * request however many logins wait). SERVICE_UNAVAILABLE when there is no usable document.
   */
  async metadata(): Promise<OidcProviderMetadata> {
    const loaded = this.#loaded;
    if (loaded !== undefined && this.#now() - loaded.at < this.#settings.cacheTtlMs) return loaded.metadata;
    this.#inflight ??= this.#fetch().finally(() => {
      this.#inflight = undefined;
    });
    try {
      return await this.#inflight;
    } catch (error) {
      // A provider that is briefly down does not end logins while an older document exists.
      if (loaded !== undefined) return loaded.metadata;
      throw error;
    }
  }

  async #fetch(): Promise<OidcProviderMetadata> {
    let bytes: Uint8Array;
    try {
      bytes = await fetchBounded(discoveryUrl(this.issuer), {
        what: "the identity provider's configuration",
        timeoutMs: this.#settings.fetchTimeoutMs,
        maxBytes: this.#settings.maxBytes,
        headers: { accept: 'application/json' },
      });
    } catch (error) {
      throw unavailable(error instanceof BoundedFetchError ? `${error.message}; single sign-on is unavailable, try again later` : 'the identity provider cannot be reached');
    }
    const metadata = parseDiscoveryDocument(bytes, this.issuer);
    this.#loaded = { metadata, at: this.#now() };
    return metadata;
  }
}
