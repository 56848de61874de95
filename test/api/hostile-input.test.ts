/**
 * Hostile input over real HTTP (issue 2 §7, SPEC §4.1 and §10 "hostile upload"): bad paths,
 * digests and sizes that lie, clients that vanish mid-upload, oversized and malformed bodies,
 * and attempts to change a version. Each case checks the status, the problem+json `code`, that
 * no stack trace or internal path leaks, and that nothing was left behind: no version, no
 * visible blob, no temporary file under `<dataDir>/blobs/tmp/`. Malformed framing (a lying
 * Content-Length, chunked bodies, a disconnect) is sent over raw sockets.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allRoutes } from '../../src/api/routes/all-routes.js';
import { generateApiToken, hashApiToken } from '../../src/auth/api-token.js';
import type { ErrorCode } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { BACKENDS, REPO_ROOT, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { storedUploadSessions, temporaryBlobWrites, uploadSessionStored } from '../support/stored-blobs.js';

const MiB = 1024 * 1024;

interface Reply {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly text: string;
}

interface Problem {
  readonly status: unknown;
  readonly code: unknown;
  readonly detail: unknown;
  readonly [extra: string]: unknown;
}

interface FileEntry {
  readonly path: string;
  readonly size: number;
  readonly digest: string;
}

const digestOf = (data: string | Uint8Array): string => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Two small blobs every registry holds, so that a registration's only fault is the one tested. */
const A = Buffer.from('weights-a');
const B = Buffer.from('weights-b!');
const entry = (filePath: string, blob: Buffer = A): FileEntry => ({ path: filePath, size: blob.length, digest: digestOf(blob) });

let modelSeq = 0;
/** A model name no other case uses, so "no version" means this case stored nothing. */
const freshModel = (): string => `hostile-${++modelSeq}`;

// ---------------------------------------------------------------------------------------------
// HTTP helpers: fetch for well-formed requests, raw sockets for lying ones.

async function call(
  reg: TestRegistry,
  method: string,
  target: string,
  init: { token?: string; headers?: Record<string, string>; body?: string | Uint8Array; json?: unknown } = {},
): Promise<Reply> {
  const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? reg.token}`, ...(init.headers ?? {}) };
  let body = init.body;
  if (init.json !== undefined) {
    body = JSON.stringify(init.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${reg.url}${target}`, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, headers: Object.fromEntries(res.headers), text: await res.text() };
}

