/**
 * Reads a JSON request body with a hard byte limit (checked against Content-Length before
 * reading and against the bytes as they arrive), then validates it with the route's schema.
 * Malformed JSON, a wrong media type and unknown fields each get their own stable code.
 */
import type { IncomingMessage } from 'node:http';
import type { z } from 'zod';
import { CustodyError } from '../domain/errors.js';

export async function readJsonBody<T>(req: IncomingMessage, limit: number, schema: z.ZodType<T>): Promise<T> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') {
    throw new CustodyError('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json');
  }
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    throw new CustodyError('BODY_TOO_LARGE', `the request body may have at most ${limit} bytes`, { details: { limit } });
  }
  const chunks: Buffer[] = [];
  let received = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limit) {
      throw new CustodyError('BODY_TOO_LARGE', `the request body may have at most ${limit} bytes`, { details: { limit } });
    }
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks, received).toString('utf8')) as unknown;
  } catch {
    throw new CustodyError('INVALID_JSON', 'the request body is not valid JSON');
  }
  assertDepth(value, MAX_JSON_DEPTH);
  return validate(schema, value, 'body');
}

/** Deeper JSON has no legitimate use here and would overflow recursive serialisers later. */
export const MAX_JSON_DEPTH = 64;

/** Throws VALIDATION_FAILED when `value` nests deeper than `max` (checked without recursion). */
function assertDepth(value: unknown, max: number): void {
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, depth } = item;
    if (typeof node !== 'object' || node === null) continue;
    if (depth >= max) throw new CustodyError('VALIDATION_FAILED', `JSON nested deeper than ${max} levels`);
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push({ node: child, depth: depth + 1 });
  }
}

/** Validates `value` with `schema`, turning zod issues into VALIDATION_FAILED with field paths. */
export function validate<T>(schema: z.ZodType<T>, value: unknown, where: string): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 20).map((issue) => ({
    path: [where, ...issue.path.map(String)].join('.'),
    message: issue.code === 'unrecognized_keys' ? `unknown field(s): ${issue.keys.join(', ')}` : issue.message,
  }));
  const first = issues[0];
  throw new CustodyError('VALIDATION_FAILED', first === undefined ? `invalid ${where}` : `${first.path}: ${first.message}`, { details: { issues } });
}
