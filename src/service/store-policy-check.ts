/**
 * The policy part of `admin verify-store`'s promotion checks (SPEC §6.2, §10 "insider edits the
 * database"): each environment's stored policies must be exactly those its `policy.proposed`
 * events name, with the digest, number and lifecycle (proposed → active → superseded by a later
 * activation, approver and instants; or proposed → rejected, with who, why and the `policy.rejected`
 * log index) the events give, and each stored document must hash to its
 * digest — the digest is over the document's RFC 8785 text, which is what the store keeps.
 */
import { sha256Hex } from '../domain/digest.js';
import type { MetadataReader, PolicyRecord } from '../store/metadata-store.js';
import { atIndex, atRecord, describeError, type ReportProblem } from './store-problems.js';
import { differences, policyKey, policyRecord, reportedByLogCheck, type LoggedPolicy, type PromotionCheckContext, type PromotionReplay } from './store-promotion-replay.js';

/** Most policies one environment's listing returns (the store's bound). */
const MAX_ROWS = 10_000;

/**
 * Compares the policies of every environment an event names (and of every proposed policy) with
 * `replay`'s, which it consumes. Policies of an environment no event names and with no proposed
 * policy are not listed: the store lists policies per environment only.
 */
export async function checkPolicies(store: MetadataReader, replay: PromotionReplay, context: PromotionCheckContext, report: ReportProblem): Promise<void> {
  const environments = new Set(replay.environments);
  try {
    for (const p of await store.listProposedPolicies()) environments.add(p.environment);
  } catch (error) {
    report(atRecord('promotion-unreadable', 'policies', `the proposed policies cannot be read: ${describeError(error)}`));
  }
  const distrusted = (logged: LoggedPolicy): boolean =>
    context.distrusted.has(logged.proposedLogIndex) ||
    (logged.activatedLogIndex !== null && context.distrusted.has(logged.activatedLogIndex)) ||
    (logged.rejection !== null && context.distrusted.has(logged.rejection.logIndex));
  const unreadable = new Set<string>();
  for (const environment of [...environments].sort()) {
    let rows: readonly PolicyRecord[];
    try {
      rows = await store.listPolicies(environment, MAX_ROWS);
    } catch (error) {
      report(atRecord('promotion-unreadable', `policies of ${environment}`, `the policies of ${environment} cannot be read: ${describeError(error)}`));
      unreadable.add(environment);
      continue;
    }
    for (const row of rows) {
      checkDocument(row, report);
      const key = policyKey(row.environment, row.number);
      const logged = replay.policies.get(key);
      if (logged === undefined) {
        if (!reportedByLogCheck(replay, context, row.proposedLogIndex)) {
          const record = policyRecord(row);
          report(atIndex('policy-unlogged', row.proposedLogIndex, `${record} (${row.status}, ${row.digest}) has no policy.proposed event in the log`, record));
        }
        continue;
      }
      replay.policies.delete(key);
      if (!distrusted(logged)) comparePolicy(row, logged, report);
    }
  }
  for (const logged of replay.policies.values()) {
    if (unreadable.has(logged.environment) || distrusted(logged)) continue;
    const record = policyRecord(logged);
    report(atIndex('policy-missing', logged.proposedLogIndex, `log entry ${logged.proposedLogIndex} proposed ${record} (${logged.digest}), but it is not stored`, record));
  }
}

/** The stored document must be the text its digest names. */
function checkDocument(row: PolicyRecord, report: ReportProblem): void {
  const hashed = `sha256:${sha256Hex(row.document)}`;
  if (hashed === row.digest) return;
  const record = policyRecord(row);
  report(atIndex('policy-document-mismatch', row.proposedLogIndex, `the stored document of ${record} hashes to ${hashed}, not its digest ${row.digest}`, record));
}

function comparePolicy(row: PolicyRecord, logged: LoggedPolicy, report: ReportProblem): void {
  const found = differences(
    {
      digest: row.digest,
      status: row.status,
      proposedLogIndex: row.proposedLogIndex,
      proposedAt: row.proposedAt,
      proposedBy: row.proposedBy,
      approvedBy: row.approvedBy,
      approvedAt: row.approvedAt,
      activatedLogIndex: row.activatedLogIndex,
      activatedAt: row.activatedAt,
      endedAt: row.endedAt,
      rejectedBy: row.rejection?.by ?? null,
      rejectionReason: row.rejection?.reason ?? null,
      rejectedLogIndex: row.rejection?.logIndex ?? null,
    },
    {
      digest: logged.digest,
      status: logged.status,
      proposedLogIndex: logged.proposedLogIndex,
      proposedAt: logged.proposedAt,
      proposedBy: logged.proposedBy,
      approvedBy: logged.approvedBy,
      // The approval is recorded when the approved policy is activated (policy-service.ts).
      approvedAt: logged.approvedBy === null ? null : logged.activatedAt,
      activatedLogIndex: logged.activatedLogIndex,
      activatedAt: logged.activatedAt,
      endedAt: logged.endedAt,
      rejectedBy: logged.rejection?.by ?? null,
      rejectionReason: logged.rejection?.reason ?? null,
      rejectedLogIndex: logged.rejection?.logIndex ?? null,
    },
  );
  const record = policyRecord(row);
  if (found.length > 0) report(atIndex('policy-mismatch', logged.proposedLogIndex, `${record} is not what its events say: ${found.join(', ')}`, record));
}
