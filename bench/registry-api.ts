/**
 * The registry's HTTP API as `bench:policy` calls it: one JSON request with a bearer token,
 * timed on the client's wall clock from just before the request is sent until its whole body has
 * been read (what a caller waits for; parsing the JSON afterwards is not counted). Requests go
 * through Node's `fetch`, whose connections are kept alive, as a long-running client's would be.
 * An unexpected status is an error naming the route and the problem the server answered.
 */
import { performance } from 'node:perf_hooks';

export interface ApiReply {
  readonly status: number;
  readonly json: Record<string, unknown>;
  /** Client-side wall clock of the request, response body included. */
  readonly ms: number;
}

export class RegistryApi {
  constructor(readonly baseUrl: string) {}

  /** One request; `body` is sent as JSON, a Buffer as application/octet-stream. */
  async call(token: string, method: string, route: string, body?: unknown): Promise<ApiReply> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    let payload: string | Buffer | undefined;
    if (Buffer.isBuffer(body)) {
      headers['content-type'] = 'application/octet-stream';
      payload = body;
    } else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const started = performance.now();
    const response = await fetch(`${this.baseUrl}${route}`, { method, headers, ...(payload === undefined ? {} : { body: payload }) });
    const text = await response.text();
    const ms = performance.now() - started;
    let json: Record<string, unknown> = {};
    if (text !== '') {
      try {
        json = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new Error(`${method} ${route}: ${response.status} with a body that is not JSON: ${text.slice(0, 300)}`);
      }
    }
    return { status: response.status, json, ms };
  }

  /** Like `call`, but any status other than `expected` is an error. */
  async expect(expected: number | readonly number[], token: string, method: string, route: string, body?: unknown): Promise<ApiReply> {
    const reply = await this.call(token, method, route, body);
    const allowed = typeof expected === 'number' ? [expected] : expected;
    if (!allowed.includes(reply.status)) {
      const { code, detail } = reply.json;
      const problem = typeof code === 'string' && typeof detail === 'string' ? `${code}: ${detail}` : JSON.stringify(reply.json).slice(0, 600);
      throw new Error(`${method} ${route}: expected ${allowed.join(' or ')}, got ${reply.status}: ${problem}`);
    }
    return reply;
  }
}
