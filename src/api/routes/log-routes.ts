/**
 * The transparency log's read side (SPEC §5): C2SP tlog-tiles under `/log/` (the checkpoint,
 * hash tiles, entry bundles, partial tiles) so existing tile clients can audit Custody, and JSON
 * endpoints for one entry, an inclusion proof (by index or leaf hash) and a consistency proof.
 * Public unless `log.publicReads` is off; then any principal that may read models somewhere may
 * read the log too, because every client verifies pulls and receipts against it.
 * Spec: https://c2sp.org/tlog-tiles, https://c2sp.org/tlog-checkpoint
 */
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import type { Config } from '../../config/config.js';
import { defineRoute } from '../route.js';

const publicReads = (config: Config): boolean => config.log.publicReads;
const logAuth = { permission: 'model:read', scope: 'any', publicWhen: publicReads } as const;

const count = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);

const entryResponse = z.object({ index: z.number().int(), leafHash: hex64, leaf: z.string(), event: z.unknown() });
const inclusionResponse = z.object({
  index: z.number().int(),
  treeSize: z.number().int(),
  leafHash: hex64,
  proof: z.array(hex64),
  checkpoint: z.string().nullable(),
});
const consistencyResponse = z.object({ from: z.number().int(), to: z.number().int(), proof: z.array(hex64), checkpoint: z.string().nullable() });
const keyResponse = z.object({ origin: z.string(), verifierKey: z.string() });

/** Every tile and bundle at a width is final once served: cache it forever. */
const IMMUTABLE = { 'cache-control': 'public, max-age=31536000, immutable' };

export const logRoutes = [
  defineRoute({
    method: 'GET',
    path: '/log/checkpoint',
    operationId: 'logCheckpoint',
    summary: 'The newest signed checkpoint (C2SP tlog-checkpoint as a signed note)',
    tag: 'log',
    auth: logAuth,
    body: { kind: 'none' },
    responses: { 200: { description: 'signed note', contentType: 'text/plain; charset=utf-8' } },
    handle: async ({ services }) => {
      const { note } = await services.log.latestCheckpoint();
      return { status: 200, text: note, contentType: 'text/plain; charset=utf-8', headers: { 'cache-control': 'no-cache' } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/log/tile/{path*}',
    operationId: 'logTile',
    summary: 'A hash tile (tile/<L>/<N>[.p/<W>]) or an entry bundle (tile/entries/<N>[.p/<W>])',
    tag: 'log',
    auth: logAuth,
    params: z.object({ path: z.string().max(200) }),
    body: { kind: 'none' },
    responses: { 200: { description: 'tile bytes', contentType: 'application/octet-stream' }, 404: { description: 'no such tile yet' } },
    handle: async ({ params, services }) => {
      const bytes = await services.log.readTile(`tile/${params.path}`);
      return {
        status: 200,
        bytes,
        contentType: 'application/octet-stream',
        headers: { ...IMMUTABLE, 'x-content-type-options': 'nosniff' },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/log/key',
    operationId: 'logKey',
    summary: 'The log origin and its verifier key (<name>+<id>+<key>)',
    tag: 'log',
    auth: logAuth,
    body: { kind: 'none' },
    responses: { 200: { description: 'the verifier key', schema: keyResponse } },
    handle: ({ services }) => Promise.resolve({ status: 200, json: { origin: services.log.origin, verifierKey: services.log.verifierKey } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/log/entries/{index}',
    operationId: 'logEntry',
    summary: 'One log entry: its leaf (canonical JSON of the event) and leaf hash',
    tag: 'log',
    auth: logAuth,
    params: z.object({ index: count }),
    body: { kind: 'none' },
    responses: { 200: { description: 'the entry', schema: entryResponse } },
    handle: async ({ params, services }) => {
      const entry = await services.log.entry(params.index);
      return { status: 200, json: { index: entry.index, leafHash: entry.leafHash, leaf: entry.leaf, event: JSON.parse(entry.leaf) as unknown } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/log/proof/inclusion',
    operationId: 'logInclusionProof',
    summary: 'Inclusion proof of an entry (by index or leaf hash) in the tree of a size (default: latest)',
    tag: 'log',
    auth: logAuth,
    query: z.object({ index: count.optional(), leafHash: hex64.optional(), size: count.optional() }).strict(),
    body: { kind: 'none' },
    responses: { 200: { description: 'the proof', schema: inclusionResponse } },
    handle: async ({ query, services }) => {
      let index = query.index;
      if (index === undefined) {
        if (query.leafHash === undefined) throw new CustodyError('VALIDATION_FAILED', 'give index or leafHash');
        const found = await services.log.findByLeafHash(query.leafHash);
        index = found[0];
        if (index === undefined) throw new CustodyError('NOT_FOUND', 'no entry has this leaf hash');
      }
      return { status: 200, json: await services.log.proveInclusion(index, query.size) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/log/proof/consistency',
    operationId: 'logConsistencyProof',
    summary: 'Consistency proof from one tree size to a later one (default: latest)',
    tag: 'log',
    auth: logAuth,
    query: z.object({ from: count, to: count.optional() }).strict(),
    body: { kind: 'none' },
    responses: { 200: { description: 'the proof', schema: consistencyResponse } },
    handle: async ({ query, services }) => ({ status: 200, json: await services.log.proveConsistency(query.from, query.to) }),
  }),
];
