/**
 * Content-addressed blobs (SPEC §9): which are missing, single-shot streamed PUT, and HEAD/GET
 * with Range. Served bytes are always `application/octet-stream` with `nosniff`.
 */
import { CustodyError } from '../../domain/errors.js';
import { toDigest } from '../../domain/digest.js';
import { parseRangeHeader } from '../byte-ranges.js';
import { defineRoute, requireActor } from '../route.js';
import { blobResponse, digestParams, missingBody, missingResponse } from '../schemas.js';

const BLOB_HEADERS = { 'content-type': 'application/octet-stream', 'x-content-type-options': 'nosniff', 'accept-ranges': 'bytes' };

export const blobRoutes = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/blobs/missing',
    operationId: 'missingBlobs',
    summary: 'Which of these blobs does the registry lack?',
    tag: 'blobs',
    auth: { permission: 'model:push', scope: 'any' },
    body: { kind: 'json', schema: missingBody, limit: 'manifest' },
    responses: { 200: { description: 'the missing digests, in request order', schema: missingResponse } },
    handle: async ({ body, services }) => ({ status: 200, json: { missing: await services.blobs.missing(body.digests) } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/blobs/{digest}',
    operationId: 'getBlob',
    summary: 'Download a blob (HEAD for its size; Range supported)',
    tag: 'blobs',
    auth: { permission: 'model:read', scope: 'any' },
    params: digestParams,
    body: { kind: 'none' },
    responses: {
      200: { description: 'the blob', contentType: 'application/octet-stream' },
      206: { description: 'the requested range', contentType: 'application/octet-stream' },
      416: { description: 'range not satisfiable' },
    },
    handle: async ({ params, req, services, actor }) => {
      // A namespace-limited reader sees only blobs of versions in its namespaces; to it, any
      // other blob does not exist (the same answer as a blob nobody has).
      const readable = await services.blobs.readableIn(params.digest, services.auth.namespacesWith(requireActor({ actor }), 'model:read'));
      const info = readable ? await services.blobs.stat(params.digest) : undefined;
      if (info === undefined) throw new CustodyError('BLOB_NOT_FOUND', 'no such blob');
      const etag = `"${params.digest}"`;
      let range;
      try {
        range = parseRangeHeader(req.headers.range, info.size);
      } catch (error) {
        if (error instanceof CustodyError) {
          throw new CustodyError(error.code, error.message, { details: { ...error.details, contentRange: `bytes */${info.size}` } });
        }
        throw error;
      }
      if (req.method === 'HEAD') {
        return { status: 200, empty: true, headers: { ...BLOB_HEADERS, 'content-length': String(info.size), etag } };
      }
      if (range === undefined) {
        return { status: 200, ...(await services.blobs.body(params.digest)), headers: { ...BLOB_HEADERS, 'content-length': String(info.size), etag } };
      }
      return {
        status: 206,
        ...(await services.blobs.body(params.digest, range)),
        headers: {
          ...BLOB_HEADERS,
          'content-length': String(range.end - range.start + 1),
          'content-range': `bytes ${range.start}-${range.end}/${info.size}`,
          etag,
        },
      };
    },
  }),
  defineRoute({
    method: 'PUT',
    path: '/api/v1/blobs/{digest}',
    operationId: 'putBlob',
    summary: 'Upload a whole blob in one streamed request; stored only if the bytes hash to the digest',
    tag: 'blobs',
    auth: { permission: 'model:push', scope: 'any' },
    params: digestParams,
    body: { kind: 'stream', description: 'the blob bytes' },
    responses: { 201: { description: 'stored (or already present)', schema: blobResponse } },
    handle: async ({ params, req, services }) => {
      const length = req.headers['content-length'];
      const declared = length === undefined ? undefined : Number(length);
      if (declared !== undefined && !Number.isSafeInteger(declared)) throw new CustodyError('BAD_REQUEST', 'invalid Content-Length');
      const info = await services.blobs.put(params.digest, req, declared);
      return { status: 201, json: { digest: toDigest(info.sha256), size: info.size } };
    },
  }),
];
