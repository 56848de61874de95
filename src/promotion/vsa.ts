/**
 * SLSA Verification Summary Attestations (SPEC §2, §4.2; https://slsa.dev/spec/v1.0/verification_summary,
 * reference/attestations.md §3): what the registry issues for each allowed promotion, and the
 * check a deployer runs on it with the pinned VSA key.
 *
 * The statement's subject is the model with its version digest (the manifest digest, SPEC §4.1).
 * The predicate carries the VSA v1 fields — `verifier.id`, `timeVerified`, `resourceUri`
 * (`custody:<ns>/<name>@sha256:<hex>`), `policy {uri, digest}` (the effective policy digest),
 * `inputAttestations` (by bundle digest), `verificationResult: PASSED`, `verifiedLevels`,
 * `slsaVersion` — and, for what SLSA has no field for, one extension field named by a URI (the
 * VSA parsing rules: "producers MAY add extension fields using field names that are URIs"):
 * `VSA_PROMOTION_FIELD: {environment, decisionId}`.
 *
 * `verifiedLevels` is `["CUSTODY_POLICY_PASSED"]`: the environment's effective policy (baseline ∪
 * active policy) passed. Custody claims no SLSA_BUILD_LEVEL_n: a promotion policy checks signed
 * attestations, not the hardening of the build platform, so a SLSA level would overclaim; the
 * spec allows custom values that do not start with `SLSA_`.
 */
import { KeyObject } from 'node:crypto';
import { createAttestation, openAttestation, verifyAttestationSignature, type OpenedAttestation } from '../crypto/attestation.js';
import { parseStatement, serializeStatement, type Statement } from '../crypto/in-toto-statement.js';
import { parsePublicKey, publicKeyInfoFromKeyObject, type PublicKeyInfo } from '../crypto/signing-keys.js';
import { isSha256Hex, parseDigest } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import { isValidName } from '../domain/model-ref.js';
import { CUSTODY_VERSION } from '../version.js';
import type { VsaKey } from './vsa-key.js';

export const VSA_PREDICATE_TYPE = 'https://slsa.dev/verification_summary/v1';
/** The extension field (a URI, as VSA v1 requires) holding the environment and the decision id. */
export const VSA_PROMOTION_FIELD = 'https://custody.dev/verification_summary/promotion/v1';
/** The one verified level Custody states (a custom SlsaResult: it must not start with `SLSA_`). */
export const VSA_VERIFIED_LEVEL = 'CUSTODY_POLICY_PASSED';
/** Largest VSA bundle `verifyVsa` reads (SPEC §3.1 `limits.maxJsonBytes` default). */
export const MAX_VSA_BYTES = 1024 * 1024;

export interface VsaFacts {
  /** URI of the verifier, e.g. `${publicUrl}/custody` or 'https://custody.local/custody'. */
  readonly verifierId: string;
  /** RFC 3339. */
  readonly timeVerified: string;
  readonly model: { namespace: string; name: string };
  /** sha256:<hex>, the manifest digest. */
  readonly versionDigest: string;
  readonly environment: string;
  /** `digest`: sha256:<hex> of the effective policy. */
  readonly policy: { readonly uri: string; readonly digest: string };
  /** Every attestation the decision read; `digest`: sha256:<hex> of the bundle. Kept in the order given. */
  readonly inputAttestations: readonly { readonly uri: string; readonly digest: string }[];
  readonly decisionId: string;
}

export interface VerifiedVsa {
  readonly statement: Statement;
  readonly facts: { versionDigest: string; environment: string; policyDigest: string; timeVerified: string; resourceUri: string };
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\p{Cc}]+$/u;
const RESOURCE_URI = /^custody:([^/@]+)\/([^/@]+)@sha256:([0-9a-f]{64})$/;
const MAX_TEXT = 2048;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isUri(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > MAX_TEXT || !ABSOLUTE_URI.test(value)) return false;
  return URL.canParse(value);
}

function isRfc3339(value: unknown): value is string {
  return typeof value === 'string' && RFC3339.test(value) && !Number.isNaN(Date.parse(value));
}

