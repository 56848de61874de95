/**
 * Blob reads and the public operational surface over real HTTP (SPEC §9): served bytes are
 * `application/octet-stream` with `nosniff`, single `Range` requests are honoured (416 with
 * `Content-Range: bytes *\/size` when unsatisfiable), HEAD gives the size and no body, the missing
 * endpoint answers in request order, and the health, metrics, OpenAPI and docs routes answer
 * without a token — the OpenAPI document built from the same zod schemas that validate requests.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { allRoutes } from '../../src/api/routes/all-routes.js';
import { registerBody } from '../../src/api/schemas.js';
import { startTestRegistry, type TestRegistry } from '../support/registry.js';

interface Reply {
  readonly status: number;
  readonly headers: Headers;
  readonly bytes: Buffer;
  readonly text: string;
}

type Json = Record<string, unknown>;

const sha256 = (data: string | Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Bytes a browser would happily render as a page, were it not for the headers. */
const CONTENT = Buffer.from('<html><script>alert(document.cookie)</script></html>\n', 'utf8');
const DIGEST = sha256(CONTENT);
const SIZE = CONTENT.length;

function asObject(value: unknown): Json {
  expect(value).toBeTypeOf('object');
  expect(value).not.toBeNull();
  return value as Json;
}

describe('blob API over HTTP', () => {
  let reg: TestRegistry;

  async function send(method: string, path: string, init: { token?: string | null; headers?: Record<string, string>; body?: string | Uint8Array } = {}): Promise<Reply> {
    const headers: Record<string, string> = { ...(init.headers ?? {}) };
    const token = init.token === undefined ? reg.token : init.token;
    if (token !== null) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${reg.url}${path}`, { method, headers, ...(init.body === undefined ? {} : { body: init.body }) });
    const bytes = Buffer.from(await res.arrayBuffer());
    return { status: res.status, headers: res.headers, bytes, text: bytes.toString('utf8') };
  }

  const getRange = (range: string): Promise<Reply> => send('GET', `/api/v1/blobs/${DIGEST}`, { headers: { range } });

  beforeAll(async () => {
    reg = await startTestRegistry('sqlite');
    const put = await send('PUT', `/api/v1/blobs/${DIGEST}`, { body: CONTENT, headers: { 'content-type': 'application/octet-stream' } });
    expect(put.status).toBe(201);
  });

  afterAll(async () => {
    await reg.stop();
  });

  describe('GET and HEAD of a blob', () => {
    it('serves the whole blob as application/octet-stream with nosniff, however HTML-like its bytes', async () => {
      const res = await send('GET', `/api/v1/blobs/${DIGEST}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('content-length')).toBe(String(SIZE));
      expect(res.headers.get('accept-ranges')).toBe('bytes');
      expect(res.bytes.equals(CONTENT)).toBe(true);
    });

    it('answers HEAD with the size in Content-Length and no body', async () => {
      const res = await send('HEAD', `/api/v1/blobs/${DIGEST}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-length')).toBe(String(SIZE));
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.bytes.length).toBe(0);
    });

    it('serves the first byte for bytes=0-0', async () => {
      const res = await getRange('bytes=0-0');
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 0-0/${SIZE}`);
      expect(res.headers.get('content-length')).toBe('1');
      expect(res.headers.get('content-type')).toBe('application/octet-stream');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.bytes.equals(CONTENT.subarray(0, 1))).toBe(true);
    });

    it('serves a range from the middle', async () => {
      const res = await getRange('bytes=6-13');
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 6-13/${SIZE}`);
      expect(res.headers.get('content-length')).toBe('8');
      expect(res.bytes.equals(CONTENT.subarray(6, 14))).toBe(true);
    });

    it('serves the last five bytes for the suffix range bytes=-5', async () => {
      const res = await getRange('bytes=-5');
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${SIZE - 5}-${SIZE - 1}/${SIZE}`);
      expect(res.bytes.equals(CONTENT.subarray(SIZE - 5))).toBe(true);
    });

    it('serves the whole blob for a suffix longer than the blob', async () => {
      const res = await getRange(`bytes=-${SIZE * 10}`);
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 0-${SIZE - 1}/${SIZE}`);
      expect(res.bytes.equals(CONTENT)).toBe(true);
    });

    it('serves an open-ended range to the end of the blob', async () => {
      const res = await getRange('bytes=20-');
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes 20-${SIZE - 1}/${SIZE}`);
      expect(res.bytes.equals(CONTENT.subarray(20))).toBe(true);
    });

    it('clamps a range whose end lies past the blob', async () => {
      const res = await getRange(`bytes=${SIZE - 2}-${SIZE + 100}`);
      expect(res.status).toBe(206);
      expect(res.headers.get('content-range')).toBe(`bytes ${SIZE - 2}-${SIZE - 1}/${SIZE}`);
      expect(res.bytes.equals(CONTENT.subarray(SIZE - 2))).toBe(true);
    });

    it.each([`bytes=${SIZE}-`, `bytes=${SIZE + 5}-${SIZE + 9}`, 'bytes=-0'])('answers 416 with Content-Range bytes */size for the unsatisfiable range %s', async (range) => {
      const res = await getRange(range);
      expect(res.status).toBe(416);
      expect(res.headers.get('content-range')).toBe(`bytes */${SIZE}`);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(asObject(JSON.parse(res.text)).code).toBe('RANGE_NOT_SATISFIABLE');
    });

    it('ignores a multi-range request and serves the whole blob', async () => {
      const res = await getRange('bytes=0-1,4-5');
      expect(res.status).toBe(200);
      expect(res.bytes.equals(CONTENT)).toBe(true);
    });

    it('answers 404 BLOB_NOT_FOUND for a blob it does not hold', async () => {
      const res = await send('GET', `/api/v1/blobs/${sha256('never uploaded')}`);
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(asObject(JSON.parse(res.text)).code).toBe('BLOB_NOT_FOUND');
    });
  });

  describe('missing blobs', () => {
    it('returns only the missing digests, in request order, each once', async () => {
      const first = sha256('first missing');
      const second = sha256('second missing');
      const res = await send('POST', '/api/v1/blobs/missing', {
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ digests: [second, DIGEST, first, second] }),
      });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ missing: [second, first] });
    });

    it('returns an empty list when every blob is present', async () => {
      const res = await send('POST', '/api/v1/blobs/missing', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ digests: [DIGEST] }) });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ missing: [] });
    });
  });

  describe('public operational routes', () => {
    it('answers /healthz without a token', async () => {
      const res = await send('GET', '/healthz', { token: null });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ status: 'ok' });
    });

    it('answers /readyz without a token once the stores answer', async () => {
      const res = await send('GET', '/readyz', { token: null });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toEqual({ status: 'ready' });
    });

    it('answers /metrics without a token in the Prometheus text format', async () => {
      const res = await send('GET', '/metrics', { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect(res.text).toMatch(/^# TYPE custody_http_requests_total counter$/m);
      expect(res.text).toMatch(/^custody_upload_bytes_received_total [0-9]+$/m);
    });

    it('serves the docs page as HTML without a token', async () => {
      const res = await send('GET', '/docs', { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.text).toMatch(/^<!doctype html>/i);
      expect(res.text).toContain('/api/v1/openapi.json');
    });
  });

  describe('OpenAPI document', () => {
    let doc: Json;
    let paths: Record<string, Record<string, Json>>;

    beforeAll(async () => {
      const res = await send('GET', '/api/v1/openapi.json', { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      doc = asObject(JSON.parse(res.text));
      paths = asObject(doc.paths) as Record<string, Record<string, Json>>;
    });

    it('is an OpenAPI 3.1 document', () => {
      expect(doc.openapi).toMatch(/^3\.1\./);
      expect(asObject(doc.info).title).toBeTypeOf('string');
    });

    it('lists every non-hidden route of the table with its method, and nothing else', () => {
      const table = allRoutes('test').filter((r) => r.hidden !== true);
      expect(table.length).toBeGreaterThan(5);
      for (const route of table) {
        const operation = paths[route.path]?.[route.method.toLowerCase()];
        expect(operation, `${route.method} ${route.path}`).toBeDefined();
        expect(operation?.operationId).toBe(route.operationId);
        if (route.auth === 'public') {
          expect(operation?.security).toEqual([]);
        } else {
          expect(operation?.security).toEqual([{ bearerAuth: [] }]);
          expect(operation?.['x-custody-permission']).toBe(route.auth === 'authenticated' ? undefined : route.auth.permission);
        }
      }
      const documented = Object.entries(paths).flatMap(([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`));
      expect(documented.sort()).toEqual(table.map((r) => `${r.method} ${r.path}`).sort());
    });

    it('documents the registerVersion body with the very zod schema that validates it, unknown properties rejected', () => {
      const operation = paths['/api/v1/models/{namespace}/{name}/versions']?.post;
      const requestBody = asObject(operation?.requestBody);
      const schema = asObject(asObject(asObject(requestBody.content)['application/json']).schema);
      expect(schema.additionalProperties).toBe(false);
      const files = asObject(asObject(schema.properties).files);
      expect(asObject(files.items).additionalProperties).toBe(false);
      const expected = asObject(z.toJSONSchema(registerBody, { io: 'input', unrepresentable: 'any' }));
      delete expected.$schema;
      expect(schema).toEqual(expected);
    });

    it('leaves the hidden docs page out', () => {
      expect(paths['/docs']).toBeUndefined();
    });
  });
});
