/**
 * The one set of rules every attestation meets before the registry accepts it (SPEC §4.2, §6.1):
 * one signature that verifies with a registered key named by the bundle; the key active, inside
 * its validity window, allowed for the statement's predicate type and the version's namespace;
 * and the statement about this version — its subject digest is the version digest, or, for an
 * OMS model signature, its full resources list equals the version's files (never the root
 * alone). Each failure has its own code. `attestationStatus` judges a stored attestation later,
 * when a key may have been revoked since.
 *
 * Pipeline evidence (§4.2 "Exception — pipeline evidence"): a statement attached as evidence is
 * checked the same way except that its subjects are a pipeline step's products, not the version;
 * only in-toto link v0.3 and SLSA provenance v1 statements may be evidence (else
 * PREDICATE_TYPE_MISMATCH), and one statement may be evidence for several versions.
 */
import { openAttestation, verifyAttestationSignature, type OpenedAttestation } from '../crypto/attestation.js';
import { subjectSha256s } from '../crypto/in-toto-statement.js';
import { parsePublicKey } from '../crypto/signing-keys.js';
import { parseDigest } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import type { ManifestFile } from '../domain/manifest.js';
import { compareOmsResources, OMS_PREDICATE_TYPE, parseOmsStatement } from '../oms/oms-statement.js';
import { EVIDENCE_PREDICATE_TYPES } from '../policy/index.js';
import type { MetadataReader, SignerKeyRecord } from '../store/metadata-store.js';

/** The version an attestation must be about. */
export interface AttestationSubject {
  readonly namespace: string;
  /** `sha256:<hex>` manifest digest. */
  readonly versionDigest: string;
  readonly files: readonly ManifestFile[];
  readonly singleFile: boolean;
}

export interface AcceptedAttestation {
  readonly opened: OpenedAttestation;
  readonly key: SignerKeyRecord;
  /** The bundle text exactly as received. */
  readonly bundle: string;
}

/** Largest bundle accepted (a DSSE envelope of an in-toto statement is small). */
export const MAX_BUNDLE_BYTES = 512 * 1024;

/** Where a signer key stands at `instant`: the first reason it may not sign then, or null. */
export function keyRefusal(key: SignerKeyRecord, instant: string): { code: 'KEY_REVOKED' | 'KEY_NOT_YET_VALID' | 'KEY_EXPIRED'; message: string } | null {
  if (key.revocation !== null) return { code: 'KEY_REVOKED', message: `key ${key.name} was revoked at ${key.revocation.revokedAt}: ${key.revocation.reason}` };
  if (key.notBefore !== null && instant < key.notBefore) return { code: 'KEY_NOT_YET_VALID', message: `key ${key.name} is valid only from ${key.notBefore}` };
  if (key.notAfter !== null && instant > key.notAfter) return { code: 'KEY_EXPIRED', message: `key ${key.name} expired at ${key.notAfter}` };
  return null;
}

/** The registered key a bundle names (by key id or OMS hint), or UNKNOWN_SIGNER. */
async function signerOf(reader: MetadataReader, opened: OpenedAttestation): Promise<SignerKeyRecord> {
  for (const hint of opened.hints) {
    const key = await reader.findSignerKeyByHint(hint);
    if (key !== undefined) return key;
  }
  throw new CustodyError('UNKNOWN_SIGNER', opened.hints.length === 0 ? 'the bundle names no signer key (publicKey.hint)' : 'the bundle is signed by a key this registry does not know', {
    details: { hints: opened.hints.slice(0, 3).map((h) => h.slice(0, 100)) },
  });
}

/** True when the statement is about exactly this version. */
function isAbout(opened: OpenedAttestation, subject: AttestationSubject): boolean {
  if (opened.statement.predicateType === OMS_PREDICATE_TYPE) {
    const oms = parseOmsStatement(opened.payload);
    const comparison = compareOmsResources(oms.resources, subject.files, { singleFile: subject.singleFile });
    return comparison.missing.length === 0 && comparison.extra.length === 0 && comparison.changed.length === 0;
  }
  return subjectSha256s(opened.statement).includes(parseDigest(subject.versionDigest).hex);
}