/** Text a decision id or environment may be: non-empty, bounded, no whitespace or control characters. */
function isToken(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 256 && /^[^\s\p{Cc}]+$/u.test(value);
}

function badFact(field: string, problem: string): CustodyError {
  return new CustodyError('INVALID_STATEMENT', `VSA fact ${field} ${problem}`, { details: { field } });
}

function factDigest(value: unknown, field: string): string {
  if (typeof value !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(value)) throw badFact(field, 'must be sha256:<64 lowercase hex digits>');
  return value.slice('sha256:'.length);
}

function factUri(value: unknown, field: string): string {
  if (!isUri(value)) throw badFact(field, 'must be an absolute URI');
  return value;
}

/**
 * The in-toto Statement v1 of a VSA (subject `<ns>/<name>` with the version digest; predicate as
 * the module header describes). Every fact is checked first.
 * @throws CustodyError INVALID_STATEMENT naming the fact that is malformed.
 */
export function buildVsaStatement(facts: VsaFacts): Statement {
  const { namespace, name } = facts.model;
  if (!isValidName(namespace)) throw badFact('model.namespace', 'must match [a-z0-9][a-z0-9._-]{0,127}');
  if (!isValidName(name)) throw badFact('model.name', 'must match [a-z0-9][a-z0-9._-]{0,127}');
  const versionHex = factDigest(facts.versionDigest, 'versionDigest');
  if (!isRfc3339(facts.timeVerified)) throw badFact('timeVerified', 'must be an RFC 3339 time');
  if (!isToken(facts.environment)) throw badFact('environment', 'must be a non-empty name without whitespace');
  if (!isToken(facts.decisionId)) throw badFact('decisionId', 'must be a non-empty id without whitespace');
  const predicate = {
    verifier: { id: factUri(facts.verifierId, 'verifierId'), version: { custody: CUSTODY_VERSION } },
    timeVerified: facts.timeVerified,
    resourceUri: `custody:${namespace}/${name}@sha256:${versionHex}`,
    policy: { uri: factUri(facts.policy.uri, 'policy.uri'), digest: { sha256: factDigest(facts.policy.digest, 'policy.digest') } },
    inputAttestations: facts.inputAttestations.map((input, i) => ({
      uri: factUri(input.uri, `inputAttestations[${i}].uri`),
      digest: { sha256: factDigest(input.digest, `inputAttestations[${i}].digest`) },
    })),
    verificationResult: 'PASSED',
    verifiedLevels: [VSA_VERIFIED_LEVEL],
    slsaVersion: '1.0',
    [VSA_PROMOTION_FIELD]: { environment: facts.environment, decisionId: facts.decisionId },
  };
  const subject = [{ name: `${namespace}/${name}`, digest: { sha256: versionHex } }];
  // Parsed back from its own bytes: the statement returned is exactly what gets signed.
  return parseStatement(serializeStatement({ subject, predicateType: VSA_PREDICATE_TYPE, predicate }));
}

/**
 * Signs the VSA of `facts` with the registry VSA key: a Sigstore bundle v0.3 holding a DSSE
 * envelope (one signature, `publicKey.hint` = the key id). Returns the bundle JSON text.
 * @throws CustodyError INVALID_STATEMENT for a malformed fact.
 */
export function signVsa(facts: VsaFacts, key: VsaKey): string {
  const statement = buildVsaStatement(facts);
  return createAttestation({ subjects: statement.subject, predicateType: statement.predicateType, predicate: statement.predicate, privateKey: key.privateKey })
    .bundleJson;
}

/** The one error verifyVsa throws; `check` names the rule that failed (a stable word, for callers). */
function fail(check: string, message: string, cause?: unknown): never {
  throw new CustodyError('VERIFICATION_FAILED', message, { details: { check }, ...(cause === undefined ? {} : { cause }) });
}