/** A raw request head; the server is asked to close the connection after answering. */
function requestHead(reg: TestRegistry, method: string, target: string, headers: Record<string, string>): string {
  const all = { host: new URL(reg.url).host, authorization: `Bearer ${reg.token}`, connection: 'close', ...headers };
  return `${method} ${target} HTTP/1.1\r\n${Object.entries(all)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** A chunked transfer-encoding body made of `parts`. */
function chunked(...parts: readonly Buffer[]): Buffer {
  return Buffer.concat([...parts.flatMap((p) => [Buffer.from(`${p.length.toString(16)}\r\n`), p, Buffer.from('\r\n')]), Buffer.from('0\r\n\r\n')]);
}

/** Every complete response in `data` (each framed by its Content-Length). */
function parseResponses(data: Buffer): Reply[] {
  const replies: Reply[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return replies;
    const [statusLine = '', ...lines] = data.subarray(at, end).toString('latin1').split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (data.length < end + 4 + length) return replies;
    const status = Number(/^HTTP\/1\.[01] ([0-9]{3})/.exec(statusLine)?.[1] ?? 0);
    replies.push({ status, headers, text: data.subarray(end + 4, end + 4 + length).toString('utf8') });
    at = end + 4 + length;
  }
}

function openSocket(reg: TestRegistry): Promise<Socket> {
  const { hostname, port } = new URL(reg.url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function writeAll(socket: Socket, data: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.write(data, (error) => {
      if (error === undefined || error === null) resolve();
      else reject(error);
    });
  });
}

/**
 * Sends `head` and `body` verbatim and returns every response the server sent before it closed
 * the connection. `halfClose` ends our side after sending, as a client that gave up would.
 */
async function rawExchange(reg: TestRegistry, head: string, body: string | Uint8Array = '', options: { halfClose?: boolean } = {}): Promise<Reply[]> {
  const socket = await openSocket(reg);
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseResponses(Buffer.concat(received)));
    };
    const timer = setTimeout(finish, 5_000);
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.once('close', finish);
    socket.on('error', () => undefined);
    socket.write(head);
    if (body.length > 0) socket.write(body);
    if (options.halfClose === true) socket.end();
  });
}

/** The one response of a raw exchange. */
function only(replies: readonly Reply[]): Reply {
  expect(replies.map((r) => `${r.status} ${r.text}`)).toHaveLength(1);
  const [reply] = replies;
  if (reply === undefined) throw new Error('no response');
  return reply;
}

// ---------------------------------------------------------------------------------------------
// Assertions.

/** No stack frame, no source path, no module path: SPEC §9 "no stack traces, no internals". */
function expectNoInternals(text: string): void {
  expect(text).not.toMatch(/\n\s*at |\bat \S+ \(|\bat (file|node):/);
  expect(text).not.toContain(REPO_ROOT);
  expect(text).not.toMatch(/node_modules|\/src\/|\.[cm]?[jt]s:[0-9]+/);
}

function expectProblem(res: Reply, status: number, code: ErrorCode): Problem {
  let problem: Problem;
  try {
    problem = JSON.parse(res.text) as Problem;
  } catch {
    throw new Error(`expected problem+json ${status} ${code}, got ${res.status}: ${res.text.slice(0, 300)}`);
  }
  expect(`${res.status} ${String(problem.code)}`, res.text).toBe(`${status} ${code}`);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(problem.status).toBe(status);
  expect(problem.detail).toBeTypeOf('string');
  expectNoInternals(res.text);
  return problem;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await sleep(20);
  }
}


async function versionCount(reg: TestRegistry, name: string): Promise<number> {
  const res = await call(reg, 'GET', `/api/v1/models/ns/${name}/versions`);
  if (res.status === 404) {
    expectProblem(res, 404, 'MODEL_NOT_FOUND');
    return 0;
  }
  expect(res.status, res.text).toBe(200);
  return (JSON.parse(res.text) as { items: unknown[] }).items.length;
}

async function blobStatus(reg: TestRegistry, digest: string): Promise<number> {
  return (await call(reg, 'HEAD', `/api/v1/blobs/${digest}`)).status;
}

/** The case left nothing behind: no version of `model`, none of `blobs` visible, tmp/ empty, `session` gone. */
async function expectNothingStored(reg: TestRegistry, what: { model?: string; blobs?: readonly string[]; session?: string }): Promise<void> {
  if (what.model !== undefined) expect(await versionCount(reg, what.model), `versions of ns/${what.model}`).toBe(0);
  for (const digest of what.blobs ?? []) expect(await blobStatus(reg, digest), `HEAD ${digest}`).toBe(404);
  expect(await temporaryBlobWrites(reg), 'temporary blob writes').toEqual([]);
  if (what.session !== undefined) {
    expectProblem(await call(reg, 'GET', `/api/v1/uploads/${what.session}`), 404, 'UPLOAD_NOT_FOUND');
    expect(await uploadSessionStored(reg, what.session), 'session storage').toBe(false);
  }
}

async function putBlob(reg: TestRegistry, bytes: Buffer): Promise<void> {
  const res = await call(reg, 'PUT', `/api/v1/blobs/${digestOf(bytes)}`, { body: bytes, headers: { 'content-type': 'application/octet-stream' } });
  expect(res.status, res.text).toBe(201);
}

const register = (reg: TestRegistry, name: string, body: unknown, init: { headers?: Record<string, string> } = {}): Promise<Reply> =>
  call(reg, 'POST', `/api/v1/models/ns/${name}/versions`, { json: body, ...init });

async function openSession(reg: TestRegistry, digest: string, size: number, token?: string): Promise<string> {
  const res = await call(reg, 'POST', '/api/v1/uploads', { json: { digest, size }, ...(token === undefined ? {} : { token }) });
  expect(res.status, res.text).toBe(201);
  const id = (JSON.parse(res.text) as { id: unknown }).id;
  if (typeof id !== 'string') throw new Error(`no session id in ${res.text}`);
  return id;
}

async function sessionOffset(reg: TestRegistry, id: string): Promise<number> {
  const res = await call(reg, 'GET', `/api/v1/uploads/${id}`);
  expect(res.status, res.text).toBe(200);
  return (JSON.parse(res.text) as { offset: number }).offset;
}

const patch = (reg: TestRegistry, id: string, contentRange: string, body: Uint8Array, token?: string): Promise<Reply> =>
  call(reg, 'PATCH', `/api/v1/uploads/${id}`, { body, headers: { 'content-range': contentRange, 'content-type': 'application/octet-stream' }, ...(token === undefined ? {} : { token }) });

/** Bytes the server has received and written for uploads so far (its own counter). */
async function receivedBytes(reg: TestRegistry): Promise<number> {
  const text = await (await fetch(`${reg.url}/metrics`)).text();
  return Number(/^custody_upload_bytes_received_total ([0-9]+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** A second principal with every permission, and its token. */
async function addPrincipal(reg: TestRegistry): Promise<string> {
  const token = generateApiToken();
  const now = new Date().toISOString();
  const principalId = newId();
  await reg.registry.metadata.transaction(async (tx) => {
    await tx.insertPrincipal({ id: principalId, name: `other-${principalId.toLowerCase()}`, kind: 'user', createdAt: now, disabledAt: null, oidc: null });
    await tx.insertBinding({ id: newId(), principalId, role: 'admin', namespaces: null, environments: null, condition: null, createdAt: now, revokedAt: null });
    await tx.insertToken({ id: newId(), principalId, name: 'test', tokenHash: hashApiToken(token), createdAt: now, expiresAt: null, revokedAt: null, permissions: null });
  });
  return token;
}

/** `{"a":[[[…]]]}` nested `depth` arrays deep. */
const deeplyNested = (depth: number): string => `{"a":${'['.repeat(depth)}${']'.repeat(depth)}}`;

// ---------------------------------------------------------------------------------------------

describe('the route table', () => {
  it('has no route that could change or delete a version: no PUT, PATCH or DELETE under /api/v1/models/', () => {
    const models = allRoutes('test').filter((r) => r.path.startsWith('/api/v1/models'));
    expect(models.length).toBeGreaterThan(0);
    expect(models.filter((r) => ['PUT', 'PATCH', 'DELETE'].includes(r.method)).map((r) => `${r.method} ${r.path}`)).toEqual([]);
  });
});

describe.each(BACKENDS)('hostile input on %s', (backend) => {
  describe('with the default limits', () => {
    let reg: TestRegistry;

    beforeAll(async () => {
      reg = await startTestRegistry(backend);
      await putBlob(reg, A);
      await putBlob(reg, B);
    });

    afterAll(async () => {
      await reg.stop();
    });

    describe('file paths in a registration', () => {
      const badPaths: readonly (readonly [string, string, ErrorCode])[] = [
        ['an absolute path', '/etc/passwd', 'INVALID_PATH'],
        ['a .. segment', 'a/../b', 'INVALID_PATH'],
        ['a bare ..', '..', 'INVALID_PATH'],
        ['a leading ..', '../outside.bin', 'INVALID_PATH'],
        ['a leading . segment', './a', 'INVALID_PATH'],
        ['an inner . segment', 'a/./b', 'INVALID_PATH'],
        ['a bare .', '.', 'INVALID_PATH'],
        ['a backslash', 'a\\b', 'INVALID_PATH'],
        ['a backslash traversal', '..\\..\\evil.bin', 'INVALID_PATH'],
        ['a NUL', 'a\u0000b', 'INVALID_PATH'],
        ['a newline', 'a\nb', 'INVALID_PATH'],
        ['a DEL', '\u007f', 'INVALID_PATH'],
        ['a C1 control character', 'a\u0085b', 'INVALID_PATH'],
        ['an empty segment', 'a//b', 'INVALID_PATH'],
        ['a trailing slash', 'a/', 'INVALID_PATH'],
        ['a lone surrogate (not UTF-8)', 'a\ud800b', 'INVALID_PATH'],
        ['a segment over 255 bytes', 'x'.repeat(256), 'INVALID_PATH'],
        ['no characters at all', '', 'VALIDATION_FAILED'],
      ];

      it.each(badPaths)('rejects a path with %s and stores nothing', async (_label, badPath, code) => {
        const model = freshModel();
        const problem = expectProblem(await register(reg, model, { files: [entry('ok/w.bin', A), entry(badPath, B)] }), 400, code);
        if (code === 'INVALID_PATH') expect(problem.path).toBe(JSON.stringify(badPath));
        await expectNothingStored(reg, { model });
      });

      it('rejects the same path twice and stores nothing', async () => {
        const model = freshModel();
        expectProblem(await register(reg, model, { files: [entry('w.bin', A), entry('w.bin', A)] }), 400, 'DUPLICATE_PATH');
        await expectNothingStored(reg, { model });
      });

      it('rejects the same path twice with different contents and stores nothing', async () => {
        const model = freshModel();
        expectProblem(await register(reg, model, { files: [entry('w.bin', A), entry('w.bin', B)] }), 400, 'DUPLICATE_PATH');
        await expectNothingStored(reg, { model });
      });

      it('accepts paths that differ only in case while caseInsensitivePaths is off', async () => {
        const model = freshModel();
        const res = await register(reg, model, { files: [entry('Weights.bin', A), entry('weights.bin', B)] });
        expect(res.status, res.text).toBe(201);
        expect(await versionCount(reg, model)).toBe(1);
      });
    });

    describe('declared digests that do not match the bytes', () => {
      it('rejects a single-shot PUT whose bytes hash to another digest and stores nothing', async () => {
        const bytes = Buffer.from('the real bytes');
        const claimed = digestOf('other bytes');
        const res = await call(reg, 'PUT', `/api/v1/blobs/${claimed}`, { body: bytes });
        expectProblem(res, 422, 'DIGEST_MISMATCH');
        await expectNothingStored(reg, { blobs: [claimed, digestOf(bytes)] });
      });

      it('rejects a chunked PUT (no Content-Length) whose bytes hash to another digest and stores nothing', async () => {
        const bytes = Buffer.from('chunked real bytes');
        const claimed = digestOf('chunked other bytes');
        const head = requestHead(reg, 'PUT', `/api/v1/blobs/${claimed}`, { 'transfer-encoding': 'chunked' });
        expectProblem(only(await rawExchange(reg, head, chunked(bytes.subarray(0, 5), bytes.subarray(5)))), 422, 'DIGEST_MISMATCH');
        await expectNothingStored(reg, { blobs: [claimed, digestOf(bytes)] });
      });

      it('keeps an existing blob intact when other bytes are PUT under its digest', async () => {
        const impostor = Buffer.alloc(A.length, 0x41);
        expectProblem(await call(reg, 'PUT', `/api/v1/blobs/${digestOf(A)}`, { body: impostor }), 422, 'DIGEST_MISMATCH');
        const res = await fetch(`${reg.url}/api/v1/blobs/${digestOf(A)}`, { headers: { authorization: `Bearer ${reg.token}` } });
        expect(Buffer.from(await res.arrayBuffer()).equals(A)).toBe(true);
        await expectNothingStored(reg, { blobs: [digestOf(impostor)] });
      });

      it('rejects a session commit whose bytes hash to another digest, and ends the session', async () => {
        const expected = Buffer.from('session bytes, expected');
        const actual = Buffer.from('session bytes, delivered');
        expect(actual.length).toBe(expected.length + 1);
        const sent = actual.subarray(0, expected.length);
        const id = await openSession(reg, digestOf(expected), expected.length);
        expect((await patch(reg, id, `bytes 0-${sent.length - 1}/${sent.length}`, sent)).status).toBe(200);
        expectProblem(await call(reg, 'POST', `/api/v1/uploads/${id}/commit`, { json: { digest: digestOf(expected) } }), 422, 'DIGEST_MISMATCH');
        await expectNothingStored(reg, { blobs: [digestOf(expected), digestOf(sent)], session: id });
      });

      it('refuses to commit a session under a digest other than the one it was opened for', async () => {
        const bytes = Buffer.from('opened for these');
        const id = await openSession(reg, digestOf(bytes), bytes.length);
        expect((await patch(reg, id, `bytes 0-${bytes.length - 1}/${bytes.length}`, bytes)).status).toBe(200);
        const other = digestOf('something else');
        expectProblem(await call(reg, 'POST', `/api/v1/uploads/${id}/commit`, { json: { digest: other } }), 422, 'DIGEST_MISMATCH');
        await expectNothingStored(reg, { blobs: [other, digestOf(bytes)] });
      });
    });

    describe('declared sizes that do not match the bytes', () => {
      // Lying framing is answered by the HTTP parser, not by a route: a bare 400, no problem+json.
      it('never stores the bytes of a body longer than its Content-Length', async () => {
        const bytes = Buffer.from('0123456789');
        const head = requestHead(reg, 'PUT', `/api/v1/blobs/${digestOf(bytes)}`, { 'content-length': '5', 'content-type': 'application/octet-stream' });
        // The five bytes past Content-Length are parsed as a next request, which is garbage.
        const replies = await rawExchange(reg, head, bytes);
        expect(replies.length).toBeGreaterThan(0);
        for (const reply of replies) {
          expect([400, 422], reply.text).toContain(reply.status);
          expectNoInternals(reply.text);
          if (reply.status === 422) expectProblem(reply, 422, 'DIGEST_MISMATCH');
        }
        await eventually(async () => (await temporaryBlobWrites(reg)).length === 0, 'temporary blob writes are gone');
        await expectNothingStored(reg, { blobs: [digestOf(bytes), digestOf(bytes.subarray(0, 5))] });
      });

      it('discards a PUT whose body is shorter than its Content-Length when the client gives up', async () => {
        const bytes = Buffer.from('9876543210');
        const head = requestHead(reg, 'PUT', `/api/v1/blobs/${digestOf(bytes)}`, { 'content-length': '10', 'content-type': 'application/octet-stream' });
        const replies = await rawExchange(reg, head, bytes.subarray(0, 5), { halfClose: true });
        expect(replies.map((r) => r.status)).toEqual([400]);
        await eventually(async () => (await temporaryBlobWrites(reg)).length === 0, 'temporary blob writes are gone');
        await expectNothingStored(reg, { blobs: [digestOf(bytes), digestOf(bytes.subarray(0, 5))] });
      });

      it('rejects a session PATCH whose Content-Range total exceeds the declared size', async () => {
        const bytes = Buffer.from('declared ten');
        const declared = bytes.subarray(0, 10);
        const id = await openSession(reg, digestOf(declared), declared.length);
        expectProblem(await patch(reg, id, `bytes 0-${bytes.length - 1}/${bytes.length}`, bytes), 422, 'SIZE_MISMATCH');
        expect(await sessionOffset(reg, id)).toBe(0);
        await expectNothingStored(reg, { blobs: [digestOf(declared), digestOf(bytes)] });
      });

      it('rejects a chunked session PATCH that runs past the declared size', async () => {
        const bytes = Buffer.from('fifteen bytes!!');
        const declared = bytes.subarray(0, 10);
        const id = await openSession(reg, digestOf(declared), declared.length);
        const head = requestHead(reg, 'PATCH', `/api/v1/uploads/${id}`, { 'content-range': 'bytes 0-9/10', 'transfer-encoding': 'chunked' });
        expectProblem(only(await rawExchange(reg, head, chunked(bytes))), 422, 'SIZE_MISMATCH');
        expect(await sessionOffset(reg, id)).toBeLessThanOrEqual(declared.length);
        await expectNothingStored(reg, { blobs: [digestOf(declared), digestOf(bytes)] });
      });

      it('acknowledges no byte past the end a chunked PATCH declared in its Content-Range', async () => {
        const bytes = randomBytes(10);
        const id = await openSession(reg, digestOf(bytes), bytes.length);
        try {
          // Content-Range announces bytes 0-4; the chunked body carries eight.
          const head = requestHead(reg, 'PATCH', `/api/v1/uploads/${id}`, { 'content-range': 'bytes 0-4/10', 'transfer-encoding': 'chunked' });
          expectProblem(only(await rawExchange(reg, head, chunked(bytes.subarray(0, 8)))), 400, 'INVALID_CONTENT_RANGE');
          expect(await sessionOffset(reg, id)).toBeLessThanOrEqual(5);
        } finally {
          await call(reg, 'DELETE', `/api/v1/uploads/${id}`);
        }
      });

      it('rejects a registration whose declared size differs from the stored blob and stores nothing', async () => {
        for (const size of [A.length + 1, A.length - 1]) {
          const model = freshModel();
          const problem = expectProblem(await register(reg, model, { files: [{ ...entry('w.bin', A), size }] }), 422, 'SIZE_MISMATCH');
          expect(problem.paths).toEqual(['w.bin']);
          await expectNothingStored(reg, { model });
        }
      });

      it('rejects a registration that references a blob never uploaded and stores nothing', async () => {
        const model = freshModel();
        const ghost = Buffer.from('never uploaded');
        const problem = expectProblem(await register(reg, model, { files: [entry('a.bin', A), entry('ghost.bin', ghost)] }), 422, 'BLOB_MISSING');
        expect(problem.paths).toEqual(['ghost.bin']);
        await expectNothingStored(reg, { model, blobs: [digestOf(ghost)] });
      });
    });

    describe('clients that disconnect mid-upload', () => {
      it('leaves no blob and no temporary file when a single-shot PUT is cut off', async () => {
        const content = randomBytes(10 * MiB);
        const digest = digestOf(content);
        const before = await receivedBytes(reg);
        const socket = await openSocket(reg);
        socket.on('error', () => undefined);
        await writeAll(socket, requestHead(reg, 'PUT', `/api/v1/blobs/${digest}`, { 'content-length': String(content.length), 'content-type': 'application/octet-stream' }));
        await writeAll(socket, content.subarray(0, MiB));
        await eventually(async () => (await receivedBytes(reg)) - before >= MiB, 'the server received the first MiB');
        // While the upload is in flight its bytes sit in a temporary file (the S3 store holds the
        // first part in memory until a whole part has arrived, so there is nothing to see there)…
        if (reg.blobs.kind === 'file') expect(await temporaryBlobWrites(reg)).toHaveLength(1);
        socket.destroy();
        // …which the server removes once it notices the client is gone.
        await eventually(async () => (await temporaryBlobWrites(reg)).length === 0, 'temporary blob writes are gone');
        await expectNothingStored(reg, { blobs: [digest] });
      });

      it('acknowledges exactly the bytes a cut-off PATCH delivered, and a PATCH from there completes the blob', async () => {
        const content = randomBytes(10 * MiB);
        const digest = digestOf(content);
        const total = content.length;
        const id = await openSession(reg, digest, total);
        const before = await receivedBytes(reg);
        const socket = await openSocket(reg);
        socket.on('error', () => undefined);
        await writeAll(socket, requestHead(reg, 'PATCH', `/api/v1/uploads/${id}`, { 'content-range': `bytes 0-${total - 1}/${total}`, 'content-length': String(total) }));
        await writeAll(socket, content.subarray(0, MiB));
        await eventually(async () => (await receivedBytes(reg)) - before >= MiB, 'the server received the first MiB');
        socket.destroy();

        // An empty PATCH at the end is refused with the offset the server holds; CONFLICT means the
        // cut-off PATCH still owns the session.
        let offset = -1;
        await eventually(async () => {
          const probe = await patch(reg, id, `bytes */${total}`, new Uint8Array(0));
          const problem = JSON.parse(probe.text) as Problem;
          if (problem.code === 'CONFLICT') return false;
          expectProblem(probe, 409, 'UPLOAD_OFFSET_MISMATCH');
          offset = Number(problem.expected);
          return true;
        }, 'the server released the session');
        const delivered = (await receivedBytes(reg)) - before;
        expect(offset).toBeGreaterThan(0);
        expect(offset).toBeLessThanOrEqual(MiB);
        expect(offset).toBe(delivered);
        expect(await sessionOffset(reg, id)).toBe(offset);
        expect(await blobStatus(reg, digest)).toBe(404);

        const rest = await patch(reg, id, `bytes ${offset}-${total - 1}/${total}`, content.subarray(offset));
        expect(rest.status, rest.text).toBe(200);
        expect((JSON.parse(rest.text) as { offset: number }).offset).toBe(total);
        const commit = await call(reg, 'POST', `/api/v1/uploads/${id}/commit`, { json: { digest } });
        expect(commit.status, commit.text).toBe(201);
        const served = await fetch(`${reg.url}/api/v1/blobs/${digest}`, { headers: { authorization: `Bearer ${reg.token}` } });
        expect(digestOf(Buffer.from(await served.arrayBuffer()))).toBe(digest);
        expect(await temporaryBlobWrites(reg)).toEqual([]);
        expect(await uploadSessionStored(reg, id)).toBe(false);
      });
    });

    describe('malformed requests', () => {
      it.each([
        ['a truncated document', '{"files": ['],
        ['trailing garbage', '{"files": []} x'],
        ['single quotes', "{'files': []}"],
        ['an empty body', ''],
      ])('rejects a registration body with %s as INVALID_JSON and stores nothing', async (_label, text) => {
        const model = freshModel();
        expectProblem(await call(reg, 'POST', `/api/v1/models/ns/${model}/versions`, { body: text, headers: { 'content-type': 'application/json' } }), 400, 'INVALID_JSON');
        await expectNothingStored(reg, { model });
      });

      it.each(['/api/v1/uploads', '/api/v1/blobs/missing'])('rejects malformed JSON sent to %s as INVALID_JSON', async (target) => {
        expectProblem(await call(reg, 'POST', target, { body: '{"digest": ', headers: { 'content-type': 'application/json' } }), 400, 'INVALID_JSON');
        await expectNothingStored(reg, {});
      });

      it.each([['text/plain'], ['application/x-www-form-urlencoded'], ['application/jsonx'], [undefined]])(
        'rejects a registration sent as %s with UNSUPPORTED_MEDIA_TYPE and stores nothing',
        async (contentType) => {
          const model = freshModel();
          const body = JSON.stringify({ files: [entry('w.bin')] });
          const res = await call(reg, 'POST', `/api/v1/models/ns/${model}/versions`, {
            body: Buffer.from(body),
            headers: contentType === undefined ? {} : { 'content-type': contentType },
          });
          expectProblem(res, 415, 'UNSUPPORTED_MEDIA_TYPE');
          await expectNothingStored(reg, { model });
        },
      );

      it.each([
        ['a top-level field', { files: [entry('w.bin')], number: 7 }, 'number'],
        ['a field in a file entry', { files: [{ ...entry('w.bin'), mode: '0755' }] }, 'mode'],
        ['a field that would set the digest', { files: [entry('w.bin')], digest: digestOf('chosen') }, 'digest'],
      ])('rejects a registration with an unknown field (%s) as VALIDATION_FAILED naming it', async (_label, body, field) => {
        const model = freshModel();
        const problem = expectProblem(await register(reg, model, body), 400, 'VALIDATION_FAILED');
        expect(problem.detail).toContain(field);
        await expectNothingStored(reg, { model });
      });

      it('rejects an upload session body with an unknown field as VALIDATION_FAILED naming it', async () => {
        const before = await storedUploadSessions(reg);
        const problem = expectProblem(await call(reg, 'POST', '/api/v1/uploads', { json: { digest: digestOf('x'), size: 1, offset: 5 } }), 400, 'VALIDATION_FAILED');
        expect(problem.detail).toContain('offset');
        await expectNothingStored(reg, {});
        expect(await storedUploadSessions(reg)).toEqual(before);
      });

      it('rejects a commit body with an unknown field as VALIDATION_FAILED naming it, keeping the session', async () => {
        const bytes = Buffer.from('commit body');
        const id = await openSession(reg, digestOf(bytes), bytes.length);
        expect((await patch(reg, id, `bytes 0-${bytes.length - 1}/${bytes.length}`, bytes)).status).toBe(200);
        const problem = expectProblem(await call(reg, 'POST', `/api/v1/uploads/${id}/commit`, { json: { digest: digestOf(bytes), size: 1 } }), 400, 'VALIDATION_FAILED');
        expect(problem.detail).toContain('size');
        await expectNothingStored(reg, { blobs: [digestOf(bytes)] });
        expect(await sessionOffset(reg, id)).toBe(bytes.length);
        expect((await call(reg, 'DELETE', `/api/v1/uploads/${id}`)).status).toBe(204);
      });

      const badDigests = [
        ['uppercase hex', `sha256:${'AB'.repeat(32)}`],
        ['63 hex digits', `sha256:${'a'.repeat(63)}`],
        ['65 hex digits', `sha256:${'a'.repeat(65)}`],
        ['another algorithm', `md5:${'a'.repeat(32)}`],
        ['no algorithm', 'a'.repeat(64)],
        ['a traversal', 'sha256:..'],
      ] as const;

      it.each(badDigests)('rejects a blob URL whose digest has %s as VALIDATION_FAILED', async (_label, digest) => {
        const target = `/api/v1/blobs/${encodeURIComponent(digest)}`;
        expectProblem(await call(reg, 'GET', target), 400, 'VALIDATION_FAILED');
        expect((await call(reg, 'HEAD', target)).status).toBe(400);
        expectProblem(await call(reg, 'PUT', target, { body: Buffer.from('bytes') }), 400, 'VALIDATION_FAILED');
        await expectNothingStored(reg, { blobs: [digestOf('bytes')] });
      });

      it('rejects a registration whose file digest is malformed as VALIDATION_FAILED', async () => {
        const model = freshModel();
        expectProblem(await register(reg, model, { files: [{ path: 'w.bin', size: A.length, digest: digestOf(A).toUpperCase() }] }), 400, 'VALIDATION_FAILED');
        await expectNothingStored(reg, { model });
      });

      it.each([
        ['an uppercase namespace', 'NS', 'model'],
        ['an uppercase name', 'ns', 'Model'],
        ['a name of 129 characters', 'ns', `m${'x'.repeat(128)}`],
        ['a name starting with a dot', 'ns', '.hidden'],
        ['a name starting with a dash', 'ns', '-rf'],
        ['a name with a space', 'ns', 'a b'],
      ])('rejects a model with %s as VALIDATION_FAILED and stores nothing', async (_label, namespace, name) => {
        const models = async (): Promise<number> => (JSON.parse((await call(reg, 'GET', '/api/v1/models?limit=1000')).text) as { items: unknown[] }).items.length;
        const before = await models();
        const target = `/api/v1/models/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/versions`;
        expectProblem(await call(reg, 'POST', target, { json: { files: [entry('w.bin')] } }), 400, 'VALIDATION_FAILED');
        expect(await models()).toBe(before);
      });

      it('rejects annotations nested too deeply to serialise, without an internal error, and stores nothing', async () => {
        const model = freshModel();
        // 10 kB, well under maxAnnotationsBytes, but deeper than a recursive serialiser survives.
        const body = `{"files":[${JSON.stringify(entry('w.bin'))}],"annotations":${deeplyNested(5_000)}}`;
        const res = await call(reg, 'POST', `/api/v1/models/ns/${model}/versions`, { body, headers: { 'content-type': 'application/json' } });
        expectProblem(res, 400, 'VALIDATION_FAILED');
        await expectNothingStored(reg, { model });
      });

      it('rejects deeply nested annotations over the size limit with a 4xx, without an internal error', async () => {
        const model = freshModel();
        // 200 kB of annotations against the 64 KiB default: too large and too deep, either code is honest.
        const body = `{"files":[${JSON.stringify(entry('w.bin'))}],"annotations":${deeplyNested(100_000)}}`;
        const res = await call(reg, 'POST', `/api/v1/models/ns/${model}/versions`, { body, headers: { 'content-type': 'application/json' } });
        const code = (JSON.parse(res.text) as Problem).code;
        if (code === 'VALIDATION_FAILED') expectProblem(res, 400, 'VALIDATION_FAILED');
        else expectProblem(res, 413, 'ANNOTATIONS_TOO_LARGE');
        await expectNothingStored(reg, { model });
      });
    });

    describe('upload sessions', () => {
      let id: string;
      const bytes = randomBytes(10);

      beforeAll(async () => {
        id = await openSession(reg, digestOf(bytes), bytes.length);
      });

      it.each([
        ['no Content-Range', undefined],
        ['no total', 'bytes 0-4'],
        ['an end before the start', 'bytes 4-2/10'],
        ['an end at the total', 'bytes 0-10/10'],
        ['another unit', 'items 0-4/10'],
        ['a negative start', 'bytes -1-4/10'],
        ['an unknown total', 'bytes 0-4/*'],
        ['two ranges', 'bytes 0-1/10, 2-4/10'],
      ])('rejects a PATCH with %s as INVALID_CONTENT_RANGE and keeps the offset', async (_label, contentRange) => {
        const res = await call(reg, 'PATCH', `/api/v1/uploads/${id}`, {
          body: bytes.subarray(0, 5),
          headers: { 'content-type': 'application/octet-stream', ...(contentRange === undefined ? {} : { 'content-range': contentRange }) },
        });
        expectProblem(res, 400, 'INVALID_CONTENT_RANGE');
        expect(await sessionOffset(reg, id)).toBe(0);
        await expectNothingStored(reg, { blobs: [digestOf(bytes)] });
      });

      it('rejects a PATCH whose Content-Length differs from its Content-Range span', async () => {
        expectProblem(await patch(reg, id, 'bytes 0-4/10', bytes.subarray(0, 3)), 400, 'INVALID_CONTENT_RANGE');
        expect(await sessionOffset(reg, id)).toBe(0);
      });

      it('rejects a PATCH at the wrong offset with UPLOAD_OFFSET_MISMATCH naming the expected one', async () => {
        const first = await patch(reg, id, 'bytes 0-3/10', bytes.subarray(0, 4));
        expect(first.status, first.text).toBe(200);
        for (const start of [0, 2, 6]) {
          const problem = expectProblem(await patch(reg, id, `bytes ${start}-${start + 2}/10`, bytes.subarray(start, start + 3)), 409, 'UPLOAD_OFFSET_MISMATCH');
          expect(problem.expected).toBe(4);
        }
        expect(await sessionOffset(reg, id)).toBe(4);
      });

      it("answers UPLOAD_NOT_FOUND for another principal's session and leaves it untouched", async () => {
        const other = await addPrincipal(reg);
        const before = await sessionOffset(reg, id);
        expectProblem(await call(reg, 'GET', `/api/v1/uploads/${id}`, { token: other }), 404, 'UPLOAD_NOT_FOUND');
        expectProblem(await patch(reg, id, `bytes ${before}-9/10`, bytes.subarray(before), other), 404, 'UPLOAD_NOT_FOUND');
        expectProblem(await call(reg, 'POST', `/api/v1/uploads/${id}/commit`, { token: other, json: { digest: digestOf(bytes) } }), 404, 'UPLOAD_NOT_FOUND');
        expectProblem(await call(reg, 'DELETE', `/api/v1/uploads/${id}`, { token: other }), 404, 'UPLOAD_NOT_FOUND');
        // Opening a session for the same blob gives the other principal its own, not this one.
        const theirs = await openSession(reg, digestOf(bytes), bytes.length, other);
        expect(theirs).not.toBe(id);
        expect(await sessionOffset(reg, id)).toBe(before);
        await expectNothingStored(reg, { blobs: [digestOf(bytes)] });
      });

      it('answers UPLOAD_NOT_FOUND for a session that never existed, and VALIDATION_FAILED for a malformed id', async () => {
        expectProblem(await call(reg, 'GET', `/api/v1/uploads/${'Z'.repeat(22)}`), 404, 'UPLOAD_NOT_FOUND');
        expectProblem(await call(reg, 'GET', '/api/v1/uploads/short'), 400, 'VALIDATION_FAILED');
        expectProblem(await call(reg, 'GET', `/api/v1/uploads/${encodeURIComponent('../../etc/passwd-xxxxxxxx')}`), 404, 'ROUTE_NOT_FOUND');
      });

      it('refuses to commit an incomplete session and keeps it for resumption', async () => {
        const offset = await sessionOffset(reg, id);
        expect(offset).toBeLessThan(bytes.length);
        const problem = expectProblem(await call(reg, 'POST', `/api/v1/uploads/${id}/commit`, { json: { digest: digestOf(bytes) } }), 422, 'UPLOAD_INCOMPLETE');
        expect(problem.offset).toBe(offset);
        expect(await sessionOffset(reg, id)).toBe(offset);
        await expectNothingStored(reg, { blobs: [digestOf(bytes)] });
      });
    });

    describe('versions are immutable', () => {
      it('answers 405 to PUT, PATCH and DELETE on a version and on its model, and changes nothing', async () => {
        const model = freshModel();
        const created = await register(reg, model, { files: [entry('w.bin', A)] });
        expect(created.status, created.text).toBe(201);
        const original = JSON.parse(created.text) as { digest: string };
        for (const target of [`/api/v1/models/ns/${model}/versions/v1`, `/api/v1/models/ns/${model}/versions/${original.digest}`, `/api/v1/models/ns/${model}/versions`]) {
          for (const method of ['PUT', 'PATCH', 'DELETE']) {
            const res = await call(reg, method, target, { json: { files: [entry('w.bin', B)] } });
            expectProblem(res, 405, 'METHOD_NOT_ALLOWED');
          }
        }
        const shown = await call(reg, 'GET', `/api/v1/models/ns/${model}/versions/v1`);
        expect(JSON.parse(shown.text)).toMatchObject({ number: 1, digest: original.digest, files: [entry('w.bin', A)] });
        expect(await versionCount(reg, model)).toBe(1);
      });

      it('returns the existing version for the same manifest, in any order and with other annotations, and creates v2 only for new content', async () => {
        const model = freshModel();
        const files = [entry('b/w.bin', B), entry('a.bin', A)];
        const first = await register(reg, model, { files, annotations: { run: 1 } });
        expect(first.status, first.text).toBe(201);
        const v1 = JSON.parse(first.text) as { number: number; digest: string; created: boolean };
        expect(v1).toMatchObject({ number: 1, created: true });

        for (const body of [{ files }, { files: [...files].reverse() }, { files, annotations: { run: 2, note: 'rewritten' } }]) {
          const again = await register(reg, model, body);
          expect(again.status, again.text).toBe(200);
          expect(JSON.parse(again.text)).toMatchObject({ number: 1, digest: v1.digest, created: false, annotations: { run: 1 } });
        }

        const renamed = await register(reg, model, { files: [entry('b/w.bin', B), entry('a.pkl', A)] });
        expect(renamed.status, renamed.text).toBe(201);
        const v2 = JSON.parse(renamed.text) as { number: number; digest: string };
        expect(v2.number).toBe(2);
        expect(v2.digest).not.toBe(v1.digest);
        expect(await versionCount(reg, model)).toBe(2);
      });
    });
  });

  describe('with small limits', () => {
    let reg: TestRegistry;

    beforeAll(async () => {
      reg = await startTestRegistry(backend, { limits: { maxFileBytes: 1024, maxJsonBytes: 2048, maxManifestBytes: 4096, maxFiles: 3, maxAnnotationsBytes: 100 } });
      await putBlob(reg, A);
      await putBlob(reg, B);
    });

    afterAll(async () => {
      await reg.stop();
    });

    const twoKiB = randomBytes(2048);

    it('rejects a PUT of a 2 KiB blob with FILE_TOO_LARGE from its Content-Length and stores nothing', async () => {
      expectProblem(await call(reg, 'PUT', `/api/v1/blobs/${digestOf(twoKiB)}`, { body: twoKiB }), 413, 'FILE_TOO_LARGE');
      await expectNothingStored(reg, { blobs: [digestOf(twoKiB)] });
    });

    it('rejects a chunked PUT of a 2 KiB blob with FILE_TOO_LARGE as it streams and stores nothing', async () => {
      const head = requestHead(reg, 'PUT', `/api/v1/blobs/${digestOf(twoKiB)}`, { 'transfer-encoding': 'chunked' });
      expectProblem(only(await rawExchange(reg, head, chunked(twoKiB.subarray(0, 1000), twoKiB.subarray(1000)))), 413, 'FILE_TOO_LARGE');
      await expectNothingStored(reg, { blobs: [digestOf(twoKiB)] });
    });

    it('accepts a blob of exactly the limit', async () => {
      const limit = randomBytes(1024);
      await putBlob(reg, limit);
      expect(await blobStatus(reg, digestOf(limit))).toBe(200);
    });

    it('rejects an upload session for 2048 bytes with FILE_TOO_LARGE and opens none', async () => {
      expectProblem(await call(reg, 'POST', '/api/v1/uploads', { json: { digest: digestOf(twoKiB), size: 2048 } }), 413, 'FILE_TOO_LARGE');
      expect(await storedUploadSessions(reg)).toEqual([]);
      await expectNothingStored(reg, { blobs: [digestOf(twoKiB)] });
    });

    /** A valid session request padded with whitespace past maxJsonBytes. */
    const paddedSessionBody = Buffer.from(`{"digest": "${digestOf(twoKiB)}", ${' '.repeat(2100)}"size": 10}`);

    it('rejects a JSON body over maxJsonBytes with an honest Content-Length as BODY_TOO_LARGE', async () => {
      expect(paddedSessionBody.length).toBeGreaterThan(2048);
      expectProblem(await call(reg, 'POST', '/api/v1/uploads', { body: paddedSessionBody, headers: { 'content-type': 'application/json' } }), 413, 'BODY_TOO_LARGE');
      expect(await storedUploadSessions(reg)).toEqual([]);
    });

    it('rejects a chunked JSON body over maxJsonBytes, with no Content-Length, as BODY_TOO_LARGE', async () => {
      const head = requestHead(reg, 'POST', '/api/v1/uploads', { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      expectProblem(only(await rawExchange(reg, head, chunked(paddedSessionBody.subarray(0, 1500), paddedSessionBody.subarray(1500)))), 413, 'BODY_TOO_LARGE');
      expect(await storedUploadSessions(reg)).toEqual([]);
    });

    it('rejects a registration with more files than maxFiles as TOO_MANY_FILES and stores nothing', async () => {
      const model = freshModel();
      const files = ['a', 'b', 'c', 'd'].map((p) => entry(`${p}.bin`));
      expectProblem(await register(reg, model, { files }), 413, 'TOO_MANY_FILES');
      await expectNothingStored(reg, { model });
      const atLimit = await register(reg, model, { files: files.slice(0, 3) });
      expect(atLimit.status, atLimit.text).toBe(201);
    });

    it('rejects a missing-blobs query for more digests than maxFiles as TOO_MANY_FILES', async () => {
      const digests = ['1', '2', '3', '4'].map((s) => digestOf(s));
      expectProblem(await call(reg, 'POST', '/api/v1/blobs/missing', { json: { digests } }), 413, 'TOO_MANY_FILES');
    });

    /** Three valid files whose long (legal) paths push the manifest past maxManifestBytes. */
    const longManifest = (): string => {
      const longPath = (c: string): string => Array.from({ length: 6 }, () => c.repeat(250)).join('/');
      const text = JSON.stringify({ files: ['x', 'y', 'z'].map((c) => entry(longPath(c))) });
      expect(text.length).toBeGreaterThan(4096);
      return text;
    };

    it('rejects a manifest over maxManifestBytes as BODY_TOO_LARGE and stores nothing', async () => {
      const model = freshModel();
      expectProblem(await call(reg, 'POST', `/api/v1/models/ns/${model}/versions`, { body: longManifest(), headers: { 'content-type': 'application/json' } }), 413, 'BODY_TOO_LARGE');
      await expectNothingStored(reg, { model });
    });

    it('rejects a chunked manifest over maxManifestBytes as BODY_TOO_LARGE and stores nothing', async () => {
      const model = freshModel();
      const text = Buffer.from(longManifest());
      const head = requestHead(reg, 'POST', `/api/v1/models/ns/${model}/versions`, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
      expectProblem(only(await rawExchange(reg, head, chunked(text.subarray(0, 3000), text.subarray(3000)))), 413, 'BODY_TOO_LARGE');
      await expectNothingStored(reg, { model });
    });

    it('rejects annotations over maxAnnotationsBytes as ANNOTATIONS_TOO_LARGE and stores nothing', async () => {
      const model = freshModel();
      expectProblem(await register(reg, model, { files: [entry('w.bin')], annotations: { note: 'x'.repeat(200) } }), 413, 'ANNOTATIONS_TOO_LARGE');
      await expectNothingStored(reg, { model });
    });

    it('rejects a registered file declared larger than maxFileBytes as FILE_TOO_LARGE and stores nothing', async () => {
      const model = freshModel();
      expectProblem(await register(reg, model, { files: [{ ...entry('w.bin'), size: 2048 }] }), 413, 'FILE_TOO_LARGE');
      await expectNothingStored(reg, { model });
    });
  });

  describe('with caseInsensitivePaths', () => {
    let reg: TestRegistry;

    beforeAll(async () => {
      reg = await startTestRegistry(backend, { limits: { caseInsensitivePaths: true } });
      await putBlob(reg, A);
      await putBlob(reg, B);
    });

    afterAll(async () => {
      await reg.stop();
    });

    it.each([
      ['file names', 'Weights.bin', 'weights.bin'],
      ['directory names', 'Model/w.bin', 'model/w.bin'],
      ['non-ASCII letters', 'Ölmodell.bin', 'ölmodell.bin'],
      // Σ at the end of a word lowercases to ς, elsewhere to σ: both name the same file on a
      // case-insensitive file system.
      ['a final sigma', 'ΑΣ/w.bin', 'ασ/w.bin'],
    ])('rejects two paths that differ only in the case of %s as DUPLICATE_PATH and stores nothing', async (_label, first, second) => {
      const model = freshModel();
      expectProblem(await register(reg, model, { files: [entry(first, A), entry(second, B)] }), 400, 'DUPLICATE_PATH');
      await expectNothingStored(reg, { model });
    });

    it('still accepts distinct paths', async () => {
      const model = freshModel();
      const res = await register(reg, model, { files: [entry('weights.bin', A), entry('weights2.bin', B)] });
      expect(res.status, res.text).toBe(201);
    });
  });
});
