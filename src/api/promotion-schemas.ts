/**
 * The zod schemas of the policy and promotion routes (SPEC §6): policy documents and their
 * lifecycle, promotion decisions with every requirement and gate, environment status and VSAs.
 * Requests are validated with them and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { digestSchema, nameSchema, receiptSchema } from './schemas.js';

const environmentSchema = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be an environment name');
const idSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not an id');

export const environmentParams = z.object({ environment: environmentSchema });
export const policyIdParams = z.object({ id: idSchema });
export const modelEnvironmentParams = z.object({ namespace: nameSchema, name: nameSchema, environment: environmentSchema });

export const pushPolicyBody = z
  .object({
    document: z.string().min(1).max(512 * 1024).meta({ description: 'the policy document as YAML or JSON text' }),
    fixtures: z.record(z.string().max(1024), z.unknown()).optional().meta({ description: 'contents of the fixtures its tests name, keyed by the path the document writes' }),
  })
  .strict();

export const rejectPolicyBody = z
  .object({ reason: z.string().min(1).max(1000).meta({ description: 'why the proposal is rejected (logged in policy.rejected; no control characters other than line breaks)' }) })
  .strict();

const checkResult = z.enum(['PASS', 'FAIL', 'MISSING', 'REVOKED', 'ERROR']);
export const requirementResultSchema = z.object({
  name: z.string(),
  source: z.enum(['baseline', 'policy', 'requireFrom']),
  result: checkResult,
  message: z.string(),
  satisfiedBy: z.array(z.string()),
});
export const gateResultSchema = z.object({ name: z.string(), result: checkResult, message: z.string(), detail: z.string().optional() });

export const policyTestResultSchema = z.object({ name: z.string(), expected: z.enum(['allow', 'deny']), outcome: z.enum(['allow', 'deny', 'error']), passed: z.boolean() });

export const policyResponse = z.object({
  id: z.string(),
  environment: z.string(),
  number: z.number().int(),
  digest: digestSchema,
  status: z.enum(['proposed', 'active', 'superseded', 'rejected']),
  proposedBy: z.string(),
  proposedAt: z.string(),
  approvedBy: z.string().nullable(),
  approvedAt: z.string().nullable(),
  activatedAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  rejection: z
    .object({ by: z.string(), reason: z.string(), logIndex: z.number().int().nonnegative() })
    .optional()
    .meta({ description: 'a rejected proposal only: who rejected it, why, and the log index of its policy.rejected event (the time is endedAt)' }),
  document: z.string().optional().meta({ description: 'the document as YAML' }),
  diff: z.string().optional().meta({ description: 'history only: what changed from the version before' }),
  tests: z.array(policyTestResultSchema).optional(),
  receipt: receiptSchema.optional(),
});
export const policiesResponse = z.object({ items: z.array(policyResponse) });

export const effectivePolicyResponse = z.object({
  environment: z.string(),
  active: policyResponse.nullable(),
  baseline: z.record(z.string(), z.unknown()),
  effectiveDigest: digestSchema,
  requirements: z.array(z.object({ name: z.string(), source: z.enum(['baseline', 'policy']), predicateType: z.string(), signers: z.array(z.string()), threshold: z.number().int() })),
  gates: z.array(z.object({ name: z.string(), expr: z.string(), message: z.string() })),
});

export const evaluationSchema = z.object({
  outcome: z.enum(['allow', 'deny']),
  policyDigest: digestSchema.nullable(),
  effectiveDigest: digestSchema,
  inputDigest: digestSchema,
  requirements: z.array(requirementResultSchema),
  gates: z.array(gateResultSchema),
});

export const evaluationQuery = z.object({ version: z.string().min(1).max(80).meta({ description: 'vN, sha256:<hex> or an environment name' }) }).strict();
export const evaluationResponse = z.object({ model: z.string(), version: digestSchema, number: z.number().int(), environment: z.string(), evaluation: evaluationSchema });

export const promoteBody = z
  .object({
    version: z.string().min(1).max(80).meta({ description: 'vN, sha256:<hex> or an environment name' }),
    expectCurrent: z
      .union([digestSchema, z.literal('none')])
      .optional()
      .meta({ description: 'compare-and-swap: the digest the environment must hold now, or none' }),
  })
  .strict();

export const decisionResponse = z.object({
  id: z.string(),
  model: z.string(),
  version: digestSchema,
  environment: z.string(),
  outcome: z.enum(['allow', 'deny']),
  policyDigest: digestSchema.nullable(),
  effectiveDigest: digestSchema,
  inputDigest: digestSchema,
  requirements: z.array(requirementResultSchema),
  gates: z.array(gateResultSchema),
  principal: z.string(),
  principalKind: z.string(),
  decidedAt: z.string(),
  logIndex: z.number().int(),
  vsa: z.string().nullable().meta({ description: 'the signed SLSA VSA (Sigstore bundle JSON) of an allowed promotion' }),
  receipt: receiptSchema.optional(),
});
export const decisionsResponse = z.object({ items: z.array(decisionResponse) });

export const quarantineSchema = z.object({ environment: z.string(), reason: z.string(), since: z.string(), logIndex: z.number().int() });
export const environmentStatusSchema = z.object({
  environment: z.string(),
  version: digestSchema.nullable(),
  number: z.number().int().nullable(),
  since: z.string().nullable(),
  decision: z.string().nullable(),
  logIndex: z.number().int().nullable(),
  quarantines: z.array(quarantineSchema),
});
export const statusResponse = z.object({ model: z.string(), environments: z.array(environmentStatusSchema) });
export const environmentRecordResponse = z.object({
  model: z.string(),
  environment: z.string(),
  version: digestSchema,
  number: z.number().int(),
  decision: decisionResponse.nullable(),
  quarantines: z.array(quarantineSchema),
});
export const vsaKeyResponse = z.object({ keyId: z.string(), publicKey: z.string().meta({ description: 'SPKI PEM of the Ed25519 VSA key' }) });