/**
 * Checks a bundle against the registry's keys as of `now`; reads through `reader` (pass the
 * transaction that will store it, so the key state cannot change in between). With
 * `evidence: true` the statement is pipeline evidence: its predicate type must be one of
 * EVIDENCE_PREDICATE_TYPES and its subjects are not compared with the version.
 */
export async function checkAttestation(
  reader: MetadataReader,
  bundle: string,
  subject: AttestationSubject,
  now: string,
  options: { readonly evidence?: boolean } = {},
): Promise<AcceptedAttestation> {
  const bytes = Buffer.from(bundle, 'utf8');
  if (bytes.length > MAX_BUNDLE_BYTES) throw new CustodyError('BODY_TOO_LARGE', `an attestation bundle may have at most ${MAX_BUNDLE_BYTES} bytes`);
  const opened = openAttestation(bytes, { maxBytes: MAX_BUNDLE_BYTES });
  const key = await signerOf(reader, opened);
  verifyAttestationSignature(opened, parsePublicKey(key.publicKeyPem));
  const evidence = options.evidence === true;
  if (evidence && !EVIDENCE_PREDICATE_TYPES.includes(opened.statement.predicateType)) {
    throw new CustodyError(
      'PREDICATE_TYPE_MISMATCH',
      `pipeline evidence must be a ${EVIDENCE_PREDICATE_TYPES.join(' or ')} statement, not ${opened.statement.predicateType.slice(0, 200)}`,
      { details: { predicateType: opened.statement.predicateType.slice(0, 200), allowed: EVIDENCE_PREDICATE_TYPES } },
    );
  }
  const refusal = keyRefusal(key, now);
  if (refusal !== null) throw new CustodyError(refusal.code, refusal.message, { details: { key: key.name } });
  const predicateType = opened.statement.predicateType;
  if (!key.predicateTypes.includes(predicateType)) {
    throw new CustodyError('KEY_PREDICATE_NOT_ALLOWED', `key ${key.name} may not sign ${predicateType.slice(0, 200)}`, { details: { key: key.name, predicateType: predicateType.slice(0, 200) } });
  }
  if (key.namespaces !== null && !key.namespaces.includes(subject.namespace)) {
    throw new CustodyError('KEY_NAMESPACE_NOT_ALLOWED', `key ${key.name} may not sign for namespace ${subject.namespace}`, { details: { key: key.name, namespace: subject.namespace } });
  }
  // Evidence names a pipeline step's products; the same statement may back several versions.
  if (!evidence && !isAbout(opened, subject)) {
    const elsewhere = await reader.findAttestationByPaeDigest(opened.paeDigest);
    if (elsewhere !== undefined && elsewhere.role !== 'evidence' && elsewhere.versionDigest !== subject.versionDigest) {
      throw new CustodyError('ATTESTATION_REPLAYED', `this signed statement belongs to another version (${elsewhere.versionDigest})`, { details: { versionDigest: elsewhere.versionDigest } });
    }
    throw new CustodyError('SUBJECT_MISMATCH', `the statement is not about ${subject.versionDigest}`, { details: { versionDigest: subject.versionDigest } });
  }
  return { opened, key, bundle };
}

export type AttestationStatus =
  | { readonly valid: true }
  | { readonly valid: false; readonly code: 'KEY_REVOKED' | 'UNKNOWN_SIGNER'; readonly message: string };

/**
 * A stored attestation's standing now (SPEC §4.2): invalid when its key was revoked with an
 * invalid-from instant (`compromisedSince`, else the revocation) at or before it was logged.
 */
export function attestationStatus(loggedAt: string, key: SignerKeyRecord | undefined): AttestationStatus {
  if (key === undefined) return { valid: false, code: 'UNKNOWN_SIGNER', message: 'the signing key is no longer registered' };
  const revocation = key.revocation;
  if (revocation === null) return { valid: true };
  const invalidFrom = revocation.compromisedSince ?? revocation.revokedAt;
  if (invalidFrom <= loggedAt) {
    return { valid: false, code: 'KEY_REVOKED', message: `key ${key.name} was revoked (${revocation.reason}); invalid for attestations logged from ${invalidFrom}` };
  }
  return { valid: true };
}