/**
 * Client side: verifies a VSA bundle against the pinned VSA public key (PEM text or a parsed
 * key): at most MAX_VSA_BYTES, exactly one DSSE signature, valid with that key, predicateType
 * VSA v1, verificationResult PASSED with level CUSTODY_POLICY_PASSED, exactly one subject whose
 * sha256 is `expectedDigest`, resourceUri `custody:<ns>/<name>@<that digest>` (and the subject
 * name `<ns>/<name>` when present), environment `expectedEnvironment`, and well-formed verifier,
 * time, policy and input attestations.
 * @throws CustodyError VERIFICATION_FAILED with the precise reason (and `details.check`); hostile
 * input never makes it throw anything else.
 */
export function verifyVsa(
  bundleText: string,
  options: { publicKey: PublicKeyInfo | string; expectedDigest: string; expectedEnvironment: string },
): VerifiedVsa {
  try {
    return verifyVsaUnguarded(bundleText, options);
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'VERIFICATION_FAILED') throw error;
    // Unreachable by design; a defect reached by hostile input is still a refusal, not a crash.
    return fail('internal', 'VSA could not be verified: unexpected failure while checking it', error);
  }
}

function verifyVsaUnguarded(bundleText: unknown, options: { publicKey: PublicKeyInfo | string; expectedDigest: string; expectedEnvironment: string }): VerifiedVsa {
  const key = pinnedKey(options.publicKey);
  if (typeof options.expectedDigest !== 'string' || !/^sha256:[0-9a-f]{64}$/.test(options.expectedDigest)) {
    fail('expected', 'the expected digest must be sha256:<64 lowercase hex digits>');
  }
  const expectedHex = parseDigest(options.expectedDigest).hex;
  if (!isToken(options.expectedEnvironment)) fail('expected', 'the expected environment must be a non-empty name');
  if (typeof bundleText !== 'string') fail('bundle', 'the VSA bundle must be JSON text');
  // A UTF-16 code unit is at least one UTF-8 byte, so the cheap length check comes first.
  if (bundleText.length > MAX_VSA_BYTES || Buffer.byteLength(bundleText, 'utf8') > MAX_VSA_BYTES) {
    fail('size', `the VSA bundle is larger than ${MAX_VSA_BYTES} bytes`);
  }
  const opened = openVsa(bundleText);
  try {
    verifyAttestationSignature(opened, key);
  } catch (error) {
    fail('signature', `the VSA signature is not valid for the pinned VSA key ${key.keyId}: ${messageOf(error)}`, error);
  }
  const { statement } = opened;
  if (statement.predicateType !== VSA_PREDICATE_TYPE) {
    fail('predicate-type', `not a VSA: predicateType is ${JSON.stringify(statement.predicateType.slice(0, 200))}, expected ${VSA_PREDICATE_TYPE}`);
  }
  const subject = statement.subject[0];
  if (subject === undefined || statement.subject.length !== 1) fail('subject', `a VSA must name exactly one subject, this one names ${statement.subject.length}`);
  const subjectHex = subject.digest['sha256'];
  if (subjectHex !== expectedHex) {
    fail('digest', `the VSA is for another version: its subject is ${describeDigest(subjectHex)}, expected ${options.expectedDigest}`);
  }
  const { predicate } = statement;
  if (predicate['verificationResult'] !== 'PASSED') {
    fail('result', `the VSA's verificationResult is ${JSON.stringify(predicate['verificationResult'] ?? null).slice(0, 100)}, not "PASSED"`);
  }
  const levels = predicate['verifiedLevels'];
  if (!Array.isArray(levels) || !levels.every((level) => typeof level === 'string') || !levels.includes(VSA_VERIFIED_LEVEL) || levels.includes('FAILED')) {
    fail('levels', `the VSA's verifiedLevels must include ${VSA_VERIFIED_LEVEL} and not FAILED`);
  }
  const promotion = predicate[VSA_PROMOTION_FIELD];
  const environment = isRecord(promotion) ? promotion['environment'] : undefined;
  if (!isToken(environment)) fail('environment', `the VSA names no environment (${VSA_PROMOTION_FIELD}.environment)`);
  if (environment !== options.expectedEnvironment) {
    fail('environment', `the VSA is for environment ${JSON.stringify(environment.slice(0, 100))}, not ${JSON.stringify(options.expectedEnvironment)}`);
  }
  if (!isToken(isRecord(promotion) ? promotion['decisionId'] : undefined)) fail('promotion', `the VSA names no decision (${VSA_PROMOTION_FIELD}.decisionId)`);
  const resourceUri = checkResourceUri(predicate['resourceUri'], subjectHex, subject.name);
  const verifier = predicate['verifier'];
  if (!isRecord(verifier) || !isUri(verifier['id'])) fail('verifier', "the VSA's verifier.id must be an absolute URI");
  const timeVerified = predicate['timeVerified'];
  if (!isRfc3339(timeVerified)) fail('time', "the VSA's timeVerified must be an RFC 3339 time");
  const policyDigest = checkPolicy(predicate['policy']);
  checkInputAttestations(predicate['inputAttestations']);
  return Object.freeze({
    statement,
    facts: Object.freeze({ versionDigest: options.expectedDigest, environment, policyDigest, timeVerified, resourceUri }),
  });
}

