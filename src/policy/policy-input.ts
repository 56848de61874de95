/**
 * What a policy decides on (SPEC §6.1): the candidate attestations and the facts about the
 * version, model and principal, and the exact CEL input built from them. The CEL input is kept
 * as RFC 8785 canonical JSON text: its SHA-256 is the decision's `inputDigest`, and the same
 * bytes are what the gate evaluator parses, so the digest names exactly what the gates saw.
 *
 * Bounded (§10 "policy as a weapon"): at most 1,000 candidate attestations, each predicate at
 * most 64 KiB of canonical JSON, the whole input at most 4 MiB. An input over a bound is not
 * trimmed — dropping an attestation could turn a gate's `all()` true — it makes every gate ERROR.
 */
import { canonicalJson } from '../crypto/canonical-json.js';
import { sha256Hex } from '../domain/digest.js';

export type AttestationStatus = 'valid' | 'revoked' | 'invalid';

/**
 * How an attestation is attached to the version: its training provenance, an attestation about
 * it, or pipeline evidence (SPEC §4.2), whose subjects are a pipeline step's products and which
 * counts only through the `chain` requirement (§6.3), never toward a required attestation.
 */
export type CandidateRole = 'provenance' | 'attestation' | 'evidence';

/** A statement subject by its sha256 digest (subjects match by digest only). */
export interface CandidateSubject {
  readonly name?: string;
  /** `sha256:<hex>`. */
  readonly digest: string;
}

/** One attestation of the version, built by the promotion service from stored, verified attestations. */
export interface CandidateAttestation {
  /** Absent = `attestation`. */
  readonly role?: CandidateRole;
  /** The statement's subjects with a sha256 digest; absent = none. The chain reads them as an evidence step's products. */
  readonly subjects?: readonly CandidateSubject[];
  readonly predicateType: string;
  readonly predicate: unknown;
  readonly signer: { readonly name: string; readonly keyId: string };
  readonly loggedAt: string;
  readonly logIndex: number;
  /** The bundle digest. */
  readonly digest: string;
  readonly status: AttestationStatus;
  readonly reason?: string;
}

export interface PolicyInput {
  readonly attestations: readonly CandidateAttestation[];
  readonly version: {
    readonly digest: string;
    readonly number: number;
    readonly files: readonly { path: string; size: number; digest: string }[];
    readonly size: number;
    readonly environments: readonly string[];
    readonly registeredAt: string;
    readonly registeredBy: string;
  };
  readonly model: { readonly namespace: string; readonly name: string };
  readonly provenance: Readonly<Record<string, unknown>> | null;
  readonly principal: { readonly name: string; readonly kind: string; readonly claims: Readonly<Record<string, unknown>> | null };
  readonly environment: string;
  /** RFC 3339; gates see it as a CEL timestamp. */
  readonly now: string;
}

export const MAX_INPUT_ATTESTATIONS = 1_000;
export const MAX_PREDICATE_BYTES = 64 * 1024;
export const MAX_INPUT_BYTES = 4 * 1024 * 1024;

/** The statements one requirement contributes to the CEL input: its valid attestations. */
export interface RequirementList {
  readonly name: string;
  readonly attestations: readonly CandidateAttestation[];
}

export type CelInput =
  | { readonly ok: true; readonly text: string; readonly digest: string }
  | { readonly ok: false; readonly problem: string; readonly digest: string };

/**
 * Builds the canonical CEL input: each requirement name → `[{predicateType, predicate, signer:
 * {name, keyId}, loggedAt}]`, plus `version`, `model`, `provenance` (`{}` when there is none),
 * `principal` (claims `{}` when there are none), `environment` and `now`.
 */
export function buildCelInput(input: PolicyInput, lists: readonly RequirementList[]): CelInput {
  if (input.attestations.length > MAX_INPUT_ATTESTATIONS) {
    return failed(`${input.attestations.length} candidate attestations is more than the limit of ${MAX_INPUT_ATTESTATIONS}`);
  }
  if (Number.isNaN(Date.parse(input.now))) return failed('`now` is not an instant');
  const value: Record<string, unknown> = {};
  try {
    for (const list of lists) {
      value[list.name] = list.attestations.map((a) => {
        // JSON.stringify is as long as the JCS form (same escapes, only key order differs) and native;
        // a predicate that is not JSON fails the canonicalisation of the whole input below.
        const predicateBytes = Buffer.byteLength(JSON.stringify(a.predicate) ?? '', 'utf8');
        if (predicateBytes > MAX_PREDICATE_BYTES) {
          throw new InputBoundError(`the predicate of attestation ${a.digest} is ${predicateBytes} bytes, more than the limit of ${MAX_PREDICATE_BYTES}`);
        }
        return { predicateType: a.predicateType, predicate: a.predicate, signer: { name: a.signer.name, keyId: a.signer.keyId }, loggedAt: a.loggedAt };
      });
    }
    const v = input.version;
    value['version'] = {
      digest: v.digest,
      number: v.number,
      files: v.files.map((f) => ({ path: f.path, size: f.size, digest: f.digest })),
      size: v.size,
      environments: [...v.environments],
      registeredAt: v.registeredAt,
      registeredBy: v.registeredBy,
    };
    value['model'] = { namespace: input.model.namespace, name: input.model.name };
    value['provenance'] = input.provenance ?? {};
    value['principal'] = { name: input.principal.name, kind: input.principal.kind, claims: input.principal.claims ?? {} };
    value['environment'] = input.environment;
    value['now'] = input.now;
    const text = canonicalJson(value);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > MAX_INPUT_BYTES) return failed(`the policy input is ${bytes} bytes, more than the limit of ${MAX_INPUT_BYTES}`);
    return { ok: true, text, digest: `sha256:${sha256Hex(text)}` };
  } catch (error) {
    if (error instanceof InputBoundError) return failed(error.message);
    return failed(`the policy input is not JSON: ${error instanceof Error ? error.message : 'unknown value'}`);
  }
}

class InputBoundError extends Error {}

/** An input that cannot be hashed as given still gets a stable digest: that of its problem. */
function failed(problem: string): CelInput {
  return { ok: false, problem, digest: `sha256:${sha256Hex(canonicalJson({ invalidPolicyInput: problem }))}` };
}
