/**
 * JWKS sources (SPEC §7 "JWKS from file or URL"): a URL key set is cached, reloaded when a token
 * names an unknown key (rotation) but at most once per interval however many unknown kids arrive,
 * and every hostile or failing response — oversize, not JSON, HTTP 500, too slow, redirected —
 * yields no key and a reason, never an exception. Keys are generated here; the server is a real
 * node:http server on 127.0.0.1.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { exportJWK, generateKeyPair, generateSecret, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openJwksSource, type JwksSourceOptions } from '../../src/auth/jwks-source.js';

async function publicJwk(kid: string, alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<JWK> {
  const { publicKey } = await generateKeyPair(alg, { extractable: true });
  return { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
}

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

/** A JWKS endpoint whose answer each test sets, counting requests per path. */
class JwksServer {
  readonly hits = new Map<string, number>();
  private readonly routes = new Map<string, Handler>();
  private server: Server | undefined;
  private base = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const route = request.url ?? '/';
      this.hits.set(route, (this.hits.get(route) ?? 0) + 1);
      const handler = this.routes.get(route);
      if (handler === undefined) response.writeHead(404).end();
      else handler(request, response);
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => { resolve(); }));
  }

  route(route: string, handler: Handler): string {
    this.routes.set(route, handler);
    this.hits.set(route, 0);
    return `${this.base}${route}`;
  }

  serveJson(route: string, document: () => unknown): string {
    return this.route(route, (_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(document()));
    });
  }

  count(route: string): number {
    return this.hits.get(route) ?? 0;
  }
}

const server = new JwksServer();
let clock = 0;
const options = (extra: Partial<JwksSourceOptions> = {}): JwksSourceOptions => ({ baseDir: tmpdir(), fetchTimeoutMs: 500, now: () => clock, ...extra });
const SECOND = 1000;

beforeAll(async () => {
  await server.start();
});
afterAll(async () => {
  await server.stop();
});
beforeEach(() => {
  clock = 1_700_000_000_000;
});

