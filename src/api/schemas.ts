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
    provenance: z.string().max(512 * 1024).optional().meta({ description: 'the signed training provenance: Sigstore bundle v0.3 JSON text (SPEC §4.3)' }),
    attestations: z.array(z.string().max(512 * 1024)).max(32).optional().meta({ description: 'further attestation bundles about the version' }),
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
export const problemSchema = z.object({
  type: z.string(),
  title: z.string(),
  status: z.number().int(),
  code: z.string().meta({ description: 'stable error code' }),
  detail: z.string(),
});
export const healthResponse = z.object({ status: z.string() });

const instant = z.string().meta({ description: 'RFC 3339 time', example: '2026-01-31T12:00:00.000Z' });
export const keyParams = z.object({ name: nameSchema });
export const addKeyBody = z
  .object({
    name: nameSchema,
    publicKey: z.string().min(1).max(16 * 1024).meta({ description: 'SPKI PEM of an Ed25519, P-256 or P-384 key' }),
    predicateTypes: z.array(z.string().min(1).max(512)).min(1).max(64),
    namespaces: z.array(nameSchema).min(1).max(1000).nullable().optional().meta({ description: 'omit or null for every namespace' }),
    notBefore: instant.nullable().optional(),
    notAfter: instant.nullable().optional(),
  })
  .strict();
export const revokeKeyBody = z.object({ reason: z.string().min(1).max(1000), compromisedSince: instant.nullable().optional() }).strict();
export const keyResponse = z.object({
  name: z.string(),
  keyId: hex64,
  omsHint: hex64,
  algorithm: z.string(),
  publicKey: z.string(),
  predicateTypes: z.array(z.string()),
  namespaces: z.array(z.string()).nullable(),
  notBefore: z.string().nullable(),
  notAfter: z.string().nullable(),
  addedAt: z.string(),
  addedBy: z.string(),
  addedLogIndex: z.number().int(),
  status: z.enum(['active', 'revoked']),
  revocation: z
    .object({ revokedAt: z.string(), revokedBy: z.string(), reason: z.string(), compromisedSince: z.string().nullable(), invalidFrom: z.string(), logIndex: z.number().int() })
    .nullable(),
  receipt: receiptSchema.optional(),
});
export const keysResponse = z.object({
  items: z.array(
    keyResponse.extend({
      attestationCount: z.number().int().meta({ description: 'attestations the key signed, on versions in namespaces the caller may read' }),
      lastSignedAt: z.string().nullable().meta({ description: 'when the newest of them was logged; null when there is none' }),
    }),
  ),
});
export const addAttestationBody = z
  .object({
    bundle: z.string().min(1).max(512 * 1024).meta({ description: 'Sigstore bundle v0.3 JSON text, exactly as signed' }),
    role: z
      .enum(['attestation', 'evidence'])
      .default('attestation')
      .meta({ description: "attestation: about this version (default); evidence: a pipeline step's link v0.3 or SLSA provenance, counted only by a policy's chain" }),
  })
  .strict();
const statusSchema = z.object({ valid: z.boolean(), code: z.string().optional(), message: z.string().optional() });
export const attestationResponse = z.object({
  id: z.string(),
  version: digestSchema,
  predicateType: z.string(),
  role: z.enum(['provenance', 'attestation', 'evidence']),
  key: z.string(),
  keyId: hex64,
  bundleDigest: digestSchema,
  paeDigest: digestSchema,
  loggedAt: z.string(),
  logIndex: z.number().int(),
  addedBy: z.string(),
  status: statusSchema,
  statement: z.record(z.string(), z.unknown()),
  bundle: z.string().optional(),
  created: z.boolean().optional(),
  receipt: receiptSchema.nullable().optional(),
});
export const attestationsResponse = z.object({ version: digestSchema, items: z.array(attestationResponse) });
export const attestationsQuery = z.object({ bundles: z.enum(['true', 'false']).default('false') }).strict();
const metadataSource = z.object({ predicateType: z.string(), key: z.string(), keyId: z.string(), logIndex: z.number().int(), bundleDigest: z.string() });
const metadataRow = z.object({
  field: z.string(),
  value: z.unknown(),
  status: z.enum(['verified', 'invalid', 'missing']),
  source: metadataSource.nullable(),
  reason: z.string().nullable(),
  conflicts: z
    .array(z.object({ value: z.unknown(), source: metadataSource }))
    .max(20)
    .default([])
    .meta({ description: 'other valid attestations saying a different value (provenance-derived fields only), newest first, at most 20' }),
});
export const metadataResponse = z.object({ version: digestSchema, seed: z.array(metadataRow), training: z.array(metadataRow), annotations: z.unknown() });
export const lineageQuery = z
  .object({ depth: z.coerce.number().int().min(1).max(50).default(10), direction: z.enum(['ancestors', 'descendants', 'both']).default('both') })
  .strict();
export const lineageResponse = z.object({
  root: z.string(),
  nodes: z.array(z.object({ id: z.string(), namespace: z.string(), name: z.string(), number: z.number().int(), digest: digestSchema, trainingData: metadataRow, sourceCommit: metadataRow })),
  edges: z.array(z.object({ child: z.string(), parent: z.string() })),
  truncated: z.boolean(),
});
