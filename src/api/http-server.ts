/**
 * The HTTP front: one dispatcher over the route table. For each request it matches the route,
 * authenticates and authorizes it as the route declares (deny by default), validates params,
 * query and body with the route's schemas, runs the handler and writes the reply. Errors become
 * problem+json in exactly one place (`problem.ts`). Graceful shutdown lets in-flight requests
 * finish for a while, then cuts them (an upload cut short leaves nothing visible).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CustodyError } from '../domain/errors.js';
import type { Logger } from '../observability/logger.js';
import { PROBLEM_CONTENT_TYPE, toProblem } from './problem.js';
import { readJsonBody, validate } from './read-json-body.js';
import { sendFileSlice } from '../io/send-file-slice.js';
import { permissionOf, scopeOf, type AnyRoute, type Reply } from './route.js';
import { FailureLimiter } from '../auth/failure-limiter.js';
import { Router } from './router.js';
import type { PageDef } from '../ui/page.js';
import { UiFront } from '../ui/ui-front.js';
import type { Services } from './services.js';
import type { Actor } from '../service/auth-service.js';

export interface HttpServerOptions {
  readonly routes: readonly AnyRoute[];
  readonly services: Services;
  readonly logger: Logger;
  /** The web UI's pages (issue 8), served beside the API; none when absent. */
  readonly pages?: readonly PageDef[];
  readonly onShutdownStart?: () => void;
}

export interface RunningServer {
  readonly server: Server;
  readonly url: string;
  readonly port: number;
  /** Stops accepting, waits up to the configured timeout for in-flight requests, then cuts them. */
  close(): Promise<void>;
}

/**
 * Malformed HTTP framing (bad headers, a lying Content-Length, oversized headers, header
 * timeout) never reaches a route: answer with problem+json too and close. If a response is
 * already under way on that socket, its bytes cannot be interrupted: just close.
 */
function writeClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  const pending = (socket as unknown as { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (!socket.writable || error.code === 'ECONNRESET' || pending?.headersSent === true) {
    socket.destroy();
    return;
  }
  const [status, reason, code, detail] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'Request Header Fields Too Large', 'BODY_TOO_LARGE', 'the request headers are too large']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'Request Timeout', 'BAD_REQUEST', 'the request took too long']
        : [400, 'Bad Request', 'BAD_REQUEST', 'malformed HTTP request'];
  const body = JSON.stringify({ type: `https://custody.dev/problems/${code.toLowerCase().replaceAll('_', '-')}`, title: code, status, code, detail });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: ${PROBLEM_CONTENT_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export class HttpFront {
  private readonly router: Router;
  private inFlight = 0;
  private shuttingDown = false;
  private readonly idleWaiters: (() => void)[] = [];
  private readonly countRequest: (labels: Record<string, string>) => void;
  private readonly failures: FailureLimiter;
  private readonly ui: UiFront | undefined;

  constructor(private readonly options: HttpServerOptions) {
    this.router = new Router(options.routes);
    const { limits } = options.services.config;
    this.failures = new FailureLimiter({ maxFailures: limits.authFailures, windowSeconds: limits.authFailureWindowSeconds });
    // The web UI shares the failure limiter: a failed sign-in counts like a failed bearer token.
    this.ui = options.pages === undefined ? undefined : new UiFront(options.pages, options.services, options.logger, this.failures);
    this.countRequest = options.services.metrics.counter('custody_http_requests_total', 'HTTP requests by route, method and status');
  }

  get isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  async listen(host: string, port: number): Promise<RunningServer> {
    const { config } = this.options.services;
    const server = createServer({
      maxHeaderSize: config.server.maxHeaderBytes,
      requestTimeout: 0, // multi-GB uploads take long; idle and header timeouts guard instead
      headersTimeout: config.server.headersTimeoutMs,
      keepAliveTimeout: 5_000,
    });
    server.timeout = config.server.requestIdleTimeoutMs;
    server.maxConnections = config.server.maxConnections;
    server.on('request', (req, res) => {
      void this.dispatch(req, res);
    });
    server.on('clientError', (error: NodeJS.ErrnoException, socket) => {
      writeClientError(error, socket);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return {
      server,
      port: address.port,
      url: `http://${shownHost}:${address.port}`,
      close: () => this.shutdown(server, config.server.shutdownTimeoutMs),
    };
  }

  private async shutdown(server: Server, timeoutMs: number): Promise<void> {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.options.onShutdownStart?.();
    const closed = new Promise<void>((resolve) => server.close(() => { resolve(); }));
    server.closeIdleConnections();
    const drained = new Promise<boolean>((resolve) => {
      if (this.inFlight === 0) resolve(true);
      else this.idleWaiters.push(() => { resolve(true); });
      setTimeout(() => { resolve(false); }, timeoutMs).unref();
    });
    if (!(await drained)) {
      this.options.logger.warn('shutdown timeout: cutting in-flight requests', { inFlight: this.inFlight });
      server.closeAllConnections();
      // Let the cut handlers run their cleanup (temporary files are removed on abort).
      await new Promise<void>((resolve) => {
        if (this.inFlight === 0) resolve();
        else this.idleWaiters.push(resolve);
        setTimeout(resolve, 5_000).unref();
      });
    }
    await closed;
  }

  private async dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.inFlight++;
    const started = process.hrtime.bigint();
    let routeLabel = 'unmatched';
    let actor: Actor | undefined;
    try {
      if (this.shuttingDown) throw new CustodyError('SHUTTING_DOWN', 'the server is shutting down');
      const url = new URL(req.url ?? '/', 'http://localhost');
      // Pages and their assets are the UI's; `/api/…` never is, so no cookie is ever read there.
      if (this.ui !== undefined && !url.pathname.startsWith('/api/') && this.ui.owns(req.method ?? 'GET', url.pathname)) {
        routeLabel = 'ui';
        await this.ui.serve(req, res, url);
        return;
      }
      const { route, params: rawParams } = this.router.match(req.method ?? 'GET', url.pathname);
      routeLabel = route.path;
      const { config } = this.options.services;
      const { auth } = route;
      const needsToken = auth === 'authenticated' || (auth !== 'public' && auth.publicWhen?.(config) !== true);
      if (needsToken) actor = await this.authenticate(req);
      const params: unknown = route.params === undefined ? {} : validate(route.params, rawParams, 'path');
      if (typeof auth === 'object' && actor !== undefined) {
        this.options.services.auth.authorize(actor, permissionOf(auth.permission, params), scopeOf(auth.scope, params, config));
      }
      const query: unknown = route.query === undefined ? {} : validate(route.query, Object.fromEntries(url.searchParams), 'query');
      let body: unknown;
      if (route.body.kind === 'json') {
        const { limits } = config;
        body = await readJsonBody(req, route.body.limit === 'manifest' ? limits.maxManifestBytes : limits.maxJsonBytes, route.body.schema);
      }
      const reply = await route.handle({ req, res, params, query, body, actor, services: this.options.services });
      await this.write(req, res, reply);
    } catch (error) {
      this.writeError(req, res, error);
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      this.countRequest({ route: routeLabel, method: req.method ?? '', status: String(res.statusCode) });
      this.options.logger.info('request', {
        method: req.method,
        route: routeLabel,
        status: res.statusCode,
        ms: Math.round(ms * 10) / 10,
        ...(actor === undefined ? {} : { principal: actor.principal.name }),
      });
      this.inFlight--;
      if (this.inFlight === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }

  /**
   * Authenticates the request, slowing clients that keep failing (issue 5 §7): once a client has
   * failed too often in the window, any credential it presents is answered 429 until the window
   * ends, whether or not it is valid. A request without a credential is not counted.
   */
  private async authenticate(req: IncomingMessage): Promise<Actor> {
    const client = req.socket.remoteAddress ?? 'unknown';
    const presented = req.headers.authorization !== undefined;
    const now = Date.now();
    const wait = presented ? this.failures.retryAfter(client, now) : undefined;
    if (wait !== undefined) {
      throw new CustodyError('RATE_LIMITED', 'too many failed authentication attempts; try again later', { details: { retryAfter: wait } });
    }
    try {
      return await this.options.services.auth.authenticate(req.headers.authorization);
    } catch (error) {
      if (presented && error instanceof CustodyError && error.code === 'UNAUTHENTICATED') this.failures.recordFailure(client, now);
      throw error;
    }
  }

  private async write(req: IncomingMessage, res: ServerResponse, reply: Reply): Promise<void> {
    const headers: Record<string, string> = { 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', ...(reply.headers ?? {}) };
    if (this.shuttingDown || !req.complete) headers.connection = 'close';
    if ('stream' in reply) {
      res.writeHead(reply.status, headers);
      try {
        await pipeline(reply.stream, res);
      } catch {
        // The client went away mid-download; nothing to clean up on the server side.
        res.destroy();
      }
      return;
    }
    if ('file' in reply) {
      res.writeHead(reply.status, headers);
      try {
        await sendFileSlice(res, reply.file);
      } catch {
        // As for streams: the client went away (or the file shrank); the handle is closed.
        res.destroy();
      }
      return;
    }
    if ('json' in reply) {
      const text = JSON.stringify(reply.json);
      res.writeHead(reply.status, { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) });
      res.end(text);
      return;
    }
    if ('bytes' in reply) {
      res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType, 'content-length': String(reply.bytes.length) });
      res.end(reply.bytes);
      return;
    }
    if ('text' in reply) {
      res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType, 'content-length': String(Buffer.byteLength(reply.text)) });
      res.end(reply.text);
      return;
    }
    res.writeHead(reply.status, headers);
    res.end();
  }

  private writeError(req: IncomingMessage, res: ServerResponse, error: unknown): void {
    const problem = toProblem(error);
    if (problem.status >= 500 && problem.code !== 'SHUTTING_DOWN') {
      this.options.logger.error('request failed', { code: problem.code, error: error instanceof Error ? `${error.name}: ${error.message}` : String(error) });
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const text = JSON.stringify(problem);
    const headers: Record<string, string> = {
      'content-type': PROBLEM_CONTENT_TYPE,
      'content-length': String(Buffer.byteLength(text)),
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    };
    if (problem.status === 401) headers['www-authenticate'] = 'Bearer';
    if (problem.code === 'RANGE_NOT_SATISFIABLE' && typeof problem.size === 'number') headers['content-range'] = `bytes */${problem.size}`;
    if (problem.status === 503) headers['retry-after'] = '1';
    if (problem.code === 'RATE_LIMITED' && typeof problem.retryAfter === 'number') headers['retry-after'] = String(problem.retryAfter);
    // A body we did not read (or a request cut short) cannot be reused: close after replying.
    if (!req.complete || this.shuttingDown) headers.connection = 'close';
    res.writeHead(problem.status, headers);
    res.end(text);
  }
}