describe('openJwksSource with a URL', () => {
  it('loads the key set once and answers later lookups from the cache', async () => {
    const k1 = await publicJwk('k1');
    const url = server.serveJson('/cached', () => ({ keys: [k1] }));
    const source = openJwksSource(url, options());
    expect(server.count('/cached')).toBe(0); // nothing is fetched before the first lookup
    expect(await source.getKey({ alg: 'ES256', kid: 'k1' })).toBeDefined();
    clock += 5 * SECOND;
    expect(await source.getKey({ alg: 'ES256', kid: 'k1' })).toBeDefined();
    expect(await source.getKey({ alg: 'ES256' })).toBeDefined(); // a single matching key needs no kid
    expect(server.count('/cached')).toBe(1);
  });

  it('reloads when the cache has expired', async () => {
    const k1 = await publicJwk('k1');
    const url = server.serveJson('/ttl', () => ({ keys: [k1] }));
    const source = openJwksSource(url, options({ cacheTtlMs: 60 * SECOND }));
    await source.getKey({ alg: 'ES256', kid: 'k1' });
    clock += 59 * SECOND;
    await source.getKey({ alg: 'ES256', kid: 'k1' });
    expect(server.count('/ttl')).toBe(1);
    clock += 2 * SECOND;
    await source.getKey({ alg: 'ES256', kid: 'k1' });
    expect(server.count('/ttl')).toBe(2);
  });

  it('picks up a rotated key when a token names a kid it does not hold', async () => {
    const [k1, k2] = await Promise.all([publicJwk('k1'), publicJwk('k2')]);
    let served = [k1];
    const url = server.serveJson('/rotate', () => ({ keys: served }));
    const source = openJwksSource(url, options());
    expect(await source.getKey({ alg: 'ES256', kid: 'k1' })).toBeDefined();
    served = [k2];
    clock += 31 * SECOND; // past the default 30 s refresh interval, well inside the 10 min cache
    const lookup = await source.lookupKey({ alg: 'ES256', kid: 'k2' });
    expect(lookup.ok).toBe(true);
    expect(server.count('/rotate')).toBe(2);
    // k1 is gone from the new set, and the refresh just happened: refused without another fetch.
    expect(await source.lookupKey({ alg: 'ES256', kid: 'k1' })).toEqual({ ok: false, failure: { kind: 'no_matching_key', detail: expect.any(String) as string } });
    expect(server.count('/rotate')).toBe(2);
  });

  it('refetches at most once per interval however many unknown kids arrive', async () => {
    const k1 = await publicJwk('k1');
    const url = server.serveJson('/flood', () => ({ keys: [k1] }));
    const source = openJwksSource(url, options({ minRefreshIntervalMs: 30 * SECOND }));
    await source.getKey({ alg: 'ES256', kid: 'k1' });
    clock += 31 * SECOND;
    const concurrent = await Promise.all(Array.from({ length: 50 }, (_, i) => source.getKey({ alg: 'ES256', kid: `forged-${i}` })));
    expect(concurrent.every((key) => key === undefined)).toBe(true);
    for (let i = 0; i < 50; i++) {
      clock += 100;
      expect(await source.getKey({ alg: 'ES256', kid: `later-${i}` })).toBeUndefined();
    }
    expect(server.count('/flood')).toBe(2);
    clock += 30 * SECOND;
    await Promise.all(Array.from({ length: 20 }, (_, i) => source.getKey({ alg: 'ES256', kid: `again-${i}` })));
    expect(server.count('/flood')).toBe(3);
    // Known keys keep working throughout.
    expect(await source.getKey({ alg: 'ES256', kid: 'k1' })).toBeDefined();
  });

  it('keeps using an expired key set while reloads fail, but only up to maxStaleMs', async () => {
    const k1 = await publicJwk('k1');
    let healthy = true;
    const url = server.route('/stale', (_request, response) => {
      if (healthy) response.writeHead(200).end(JSON.stringify({ keys: [k1] }));
      else response.writeHead(503).end();
    });
    const source = openJwksSource(url, options({ cacheTtlMs: 60 * SECOND, maxStaleMs: 120 * SECOND }));
    expect(await source.getKey({ alg: 'ES256', kid: 'k1' })).toBeDefined();
    healthy = false;
    clock += 61 * SECOND;
    expect(await source.getKey({ alg: 'ES256', kid: 'k1' })).toBeDefined();
    clock += 120 * SECOND;
    const lookup = await source.lookupKey({ alg: 'ES256', kid: 'k1' });
    expect(lookup).toEqual({ ok: false, failure: { kind: 'unavailable', detail: 'the key set request answered HTTP 503' } });
    expect(server.count('/stale')).toBe(3);
  });

  it('never hands out symmetric or private keys from a key set', async () => {
    const secret = await exportJWK(await generateSecret('HS256', { extractable: true }));
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const url = server.serveJson('/private', () => ({ keys: [{ ...secret, kid: 'hmac', alg: 'HS256' }] }));
    const privateJwk = { ...(await exportJWK(privateKey)), kid: 'priv', alg: 'ES256' };
    const url2 = server.serveJson('/private2', () => ({ keys: [privateJwk] }));
    expect(await openJwksSource(url, options()).getKey({ alg: 'HS256', kid: 'hmac' })).toBeUndefined();
    // Dropped when the set is read, not merely refused by the key import.
    const lookup = await openJwksSource(url2, options()).lookupKey({ alg: 'ES256', kid: 'priv' });
    expect(lookup.ok ? 'key' : lookup.failure.kind).toBe('no_matching_key');
  });

  describe('refuses hostile or failing responses without throwing', () => {
    const cases: [string, Handler, RegExp][] = [
      ['a body over the size limit, declared', (_q, r) => r.writeHead(200, { 'content-length': String(2048) }).end('x'.repeat(2048)), /larger than 1024 bytes/],
      [
        'a body over the size limit, streamed without a length',
        (_q, r) => {
          r.writeHead(200);
          for (let i = 0; i < 8; i++) r.write(`{"keys":[${' '.repeat(200)}`);
          r.end();
        },
        /larger than 1024 bytes/,
      ],
      ['a body that is not JSON', (_q, r) => r.writeHead(200).end('<html>keys</html>'), /not JSON/],
      ['JSON without a keys array', (_q, r) => r.writeHead(200).end('{"keys":{"kid":"k1"}}'), /no "keys" array/],
      ['HTTP 500', (_q, r) => r.writeHead(500).end('{"keys":[]}'), /HTTP 500/],
      ['a redirect', (_q, r) => r.writeHead(302, { location: '/elsewhere' }).end(), /request failed/],
      ['no answer within the timeout', () => undefined, /timed out after 300 ms/],
      [
        'a body that stalls after the headers',
        (_q, r) => {
          r.writeHead(200);
          r.write('{"keys":[');
        },
        /timed out after 300 ms/,
      ],
    ];
    it.each(cases)('%s', async (name, handler, detail) => {
      const url = server.route(`/bad/${encodeURIComponent(name)}`, handler);
      const source = openJwksSource(url, options({ maxBytes: 1024, fetchTimeoutMs: 300 }));
      await expect(source.getKey({ alg: 'ES256', kid: 'k1' })).resolves.toBeUndefined();
      const lookup = await source.lookupKey({ alg: 'ES256', kid: 'k1' });
      expect(lookup.ok).toBe(false);
      if (!lookup.ok) {
        expect(lookup.failure.kind).toBe('unavailable');
        expect(lookup.failure.detail).toMatch(detail);
      }
    });
  });

  it('reports an unreachable server as unavailable', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => { resolve(); }));
    const lookup = await openJwksSource(`http://127.0.0.1:${port}/jwks`, options()).lookupKey({ alg: 'ES256', kid: 'k1' });
    expect(lookup).toEqual({ ok: false, failure: { kind: 'unavailable', detail: 'the key set request failed: ECONNREFUSED' } });
  });
});

