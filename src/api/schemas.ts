/**
 * The zod schemas of the HTTP API. Requests are validated with them and the OpenAPI document is
 * generated from them (`openapi.ts`), so the two cannot drift apart.
 */
import { z } from 'zod';

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;

export const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lowercase hex>').meta({ example: `sha256:${'ab'.repeat(32)}` });
export const nameSchema = z.string().regex(NAME, 'must match [a-z0-9][a-z0-9._-]{0,127}');

export const modelParams = z.object({ namespace: nameSchema, name: nameSchema });
export const versionParams = modelParams.extend({
  selector: z.string().min(1).max(80).meta({ description: 'vN, sha256:<hex> or an environment name' }),
});
export const digestParams = z.object({ digest: digestSchema });
export const uploadParams = z.object({ id: z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not an upload id') });

const limitSchema = z.coerce.number().int().min(1).max(1000).default(100);
export const pageQuery = z.object({ limit: limitSchema, cursor: z.string().max(1024).optional() }).strict();
export const modelsQuery = pageQuery.extend({ namespace: nameSchema.optional() }).strict();

export const manifestFileSchema = z
  .object({
    path: z.string().min(1).max(4096),
    size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    digest: digestSchema,
  })
  .strict();

export const registerBody = z
  .object({
    files: z.array(manifestFileSchema).min(1),
    annotations: z.record(z.string(), z.unknown()).optional().meta({ description: 'free JSON from the pusher, always shown as unverified' }),
    singleFile: z.boolean().optional().meta({ description: 'the model was pushed as a single file (pull writes a file)' }),
  })
  .strict();

export const missingBody = z.object({ digests: z.array(digestSchema) }).strict();
export const missingResponse = z.object({ missing: z.array(digestSchema) });

export const createUploadBody = z.object({ digest: digestSchema, size: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict();
export const commitUploadBody = z.object({ digest: digestSchema }).strict();
export const uploadResponse = z.object({
  id: z.string().nullable(),
  digest: digestSchema,
  size: z.number().int(),
  offset: z.number().int().meta({ description: 'bytes acknowledged so far' }),
  exists: z.boolean().meta({ description: 'the blob is already stored; no upload needed' }),
});
export const blobResponse = z.object({ digest: digestSchema, size: z.number().int() });

export const versionSummarySchema = z.object({
  namespace: z.string(),
  name: z.string(),
  number: z.number().int(),
  digest: digestSchema,
  omsRootDigest: digestSchema,
  singleFile: z.boolean(),
  fileCount: z.number().int(),
  totalSize: z.number().int(),
  registeredAt: z.string(),
  registeredBy: z.string(),
  annotations: z.unknown().meta({ description: 'unverified' }),
});
const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const receiptSchema = z
  .object({
    logIndex: z.number().int().min(0),
    leafHash: hex64,
    treeSize: z.number().int().min(1),
    inclusionProof: z.array(hex64).max(64),
    checkpoint: z.string().max(1024 * 1024).meta({ description: 'C2SP signed note of the checkpoint the proof verifies against' }),
  })
  .meta({ description: 'where the write\'s event sits in the transparency log, with the proof' });
export const versionResponse = versionSummarySchema.extend({
  files: z.array(manifestFileSchema),
  created: z.boolean().optional(),
  receipt: receiptSchema.nullable().optional().meta({ description: 'null when the version already existed' }),
  registration: z
    .object({ logIndex: z.number().int().min(0) })
    .nullable()
    .optional()
    .meta({ description: 'where the version.registered event sits in the log (clients prove its inclusion)' }),
});
export const versionsResponse = z.object({ items: z.array(versionSummarySchema), nextCursor: z.string().nullable() });
export const modelSummarySchema = z.object({
  namespace: z.string(),
  name: z.string(),
  createdAt: z.string(),
  versionCount: z.number().int(),
  latest: z.object({ number: z.number().int(), digest: digestSchema, registeredAt: z.string() }).nullable(),
});
export const modelsResponse = z.object({ items: z.array(modelSummarySchema), nextCursor: z.string().nullable() });
export const whoamiResponse = z.object({ name: z.string(), kind: z.string(), roles: z.array(z.string()), permissions: z.array(z.string()) });
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.string().meta({ description: 'stable error code' }),
  detail: z.string(),
});
export const healthResponse = z.object({ status: z.string() });
