/**
 * Records of environments, policies, promotion decisions and quarantines (SPEC §2, §6): what the
 * metadata store keeps for them. Aliases are the only records that move; policies change status
 * along their lifecycle; decisions and quarantines are appended (a quarantine is cleared, never
 * deleted). Every change is also a log event written in the same transaction.
 */

/** Which version an environment holds for one model. */
export interface AliasRecord {
  readonly namespace: string;
  readonly name: string;
  readonly environment: string;
  readonly versionId: string;
  readonly versionDigest: string;
  /** When the alias last moved. */
  readonly since: string;
  /** The decision that moved it, or null when registration placed the version (first environment). */
  readonly decisionId: string | null;
  /** The log index of the event that moved it. */
  readonly logIndex: number;
}

export type PolicyStatus = 'proposed' | 'active' | 'superseded' | 'rejected';

export interface PolicyRecord {
  readonly id: string;
  readonly environment: string;
  /** 1, 2, 3, … per environment, in order of proposal. */
  readonly number: number;
  /** sha256:<hex> of the document's JCS form. */
  readonly digest: string;
  /** The document as canonical JSON text (what the digest is over). */
  readonly document: string;
  /** JSON text of the fixtures its tests read, by the path the document names (run again at activation). */
  readonly fixtures: string;
  readonly status: PolicyStatus;
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly proposedLogIndex: number;
  readonly approvedBy: string | null;
  readonly approvedAt: string | null;
  /** When it became active (and its log index), or null. */
  readonly activatedAt: string | null;
  readonly activatedLogIndex: number | null;
  /** When a later policy replaced it, or it was rejected. */
  readonly endedAt: string | null;
  /** Who rejected a proposal, why, and its `policy.rejected` log index: present only on a rejected policy that was rejected with them. */
  readonly rejection?: PolicyRejection;
}

/** The rejection of a proposed policy (the time is the record's `endedAt`). */
export interface PolicyRejection {
  readonly by: string;
  readonly reason: string;
  readonly logIndex: number;
}

/** A status change of a policy; the store applies it only from `from`. */
export interface PolicyTransition {
  readonly from: PolicyStatus;
  readonly to: PolicyStatus;
  readonly at: string;
  readonly approvedBy?: string;
  readonly activatedLogIndex?: number;
  /** Recorded with a transition to `rejected`. */
  readonly rejection?: PolicyRejection;
}

export type DecisionOutcome = 'allow' | 'deny';

export interface DecisionRecord {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly versionId: string;
  readonly versionDigest: string;
  readonly environment: string;
  readonly outcome: DecisionOutcome;
  /** The active policy's digest, or null when only the baseline applied. */
  readonly policyDigest: string | null;
  readonly effectiveDigest: string;
  /** sha256:<hex> of the exact CEL input. */
  readonly inputDigest: string;
  /** JSON text of the requirement and gate results, as evaluated. */
  readonly results: string;
  readonly principal: string;
  readonly principalKind: string;
  readonly decidedAt: string;
  readonly logIndex: number;
  /** The signed VSA (Sigstore bundle JSON) of an allowed promotion, else null. */
  readonly vsa: string | null;
}

export interface QuarantineRecord {
  readonly id: string;
  readonly versionId: string;
  readonly environment: string;
  readonly reason: string;
  readonly since: string;
  readonly logIndex: number;
  readonly clearedAt: string | null;
  /** The allowed decision that cleared it. */
  readonly clearedBy: string | null;
}
