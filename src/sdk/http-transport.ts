/**
 * The SDK's HTTP transport over node:http(s) with keep-alive: JSON requests, streamed uploads
 * and streamed downloads. Non-2xx answers become CustodyErrors carrying the server's stable
 * code; anything the server sends is treated as untrusted (sizes capped, JSON validated by the
 * caller).
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CustodyError, isErrorCode } from '../domain/errors.js';
import { FileSliceReadError, sendFileSlice, type FileSlice } from '../io/send-file-slice.js';

const MAX_JSON_RESPONSE = 256 * 1024 * 1024;

export interface TransportOptions {
  readonly server: string;
  readonly token?: string;
  readonly userAgent?: string;
}

export interface RequestOptions {
  readonly method: string;
  readonly path: string;
  readonly json?: unknown;
  readonly body?: Readable;
  /** A file range sent as the body with reused buffers (the handle is closed afterwards). */
  readonly file?: { readonly slice: FileSlice; readonly onBytes?: (count: number) => void };
  readonly headers?: Readonly<Record<string, string>>;
  /** Statuses accepted without throwing (default: any 2xx). */
  readonly accept?: readonly number[];
}

export interface StreamResponse {
  readonly status: number;
  readonly headers: IncomingMessage['headers'];
  readonly body: IncomingMessage;
}

export class HttpTransport {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly lib: typeof http | typeof https;

  constructor(private readonly options: TransportOptions) {
    try {
      this.base = new URL(options.server);
    } catch {
      throw new CustodyError('USAGE', `not a server URL: ${options.server}`);
    }
    if (this.base.protocol !== 'http:' && this.base.protocol !== 'https:') throw new CustodyError('USAGE', 'the server URL must be http:// or https://');
    this.lib = this.base.protocol === 'https:' ? https : http;
    this.agent = new this.lib.Agent({ keepAlive: true, maxSockets: 16 });
  }

  get serverUrl(): string {
    return this.base.origin;
  }

  close(): void {
    this.agent.destroy();
  }

  /** Sends a request and returns the raw response stream (caller consumes or destroys it). */
  async stream(options: RequestOptions): Promise<StreamResponse> {
    const url = new URL(options.path, this.base);
    const headers: Record<string, string> = { 'user-agent': this.options.userAgent ?? 'custody-sdk', ...(options.headers ?? {}) };
    if (this.options.token !== undefined) headers.authorization = `Bearer ${this.options.token}`;
    let payload: Buffer | undefined;
    if (options.json !== undefined) {
      payload = Buffer.from(JSON.stringify(options.json), 'utf8');
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(payload.length);
    }
    let handedOff = false;
    const response = await new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.lib.request(url, { method: options.method, headers, agent: this.agent }, resolve);
      req.on('error', (error) => {
        if (error instanceof FileSliceReadError) {
          // The local file, not the connection, failed: a retry would fail the same way.
          reject(new CustodyError('VERIFICATION_FAILED', `the file being uploaded changed since it was hashed (${error.message})`, { cause: error }));
          return;
        }
        reject(new CustodyError('CONNECTION_FAILED', `cannot reach ${this.base.origin}: ${(error as NodeJS.ErrnoException).code ?? error.message}`, { cause: error }));
      });
      if (options.body !== undefined) {
        pipeline(options.body, req).catch((error: unknown) => {
          req.destroy(error instanceof Error ? error : new Error(String(error)));
        });
      } else if (options.file !== undefined) {
        handedOff = true;
        sendFileSlice(req, options.file.slice, options.file.onBytes).catch((error: unknown) => {
          req.destroy(error instanceof Error ? error : new Error(String(error)));
        });
      } else {
        req.end(payload);
      }
    }).catch(async (error: unknown) => {
      // A request that failed before the slice was handed over (e.g. a header Node refused) still owns its file.
      if (!handedOff) await options.file?.slice.handle.close().catch(() => undefined);
      throw error;
    });
    const status = response.statusCode ?? 0;
    const ok = options.accept?.includes(status) ?? (status >= 200 && status < 300);
    if (!ok) throw await toError(response);
    return { status, headers: response.headers, body: response };
  }

  /** Sends a request and parses a JSON response body. */
  async json(options: RequestOptions): Promise<{ status: number; body: unknown; headers: IncomingMessage['headers'] }> {
    const response = await this.stream(options);
    const text = await readText(response.body, MAX_JSON_RESPONSE);
    if (text === '') return { status: response.status, body: undefined, headers: response.headers };
    try {
      return { status: response.status, body: JSON.parse(text) as unknown, headers: response.headers };
    } catch {
      throw new CustodyError('SERVER_ERROR', 'the server sent malformed JSON');
    }
  }
}

async function readText(stream: IncomingMessage, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      stream.destroy();
      throw new CustodyError('SERVER_ERROR', 'the server response is too large');
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** Turns an error response (problem+json when the server is Custody) into a CustodyError. */
async function toError(response: IncomingMessage): Promise<CustodyError> {
  const status = response.statusCode ?? 0;
  let problem: { code?: unknown; detail?: unknown; [key: string]: unknown } = {};
  try {
    problem = JSON.parse(await readText(response, 1024 * 1024)) as typeof problem;
  } catch {
    // not JSON: fall through to a generic error
  }
  const { code, detail, type: _type, title: _title, status: _status, ...details } = problem;
  const message = typeof detail === 'string' ? detail.slice(0, 2000) : `the server answered ${status}`;
  if (isErrorCode(code)) return new CustodyError(code, message, { details: { ...details, httpStatus: status } });
  if (status === 401) return new CustodyError('UNAUTHENTICATED', message);
  if (status === 403) return new CustodyError('FORBIDDEN', message);
  if (status === 404) return new CustodyError('NOT_FOUND', message);
  return new CustodyError('SERVER_ERROR', message, { details: { httpStatus: status } });
}
