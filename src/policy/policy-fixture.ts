/**
 * Policy test fixtures (SPEC §6 `tests`): a compact, hand-writable description of one promotion
 * request — the attestations a version carries and the facts about the version, model and
 * principal — that `policy-tests.ts` turns into the exact `PolicyInput` the promotion service
 * would build. Everything but the attestations' `predicateType` and signer name is optional.
 *
 * Format (YAML or JSON; unknown keys are refused):
 *
 * ```yaml
 * attestations:                       # default []; at most 1,000
 *   - predicateType: https://in-toto.io/attestation/vulns/v0.2
 *     signer: {name: security-scanner, keyId: <hex>}   # keyId default: sha256("policy-fixture-key:" + name)
 *     predicate: {...}                # default {}
 *     status: valid                   # valid | revoked | invalid, default valid
 *     reason: why it is not valid     # optional
 *     loggedAt: 2026-01-01T00:00:00Z  # default: `now`
 *     logIndex: 7                     # default: its position in the list
 *     digest: sha256:<hex>            # default: derived from position, type and signer
 *     role: evidence                  # provenance | attestation | evidence, default attestation
 *     subjects: [{name: x, digest: sha256:<hex>}]   # default []; an evidence step's products (§6.3)
 * version:                            # every field optional
 *   digest: sha256:<hex>              # default sha256("policy-fixture-version")
 *   number: 3                         # default 1
 *   files: [{path: model.bin, size: 10, digest: sha256:<hex>}]   # default []
 *   size: 10                          # default: sum of the files' sizes
 *   environments: [staging]           # default [] — write it to satisfy `requireFrom`
 *   registeredAt: 2026-01-01T00:00:00Z  # default: `now`
 *   registeredBy: alice               # default "policy-test"
 * model: {namespace: fraud, name: detector}          # default default/model
 * provenance: {trainingData: ...}     # default null (the CEL input then sees {})
 * principal: {name: ci, kind: service, claims: {...}}  # default policy-test / service / null
 * environment: production             # default: the document's metadata.environment
 * now: 2026-01-01T00:00:00Z           # default 2026-01-01T00:00:00Z
 * ```
 */
import { z } from 'zod';
import { canonicalJson } from '../crypto/canonical-json.js';
import { sha256Hex } from '../domain/digest.js';
import type { CandidateAttestation, PolicyInput } from './policy-input.js';

/** Fixed default instant, so a fixture without `now` evaluates the same way every day. */
export const DEFAULT_FIXTURE_NOW = '2026-01-01T00:00:00Z';
export const MAX_FIXTURE_ATTESTATIONS = 1_000;

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
export const instantSchema = z
  .string()
  .regex(RFC3339, 'must be an RFC 3339 instant such as 2026-01-01T00:00:00Z')
  .refine((value) => !Number.isNaN(Date.parse(value)), 'must be a real instant');
const digestSchema = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 lowercase hex>');
const jsonObject = z.record(z.string(), z.unknown());
const shortText = z.string().min(1).max(256);

const fixtureAttestationSchema = z.strictObject({
  predicateType: z.string().min(1).max(512),
  predicate: z.unknown().optional(),
  signer: z.strictObject({ name: shortText, keyId: shortText.optional() }),
  status: z.enum(['valid', 'revoked', 'invalid']).optional(),
  reason: z.string().max(500).optional(),
  loggedAt: instantSchema.optional(),
  logIndex: z.number().int().min(0).optional(),
  digest: digestSchema.optional(),
  role: z.enum(['provenance', 'attestation', 'evidence']).optional(),
  subjects: z.array(z.strictObject({ name: z.string().max(2048).optional(), digest: digestSchema })).max(1_000).optional(),
});

export const policyFixtureSchema = z.strictObject({
  attestations: z.array(fixtureAttestationSchema).max(MAX_FIXTURE_ATTESTATIONS).optional(),
  version: z
    .strictObject({
      digest: digestSchema.optional(),
      number: z.number().int().min(1).optional(),
      files: z.array(z.strictObject({ path: z.string().min(1).max(4096), size: z.number().int().min(0), digest: digestSchema })).max(10_000).optional(),
      size: z.number().int().min(0).optional(),
      environments: z.array(z.string().min(1).max(63)).max(16).optional(),
      registeredAt: instantSchema.optional(),
      registeredBy: shortText.optional(),
    })
    .optional(),
  model: z.strictObject({ namespace: shortText.optional(), name: shortText.optional() }).optional(),
  provenance: jsonObject.nullable().optional(),
  principal: z.strictObject({ name: shortText.optional(), kind: shortText.optional(), claims: jsonObject.nullable().optional() }).optional(),
  environment: z.string().min(1).max(63).optional(),
  now: instantSchema.optional(),
});

/** A validated fixture (see the module comment for the format and defaults). */
export type PolicyFixture = z.infer<typeof policyFixtureSchema>;

/** The `PolicyInput` a fixture describes, with every default filled in. */
export function fixtureToPolicyInput(fixture: PolicyFixture, defaultEnvironment: string): PolicyInput {
  const now = fixture.now ?? DEFAULT_FIXTURE_NOW;
  const attestations = (fixture.attestations ?? []).map((a, index): CandidateAttestation => {
    const keyId = a.signer.keyId ?? sha256Hex(`policy-fixture-key:${a.signer.name}`);
    const digest = a.digest ?? `sha256:${sha256Hex(canonicalJson({ fixtureAttestation: index, predicateType: a.predicateType, keyId }))}`;
    return {
      role: a.role ?? 'attestation',
      subjects: (a.subjects ?? []).map((s) => (s.name === undefined ? { digest: s.digest } : { name: s.name, digest: s.digest })),
      predicateType: a.predicateType,
      predicate: a.predicate ?? {},
      signer: { name: a.signer.name, keyId },
      loggedAt: a.loggedAt ?? now,
      logIndex: a.logIndex ?? index,
      digest,
      status: a.status ?? 'valid',
      ...(a.reason === undefined ? {} : { reason: a.reason }),
    };
  });
  const v = fixture.version ?? {};
  const files = (v.files ?? []).map((f) => ({ path: f.path, size: f.size, digest: f.digest }));
  return {
    attestations,
    version: {
      digest: v.digest ?? `sha256:${sha256Hex('policy-fixture-version')}`,
      number: v.number ?? 1,
      files,
      size: v.size ?? files.reduce((sum, f) => sum + f.size, 0),
      environments: v.environments ?? [],
      registeredAt: v.registeredAt ?? now,
      registeredBy: v.registeredBy ?? 'policy-test',
    },
    model: { namespace: fixture.model?.namespace ?? 'default', name: fixture.model?.name ?? 'model' },
    provenance: fixture.provenance ?? null,
    principal: { name: fixture.principal?.name ?? 'policy-test', kind: fixture.principal?.kind ?? 'service', claims: fixture.principal?.claims ?? null },
    environment: fixture.environment ?? defaultEnvironment,
    now,
  };
}
