/**
 * One required attestation (SPEC §6.1): present, valid, from one of its signers, and — with
 * `threshold: k` — from k distinct signer keys. Validity (signature, key active and allowed,
 * not revoked as of logging, subject) was decided by the promotion service; here it is the
 * candidate's `status`. Two attestations by one key count once. Evidence (`role: evidence`) is
 * never a candidate: it counts only through the `chain` requirement (§6.3).
 */
import type { Requirement } from './policy-document.js';
import type { CandidateAttestation } from './policy-input.js';

export type CheckResult = 'PASS' | 'FAIL' | 'MISSING' | 'REVOKED' | 'ERROR';

export interface RequirementResult {
  readonly name: string;
  readonly source: 'baseline' | 'policy' | 'requireFrom';
  readonly result: CheckResult;
  readonly message: string;
  /** Digests of the valid attestations that satisfied it (empty unless PASS). */
  readonly satisfiedBy: readonly string[];
}

export interface RequirementCheck {
  readonly result: RequirementResult;
  /** The requirement's valid attestations, whether or not they reach the threshold. */
  readonly valid: readonly CandidateAttestation[];
}

/** Checks `requirement` against the candidates; non-PASS messages are the requirement's own, else a precise default. */
export function checkRequirement(
  name: string,
  source: 'baseline' | 'policy',
  requirement: Requirement,
  attestations: readonly CandidateAttestation[],
): RequirementCheck {
  // Pipeline evidence is about a step's products, not the version: it never satisfies a requirement (§4.2).
  const candidates = attestations.filter((a) => a.role !== 'evidence' && a.predicateType === requirement.predicateType && requirement.signers.includes(a.signer.name));
  const valid = candidates.filter((a) => a.status === 'valid');
  const keys = new Set(valid.map((a) => a.signer.keyId));
  const signers = requirement.signers.join(' or ');
  const type = requirement.predicateType;
  const done = (result: CheckResult, fallback: string, satisfiedBy: readonly string[] = []): RequirementCheck => ({
    result: { name, source, result, message: result === 'PASS' ? fallback : (requirement.message ?? fallback), satisfiedBy },
    valid,
  });
  if (keys.size >= requirement.threshold) {
    const digests = [...new Set(valid.map((a) => a.digest))];
    return done('PASS', `${valid.length} valid ${type} attestation(s) from ${keys.size} distinct key(s) of ${signers}`, digests);
  }
  if (candidates.length === 0) return done('MISSING', `no valid ${type} attestation signed by ${signers}`);
  if (valid.length === 0 && candidates.every((a) => a.status === 'revoked')) {
    return done('REVOKED', `no valid ${type} attestation signed by ${signers}: ${plural(candidates.length, 'attestation')} signed by revoked keys`);
  }
  if (valid.length === 0) {
    const reason = candidates.find((a) => a.reason !== undefined)?.reason;
    return done('FAIL', `no valid ${type} attestation signed by ${signers}: ${plural(candidates.length, 'attestation')} not valid${reason === undefined ? '' : ` (${reason})`}`);
  }
  return done('FAIL', `${type} needs valid attestations from ${requirement.threshold} distinct keys of ${signers}; found ${plural(keys.size, 'key')}`);
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
