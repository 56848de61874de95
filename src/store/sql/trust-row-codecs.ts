/**
 * Decoders for the trust tables (signer keys, attestations, lineage edges, and the per-key
 * attestation reads of the keys pages), built from the same primitives as `row-codecs.ts`: a row
 * is hostile until decoded, and a corrupt one is INTERNAL naming the table and column, never the
 * content.
 */
import { assertStorableText } from './lookup-keys.js';
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import type { KeyAttestation, KeyAttestationCount } from '../metadata-store.js';
import type { AttestationRecord, LineageEdge, SignerKeyRecord } from '../trust-records.js';
import { digest, hex64, jsonText, nonNegative, stringList } from './row-codecs.js';

const text = z.string().min(1);

const signerKeyRow = z
  .object({
    name: text,
    key_id: hex64,
    oms_hint: hex64,
    algorithm: text,
    public_key_pem: text,
    predicate_types: jsonText.pipe(stringList),
    namespaces: jsonText.pipe(stringList).nullable(),
    not_before: z.string().nullable(),
    not_after: z.string().nullable(),
    added_at: text,
    added_by: text,
    added_log_index: nonNegative,
    revoked_at: z.string().nullable(),
    revoked_by: z.string().nullable(),
    revocation_reason: z.string().nullable(),
    compromised_since: z.string().nullable(),
    revoked_log_index: nonNegative.nullable(),
  })
  .transform((r): SignerKeyRecord => ({
    name: r.name,
    keyId: r.key_id,
    omsHint: r.oms_hint,
    algorithm: r.algorithm,
    publicKeyPem: r.public_key_pem,
    predicateTypes: r.predicate_types,
    namespaces: r.namespaces,
    notBefore: r.not_before,
    notAfter: r.not_after,
    addedAt: r.added_at,
    addedBy: r.added_by,
    addedLogIndex: r.added_log_index,
    revocation:
      r.revoked_at === null
        ? null
        : {
            revokedAt: r.revoked_at,
            revokedBy: r.revoked_by ?? '',
            reason: r.revocation_reason ?? '',
            compromisedSince: r.compromised_since,
            logIndex: r.revoked_log_index ?? -1,
          },
  }))
  .refine((k) => k.revocation === null || k.revocation.logIndex >= 0, { message: 'revoked without a log index', path: ['revoked_log_index'] });

const attestationRow = z
  .object({
    id: text,
    version_id: text,
    version_digest: digest,
    bundle_digest: hex64,
    pae_digest: hex64,
    key_id: hex64,
    key_name: text,
    predicate_type: text,
    role: z.enum(['provenance', 'attestation', 'evidence']),
    bundle: text,
    logged_at: text,
    log_index: nonNegative,
    added_by: text,
  })
  .transform((r): AttestationRecord => ({
    id: r.id,
    versionId: r.version_id,
    versionDigest: r.version_digest,
    bundleDigest: r.bundle_digest,
    paeDigest: r.pae_digest,
    keyId: r.key_id,
    keyName: r.key_name,
    predicateType: r.predicate_type,
    role: r.role,
    bundle: r.bundle,
    loggedAt: r.logged_at,
    logIndex: r.log_index,
    addedBy: r.added_by,
  }));

const lineageEdgeRow = z
  .object({
    child_version_id: text,
    child_namespace: text,
    child_name: text,
    child_digest: digest,
    parent_namespace: text,
    parent_name: text,
    parent_digest: digest,
  })
  .transform((r): LineageEdge => ({
    childVersionId: r.child_version_id,
    childNamespace: r.child_namespace,
    childName: r.child_name,
    childDigest: r.child_digest,
    parentNamespace: r.parent_namespace,
    parentName: r.parent_name,
    parentDigest: r.parent_digest,
  }));

/** A grouped row of `attestationCountsByKey`: one key id with its count and newest log time. */
const keyAttestationCountRow = z
  .object({ key_id: hex64, count: nonNegative, last_signed_at: text })
  .transform((r): readonly [string, KeyAttestationCount] => [r.key_id, { count: r.count, lastSignedAt: r.last_signed_at }]);

/** A row of `listAttestationsByKey`: an attestation joined with its version. */
const keyAttestationRow = z
  .object({
    id: text,
    namespace: text,
    name: text,
    number: nonNegative,
    version_digest: digest,
    predicate_type: text,
    role: z.enum(['provenance', 'attestation', 'evidence']),
    log_index: nonNegative,
    logged_at: text,
    added_by: text,
  })
  .transform((r): KeyAttestation => ({
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    versionNumber: r.number,
    versionDigest: r.version_digest,
    predicateType: r.predicate_type,
    role: r.role,
    logIndex: r.log_index,
    loggedAt: r.logged_at,
    addedBy: r.added_by,
  }));

const TRUST_DECODERS = {
  signer_keys: signerKeyRow,
  attestations: attestationRow,
  lineage_edges: lineageEdgeRow,
  key_attestation_counts: keyAttestationCountRow,
  key_attestations: keyAttestationRow,
} as const;

export type TrustRowKind = keyof typeof TRUST_DECODERS;

/** Validates a trust row read back from `kind`; a corrupt row throws INTERNAL. */
export function decodeTrustRow<K extends TrustRowKind>(kind: K, row: unknown): z.output<(typeof TRUST_DECODERS)[K]> {
  const result = TRUST_DECODERS[kind].safeParse(row);
  if (!result.success) {
    const column = result.error.issues[0]?.path[0];
    throw new CustodyError('INTERNAL', `corrupt ${kind} row in the metadata store`, { details: { table: kind, column: typeof column === 'string' ? column : null } });
  }
  return result.data as z.output<(typeof TRUST_DECODERS)[K]>;
}

/** Throws VALIDATION_FAILED when a row about to be written would not read back. */
export function assertTrustRowStorable(kind: TrustRowKind, row: Readonly<Record<string, unknown>>): void {
  assertStorableText(row, kind);
  const result = TRUST_DECODERS[kind].safeParse(row);
  if (!result.success) {
    const column = result.error.issues[0]?.path[0];
    throw new CustodyError('VALIDATION_FAILED', `${kind}: invalid ${typeof column === 'string' ? column : 'row'}`, { details: { column } });
  }
}