describe('openJwksSource with a file', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'custody-jwks-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads the file relative to baseDir and re-reads it for an unknown kid', async () => {
    const [k1, k2] = await Promise.all([publicJwk('k1', 'EdDSA'), publicJwk('k2', 'EdDSA')]);
    writeFileSync(path.join(dir, 'ci-jwks.json'), JSON.stringify({ keys: [k1] }));
    const source = openJwksSource('file:ci-jwks.json', options({ baseDir: dir }));
    expect(await source.getKey({ alg: 'EdDSA', kid: 'k1' })).toBeDefined();
    writeFileSync(path.join(dir, 'ci-jwks.json'), JSON.stringify({ keys: [k1, k2] }));
    expect(await source.getKey({ alg: 'EdDSA', kid: 'k2' })).toBeUndefined(); // throttled: read 0 s ago
    clock += 31 * SECOND;
    expect(await source.getKey({ alg: 'EdDSA', kid: 'k2' })).toBeDefined();
  });

  it('refuses a missing, oversize or malformed file without throwing', async () => {
    writeFileSync(path.join(dir, 'big.json'), JSON.stringify({ keys: [], pad: 'x'.repeat(4096) }));
    writeFileSync(path.join(dir, 'bad.json'), '{"keys": [');
    const detail = async (spec: string): Promise<string | undefined> => {
      const lookup = await openJwksSource(spec, options({ baseDir: dir, maxBytes: 1024 })).lookupKey({ alg: 'ES256', kid: 'k1' });
      return lookup.ok ? undefined : `${lookup.failure.kind}: ${lookup.failure.detail}`;
    };
    expect(await detail('file:missing.json')).toBe('unavailable: cannot open the key set file: ENOENT');
    expect(await detail('file:big.json')).toBe('unavailable: the key set file is larger than 1024 bytes');
    expect(await detail('file:bad.json')).toBe('unavailable: the key set is not JSON');
  });
});
