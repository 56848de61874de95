/**
 * Resumable upload sessions (SPEC §9): create (or resume) a session for a digest and size, PATCH
 * chunks with Content-Range, ask where it stands, commit with the expected digest, or abort.
 * A chunk cut short by a disconnect keeps the bytes that arrived: the next PATCH starts there.
 */
import { CustodyError } from '../../domain/errors.js';
import { toDigest } from '../../domain/digest.js';
import { parseContentRange } from '../byte-ranges.js';
import { defineRoute, requireActor } from '../route.js';
import { blobResponse, commitUploadBody, createUploadBody, uploadParams, uploadResponse } from '../schemas.js';

export const uploadRoutes = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/uploads',
    operationId: 'createUpload',
    summary: 'Open, or resume, an upload session for one blob',
    tag: 'uploads',
    auth: { permission: 'model:push', scope: 'any' },
    body: { kind: 'json', schema: createUploadBody, limit: 'json' },
    responses: {
      200: { description: 'an existing session of the caller resumed, or the blob already exists', schema: uploadResponse },
      201: { description: 'a new session', schema: uploadResponse },
    },
    handle: async ({ body, actor, services }) => {
      const status = await services.blobs.createUpload(requireActor({ actor }), body.digest, body.size);
      const fresh = status.id !== null && status.offset === 0 && !status.exists;
      return { status: fresh ? 201 : 200, json: status, headers: status.id === null ? {} : { location: `/api/v1/uploads/${status.id}` } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/uploads/{id}',
    operationId: 'getUpload',
    summary: 'Where an upload session stands (bytes acknowledged)',
    tag: 'uploads',
    auth: { permission: 'model:push', scope: 'any' },
    params: uploadParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'the session', schema: uploadResponse } },
    handle: async ({ params, actor, services }) => {
      const status = await services.blobs.uploadStatus(requireActor({ actor }), params.id);
      return { status: 200, json: status, headers: { 'upload-offset': String(status.offset) } };
    },
  }),
  defineRoute({
    method: 'PATCH',
    path: '/api/v1/uploads/{id}',
    operationId: 'appendUpload',
    summary: 'Append bytes at the offset named by Content-Range: bytes START-END/TOTAL',
    tag: 'uploads',
    auth: { permission: 'model:push', scope: 'any' },
    params: uploadParams,
    body: { kind: 'stream', description: 'the chunk bytes' },
    responses: {
      200: { description: 'the new acknowledged offset', schema: uploadResponse },
      409: { description: 'START is not the acknowledged offset (UPLOAD_OFFSET_MISMATCH, with `expected`)' },
    },
    handle: async ({ params, req, actor, services }) => {
      const range = parseContentRange(req.headers['content-range']);
      const length = req.headers['content-length'];
      if (range.end !== undefined && length !== undefined && Number(length) !== range.end - range.start + 1) {
        throw new CustodyError('INVALID_CONTENT_RANGE', 'Content-Length differs from the Content-Range span');
      }
      const status = await services.blobs.append(requireActor({ actor }), params.id, range, req);
      return { status: 200, json: status, headers: { 'upload-offset': String(status.offset) } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/uploads/{id}/commit',
    operationId: 'commitUpload',
    summary: 'Verify the session bytes against the expected digest and store the blob',
    tag: 'uploads',
    auth: { permission: 'model:push', scope: 'any' },
    params: uploadParams,
    body: { kind: 'json', schema: commitUploadBody, limit: 'json' },
    responses: { 201: { description: 'stored', schema: blobResponse }, 422: { description: 'digest or size mismatch; the session is discarded' } },
    handle: async ({ params, body, actor, services }) => {
      const info = await services.blobs.commit(requireActor({ actor }), params.id, body.digest);
      return { status: 201, json: { digest: toDigest(info.sha256), size: info.size } };
    },
  }),
  defineRoute({
    method: 'DELETE',
    path: '/api/v1/uploads/{id}',
    operationId: 'abortUpload',
    summary: 'Abandon an upload session and its bytes',
    tag: 'uploads',
    auth: { permission: 'model:push', scope: 'any' },
    params: uploadParams,
    body: { kind: 'none' },
    responses: { 204: { description: 'gone' } },
    handle: async ({ params, actor, services }) => {
      await services.blobs.abort(requireActor({ actor }), params.id);
      return { status: 204, empty: true };
    },
  }),
];
