/**
 * Where an OIDC issuer's verification keys come from (SPEC §7: "JWKS from file or URL"): a JSON
 * Web Key Set (RFC 7517 §5) read from a file or fetched over http(s), kept in memory, and
 * reloaded when its cache expires or when a token names a key it does not hold (key rotation).
 *
 * Everything read is hostile: responses are size-limited, time-limited and must be HTTP 200 with
 * a JSON body; symmetric (`oct`) and private key members are dropped so that a key set can never
 * hand the verifier an HMAC secret. Reloads are throttled, so a flood of tokens with made-up `kid`s
 * costs the issuer at most one request per interval. Failures never escape as exceptions: a lookup
 * yields no key plus a reason for the logs.
 */
import type { KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { createLocalJWKSet, errors, type CryptoKey, type JSONWebKeySet, type JWK } from 'jose';

/** The JWS protected header fields that select a key (RFC 7515 §4.1.1, §4.1.4). */
export interface JwsKeyHeader {
  readonly kid?: string | undefined;
  readonly alg?: string | undefined;
}

export type VerificationKey = CryptoKey | KeyObject;

/**
 * Why no key was returned: the set has no key for this header, several keys fit a header without
 * `kid`, the matching key cannot be imported, or the set itself could not be loaded.
 */
export type JwksFailureKind = 'no_matching_key' | 'ambiguous_key' | 'unusable_key' | 'unavailable';

export interface JwksFailure {
  readonly kind: JwksFailureKind;
  /** A short message for logs; never contains key material or tokens. */
  readonly detail: string;
}

export type JwksLookup = { readonly ok: true; readonly key: VerificationKey } | { readonly ok: false; readonly failure: JwksFailure };

export interface JwksSource {
  /** Key for the JWS protected header; refreshes a URL source once when the kid is unknown (at most once per `minRefreshIntervalMs`, default 30 s). */
  getKey(header: JwsKeyHeader): Promise<VerificationKey | undefined>;
  /** Like `getKey`, but says why no key was found. Never throws. */
  lookupKey(header: JwsKeyHeader): Promise<JwksLookup>;
}

export interface JwksSourceOptions {
  /** Relative `file:` paths resolve against this directory (the data directory). */
  readonly baseDir: string;
  /** Whole request, headers and body (default 5 s). */
  readonly fetchTimeoutMs?: number;
  /** Largest accepted key set in bytes (default 256 KiB). */
  readonly maxBytes?: number;
  /** Reloads caused by unknown keys or expiry happen at most this often (default 30 s). */
  readonly minRefreshIntervalMs?: number;
  /** A loaded key set is reloaded after this long (default 10 min). */
  readonly cacheTtlMs?: number;
  /** While reloads fail, an expired key set stays in use this much longer (default 1 h). */
  readonly maxStaleMs?: number;
  /** Milliseconds since the epoch; tests control it. */
  readonly now?: () => number;
}

const DEFAULTS = { fetchTimeoutMs: 5_000, maxBytes: 256 * 1024, minRefreshIntervalMs: 30_000, cacheTtlMs: 10 * 60_000, maxStaleMs: 60 * 60_000 };
const MAX_KEYS = 100;
const MAX_KID_LENGTH = 1024;
// Members that only private or symmetric JWKs carry (RFC 7518 §6.2.2, §6.3.2, §6.4.1; RFC 8037 §2).
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k'] as const;
const ASYMMETRIC_KTY = new Set(['EC', 'RSA', 'OKP']);

/** A fetch or load failure whose message is fit for logs: never a body, a token or a key. */
export class BoundedFetchError extends Error {}

/** A key set that could not be loaded. */
class JwksLoadError extends BoundedFetchError {}

type Loader = () => Promise<Uint8Array>;

/**
 * Opens a key set: `file:PATH` (relative to `baseDir`) or an http(s) URL. Nothing is read until the
 * first lookup.
 */
export function openJwksSource(spec: string, options: JwksSourceOptions): JwksSource {
  const settings = { ...DEFAULTS, ...definedOnly(options) };
  const loader: Loader = spec.startsWith('file:')
    ? () => readFileBounded(path.resolve(options.baseDir, spec.slice('file:'.length)), settings.maxBytes)
    : () => fetchBounded(spec, { what: 'the key set', timeoutMs: settings.fetchTimeoutMs, maxBytes: settings.maxBytes, headers: { accept: 'application/jwk-set+json, application/json' } });
  return new CachedJwksSource(loader, settings, options.now ?? Date.now);
}

interface LoadedSet {
  readonly select: ReturnType<typeof createLocalJWKSet>;
  readonly loadedAt: number;
}

class CachedJwksSource implements JwksSource {
  private loaded: LoadedSet | undefined;
  private lastAttemptAt = Number.NEGATIVE_INFINITY;
  private lastError = 'not loaded yet';
  private lastLoadFailed = false;
  private inflight: Promise<void> | undefined;

  constructor(
    private readonly load: Loader,
    private readonly settings: typeof DEFAULTS,
    private readonly now: () => number,
  ) {}

  async getKey(header: JwsKeyHeader): Promise<VerificationKey | undefined> {
    const result = await this.lookupKey(header);
    return result.ok ? result.key : undefined;
  }

  async lookupKey(header: JwsKeyHeader): Promise<JwksLookup> {
    try {
      if (typeof header.alg !== 'string') return failure('no_matching_key', 'the header names no algorithm');
      if (header.kid !== undefined && (typeof header.kid !== 'string' || header.kid.length > MAX_KID_LENGTH)) {
        return failure('no_matching_key', 'the header has an unusable kid');
      }
      if (this.loaded === undefined || this.now() - this.loaded.loadedAt >= this.settings.cacheTtlMs) await this.refresh();
      const current = this.usableSet();
      if (current === undefined) return failure('unavailable', this.lastError);
      const result = await selectKey(current, header);
      if (result.ok || result.failure.kind !== 'no_matching_key') return result;
      // An unknown key may mean the issuer rotated: reload once (throttled) and look again.
      await this.refresh();
      const reloaded = this.usableSet();
      if (reloaded === undefined) return failure('unavailable', this.lastError);
      if (reloaded !== current) return await selectKey(reloaded, header);
      // Without a fresh set we cannot tell an unknown key from one we failed to fetch.
      return this.lastLoadFailed ? failure('unavailable', this.lastError) : result;
    } catch {
      return failure('unavailable', 'unexpected error while looking up a key');
    }
  }

  /** The loaded set unless it has been stale for longer than `maxStaleMs`. */
  private usableSet(): LoadedSet | undefined {
    const loaded = this.loaded;
    if (loaded === undefined) return undefined;
    return this.now() - loaded.loadedAt < this.settings.cacheTtlMs + this.settings.maxStaleMs ? loaded : undefined;
  }

  /** Reloads unless a reload started less than `minRefreshIntervalMs` ago; joins one in flight. */
  private async refresh(): Promise<void> {
    if (this.inflight !== undefined) return this.inflight;
    const startedAt = this.now();
    if (startedAt - this.lastAttemptAt < this.settings.minRefreshIntervalMs) return;
    this.lastAttemptAt = startedAt;
    const attempt = (async () => {
      try {
        const select = createLocalJWKSet(parseKeySet(await this.load()));
        this.loaded = { select, loadedAt: this.now() };
        this.lastError = 'loaded';
        this.lastLoadFailed = false;
      } catch (error) {
        this.lastLoadFailed = true;
        this.lastError = error instanceof BoundedFetchError ? error.message : 'the key set could not be loaded';
      }
    })();
    // `finally` callbacks run in a later microtask, so this clears the assignment below even when
    // the attempt settled synchronously (a `finally` block inside the attempt would run too early).
    this.inflight = attempt.finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }
}

function failure(kind: JwksFailureKind, detail: string): JwksLookup {
  return { ok: false, failure: { kind, detail } };
}

async function selectKey(set: LoadedSet, header: JwsKeyHeader): Promise<JwksLookup> {
  try {
    const key = await set.select({ ...(header.alg === undefined ? {} : { alg: header.alg }), ...(header.kid === undefined ? {} : { kid: header.kid }) });
    return { ok: true, key };
  } catch (error) {
    if (error instanceof errors.JWKSNoMatchingKey) return failure('no_matching_key', 'no key in the set matches the header');
    if (error instanceof errors.JWKSMultipleMatchingKeys) return failure('ambiguous_key', 'several keys match a header without kid');
    if (error instanceof errors.JOSENotSupported) return failure('no_matching_key', 'the algorithm cannot use a key from a key set');
    return failure('unusable_key', 'the matching key cannot be imported');
  }
}

/** Parses a JWKS, keeping only public asymmetric keys; anything else in the set is ignored. */
export function parseKeySet(bytes: Uint8Array): JSONWebKeySet {
  let document: unknown;
  try {
    document = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new JwksLoadError('the key set is not JSON');
  }
  if (!isRecord(document) || !Array.isArray(document.keys)) throw new JwksLoadError('the key set has no "keys" array');
  if (document.keys.length > MAX_KEYS) throw new JwksLoadError(`the key set has more than ${MAX_KEYS} keys`);
  const keys = document.keys.filter(
    (jwk): jwk is JWK => isRecord(jwk) && typeof jwk.kty === 'string' && ASYMMETRIC_KTY.has(jwk.kty) && PRIVATE_MEMBERS.every((member) => !(member in jwk)),
  );
  return { keys };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

async function readFileBounded(file: string, maxBytes: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new JwksLoadError(`cannot open the key set file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  try {
    const buffer = Buffer.alloc(maxBytes + 1);
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
      if (length > maxBytes) throw new JwksLoadError(`the key set file is larger than ${maxBytes} bytes`);
    }
    return buffer.subarray(0, length);
  } catch (error) {
    if (error instanceof JwksLoadError) throw error;
    throw new JwksLoadError(`cannot read the key set file: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  } finally {
    await handle.close();
  }
}

/** How {@link fetchBounded} requests: what it fetches (for messages), limits, and an optional POST. */
export interface BoundedFetchOptions {
  /** Names the resource in messages, e.g. `the key set`. */
  readonly what: string;
  /** Whole request, headers and body. */
  readonly timeoutMs: number;
  /** Largest accepted body in bytes. */
  readonly maxBytes: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A form POST instead of a GET (the OIDC token endpoint). */
  readonly method?: 'GET' | 'POST';
  readonly body?: string;
}

/**
 * A request with a deadline covering headers and body, no redirects, status 200 and at most
 * `maxBytes` of body; anything else throws {@link BoundedFetchError} with a message naming `what`
 * (never the body). Shared by the key sets and the web UI's OIDC client (discovery, token endpoint).
 */
export async function fetchBounded(url: string, options: BoundedFetchOptions): Promise<Uint8Array> {
  const { what, timeoutMs, maxBytes } = options;
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = (): BoundedFetchError => new BoundedFetchError(`${what} request timed out after ${timeoutMs} ms`);
  let response: Response;
  try {
    response = await fetch(url, {
      signal,
      redirect: 'error',
      method: options.method ?? 'GET',
      headers: { ...(options.headers ?? {}) },
      ...(options.body === undefined ? {} : { body: options.body }),
    });
  } catch (error) {
    if (signal.aborted) throw timedOut();
    const code = (error as { cause?: { code?: unknown } }).cause?.code;
    throw new BoundedFetchError(`${what} request failed${typeof code === 'string' ? `: ${code}` : ''}`);
  }
  const body = response.body;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  try {
    if (response.status !== 200) throw new BoundedFetchError(`${what} request answered HTTP ${response.status}`);
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) throw new BoundedFetchError(`${what} is larger than ${maxBytes} bytes`);
    if (body === null) throw new BoundedFetchError(`${what} response has no body`);
    const chunks: Uint8Array[] = [];
    let length = 0;
    reader = body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      length += value.byteLength;
      if (length > maxBytes) throw new BoundedFetchError(`${what} is larger than ${maxBytes} bytes`);
      chunks.push(value);
    }
    return Buffer.concat(chunks, length);
  } catch (error) {
    await (reader ?? body)?.cancel().catch(() => undefined);
    if (error instanceof BoundedFetchError) throw error;
    if (signal.aborted) throw timedOut();
    throw new BoundedFetchError(`${what} response could not be read`);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