function pinnedKey(value: unknown): PublicKeyInfo {
  if (typeof value === 'string') {
    try {
      return parsePublicKey(value);
    } catch (error) {
      return fail('key', `the pinned VSA key is not usable: ${messageOf(error)}`, error);
    }
  }
  const key = isRecord(value) ? value['key'] : undefined;
  if (!(key instanceof KeyObject)) return fail('key', 'the pinned VSA key must be PEM text or a parsed public key');
  try {
    // Derived again from the key itself, so the key id checked against the bundle's hint is this key's.
    return publicKeyInfoFromKeyObject(key);
  } catch (error) {
    return fail('key', `the pinned VSA key is not usable: ${messageOf(error)}`, error);
  }
}

function openVsa(bundleText: string): OpenedAttestation {
  try {
    return openAttestation(Buffer.from(bundleText, 'utf8'), { maxBytes: MAX_VSA_BYTES });
  } catch (error) {
    if (error instanceof CustodyError && error.code === 'MULTIPLE_SIGNATURES') {
      return fail('signatures', `the VSA bundle must carry exactly one signature: ${error.message}`, error);
    }
    return fail('bundle', `the VSA bundle is malformed: ${messageOf(error)}`, error);
  }
}

function checkResourceUri(value: unknown, subjectHex: string, subjectName: string | undefined): string {
  const match = typeof value === 'string' ? RESOURCE_URI.exec(value) : null;
  const [, namespace = '', name = '', hex = ''] = match ?? [];
  if (typeof value !== 'string' || match === null || !isValidName(namespace) || !isValidName(name)) {
    return fail('resource-uri', "the VSA's resourceUri must be custody:<namespace>/<name>@sha256:<hex>");
  }
  if (hex !== subjectHex) fail('resource-uri', `the VSA's resourceUri names sha256:${hex}, but its subject is sha256:${subjectHex}`);
  if (subjectName !== undefined && subjectName !== `${namespace}/${name}`) {
    fail('resource-uri', `the VSA's resourceUri names ${namespace}/${name}, but its subject is named ${JSON.stringify(subjectName.slice(0, 300))}`);
  }
  return value;
}

function checkPolicy(policy: unknown): string {
  const digest = isRecord(policy) ? policy['digest'] : undefined;
  const hex = isRecord(digest) ? digest['sha256'] : undefined;
  if (!isRecord(policy) || !isUri(policy['uri']) || !isSha256Hex(hex)) {
    return fail('policy', "the VSA's policy must have an absolute uri and a sha256 digest");
  }
  return `sha256:${hex}`;
}

function checkInputAttestations(inputs: unknown): void {
  if (inputs === undefined || inputs === null) return;
  if (!Array.isArray(inputs)) fail('input-attestations', "the VSA's inputAttestations must be an array");
  inputs.forEach((input: unknown, i) => {
    const digest = isRecord(input) ? input['digest'] : undefined;
    if (!isRecord(digest) || !isSha256Hex(digest['sha256'])) {
      fail('input-attestations', `the VSA's inputAttestations[${i}] must have a sha256 digest`);
    }
  });
}

function describeDigest(hex: unknown): string {
  return typeof hex === 'string' ? `sha256:${hex.slice(0, 64)}` : 'not named by a sha256 digest';
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : 'unknown error';
}
