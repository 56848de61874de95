/**
 * Decoders for the promotion tables (aliases, policies, decisions, quarantines), built from the
 * same primitives as `row-codecs.ts`: a row is hostile until decoded, and a corrupt one is
 * INTERNAL naming the table and column, never the content.
 */
import { assertStorableText } from './lookup-keys.js';
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import type { AliasRecord, DecisionRecord, PolicyRecord, QuarantineRecord } from '../promotion-records.js';
import { digest, nonNegative } from './row-codecs.js';

const text = z.string().min(1);

const aliasRow = z
  .object({
    namespace: text,
    name: text,
    environment: text,
    version_id: text,
    version_digest: digest,
    since: text,
    decision_id: z.string().nullable(),
    log_index: nonNegative,
  })
  .transform(
    (r): AliasRecord => ({
      namespace: r.namespace,
      name: r.name,
      environment: r.environment,
      versionId: r.version_id,
      versionDigest: r.version_digest,
      since: r.since,
      decisionId: r.decision_id,
      logIndex: r.log_index,
    }),
  );

const policyRow = z
  .object({
    id: text,
    environment: text,
    number: nonNegative,
    digest,
    document: text,
    fixtures: text,
    status: z.enum(['proposed', 'active', 'superseded', 'rejected']),
    proposed_by: text,
    proposed_at: text,
    proposed_log_index: nonNegative,
    approved_by: z.string().nullable(),
    approved_at: z.string().nullable(),
    activated_at: z.string().nullable(),
    activated_log_index: nonNegative.nullable(),
    ended_at: z.string().nullable(),
    rejected_by: text.nullable(),
    rejection_reason: text.nullable(),
    rejected_log_index: nonNegative.nullable(),
  })
  .transform(
    (r): PolicyRecord => ({
      id: r.id,
      environment: r.environment,
      number: r.number,
      digest: r.digest,
      document: r.document,
      fixtures: r.fixtures,
      status: r.status,
      proposedBy: r.proposed_by,
      proposedAt: r.proposed_at,
      proposedLogIndex: r.proposed_log_index,
      approvedBy: r.approved_by,
      approvedAt: r.approved_at,
      activatedAt: r.activated_at,
      activatedLogIndex: r.activated_log_index,
      endedAt: r.ended_at,
      ...(r.rejected_by === null || r.rejection_reason === null || r.rejected_log_index === null
        ? {}
        : { rejection: { by: r.rejected_by, reason: r.rejection_reason, logIndex: r.rejected_log_index } }),
    }),
  );

const decisionRow = z
  .object({
    id: text,
    namespace: text,
    name: text,
    version_id: text,
    version_digest: digest,
    environment: text,
    outcome: z.enum(['allow', 'deny']),
    policy_digest: digest.nullable(),
    effective_digest: digest,
    input_digest: digest,
    results: text,
    principal: text,
    principal_kind: text,
    decided_at: text,
    log_index: nonNegative,
    vsa: z.string().nullable(),
  })
  .transform(
    (r): DecisionRecord => ({
      id: r.id,
      namespace: r.namespace,
      name: r.name,
      versionId: r.version_id,
      versionDigest: r.version_digest,
      environment: r.environment,
      outcome: r.outcome,
      policyDigest: r.policy_digest,
      effectiveDigest: r.effective_digest,
      inputDigest: r.input_digest,
      results: r.results,
      principal: r.principal,
      principalKind: r.principal_kind,
      decidedAt: r.decided_at,
      logIndex: r.log_index,
      vsa: r.vsa,
    }),
  );

const quarantineRow = z
  .object({
    id: text,
    version_id: text,
    environment: text,
    reason: text,
    since: text,
    log_index: nonNegative,
    cleared_at: z.string().nullable(),
    cleared_by: z.string().nullable(),
  })
  .transform(
    (r): QuarantineRecord => ({
      id: r.id,
      versionId: r.version_id,
      environment: r.environment,
      reason: r.reason,
      since: r.since,
      logIndex: r.log_index,
      clearedAt: r.cleared_at,
      clearedBy: r.cleared_by,
    }),
  );

const PROMOTION_DECODERS = { aliases: aliasRow, policies: policyRow, decisions: decisionRow, quarantines: quarantineRow } as const;

export type PromotionRowKind = keyof typeof PROMOTION_DECODERS;

/** Validates a promotion row read back from `kind`; a corrupt row throws INTERNAL. */
export function decodePromotionRow<K extends PromotionRowKind>(kind: K, row: unknown): z.output<(typeof PROMOTION_DECODERS)[K]> {
  const result = PROMOTION_DECODERS[kind].safeParse(row);
  if (!result.success) {
    const column = result.error.issues[0]?.path[0];
    throw new CustodyError('INTERNAL', `corrupt ${kind} row in the metadata store`, { details: { table: kind, column: typeof column === 'string' ? column : null } });
  }
  return result.data as z.output<(typeof PROMOTION_DECODERS)[K]>;
}

/** Throws VALIDATION_FAILED when a row about to be written would not read back. */
export function assertPromotionRowStorable(kind: PromotionRowKind, row: Readonly<Record<string, unknown>>): void {
  assertStorableText(row, kind);
  const result = PROMOTION_DECODERS[kind].safeParse(row);
  if (!result.success) {
    const column = result.error.issues[0]?.path[0];
    throw new CustodyError('VALIDATION_FAILED', `${kind}: invalid ${typeof column === 'string' ? column : 'row'}`, { details: { column } });
  }
}
