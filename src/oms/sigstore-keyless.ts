/**
 * OMS `sigstore` method: a Fulcio certificate + Rekor entry (+ RFC 3161 timestamp) bundle,
 * verified offline with `@sigstore/verify` against a given `trusted_root.json` and the policy
 * "certificate SAN = identity, OIDC issuer extension = issuer". The library checks the
 * certificate chain to the Fulcio CA at the logged/timestamped time, the SCT, the tlog inclusion
 * and body, and the DSSE signature (Fulcio keys are P-256, so its SHA-256-only ECDSA check is
 * right here, unlike for P-384 key bundles, reference/oms.md §6.1).
 * Spec: ../../shared/reference/oms.md §3 (sigstore row), §6.2.
 */
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { PolicyError, toSignedEntity, toTrustMaterial, VerificationError, Verifier, type TrustMaterial } from '@sigstore/verify';
import { CustodyError } from '../domain/errors.js';

export interface KeylessPolicy {
  /** Exact certificate SubjectAlternativeName (an email or a workflow URI). */
  readonly identity: string;
  /** Exact OIDC issuer recorded in the Fulcio certificate extension. */
  readonly issuer: string;
}

/** The signer as the certificate names it, after the policy matched. */
export interface KeylessSigner {
  readonly identity: string;
  readonly issuer: string;
}

const MAX_TRUSTED_ROOT_BYTES = 4 * 1024 * 1024;

function failure(stage: 'bundle' | 'material' | 'signature', message: string, cause: unknown): CustodyError {
  return new CustodyError('VERIFICATION_FAILED', `${stage}: ${message}`, { cause, details: { stage } });
}

/**
 * Builds trust material from a `trusted_root.json` text (Sigstore TrustedRoot, protobuf JSON).
 * @throws CustodyError VALIDATION_FAILED when it is not a usable trusted root.
 */
export function loadTrustedRoot(trustedRootJson: string): TrustMaterial {
  const invalid = (reason: string, cause?: unknown): CustodyError =>
    new CustodyError('VALIDATION_FAILED', `the trusted root is not valid: ${reason}`, cause === undefined ? {} : { cause });
  if (trustedRootJson.length > MAX_TRUSTED_ROOT_BYTES) throw invalid(`larger than ${MAX_TRUSTED_ROOT_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(trustedRootJson);
  } catch (error) {
    throw invalid('not JSON', error);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw invalid('not a JSON object');
  const fields = json as Record<string, unknown>;
  if (!Array.isArray(fields.certificateAuthorities) || !Array.isArray(fields.tlogs)) {
    throw invalid('it needs "certificateAuthorities" and "tlogs" arrays');
  }
  try {
    return toTrustMaterial(TrustedRoot.fromJSON(json));
  } catch (error) {
    throw invalid(error instanceof Error ? error.message : String(error), error);
  }
}

/**
 * Verifies a keyless bundle (already JSON-parsed) offline.
 * @throws CustodyError VERIFICATION_FAILED with details.stage `bundle` (not a Sigstore bundle),
 *   `material` (certificate, tlog, timestamp or identity/issuer policy) or `signature`.
 */
export function verifySigstoreKeyless(bundleJson: unknown, trust: TrustMaterial, policy: KeylessPolicy): KeylessSigner {
  let bundle: Bundle;
  try {
    bundle = bundleFromJSON(bundleJson);
  } catch (error) {
    const fields = typeof error === 'object' && error !== null && Array.isArray((error as { fields?: unknown }).fields) ? (error as { fields: unknown[] }).fields : [];
    const detail = fields.length > 0 ? ` (${fields.map(String).join(', ')})` : '';
    throw failure('bundle', `not a valid Sigstore bundle${detail}`, error);
  }
  try {
    const entity = toSignedEntity(bundle);
    const signer = new Verifier(trust).verify(entity, { subjectAlternativeName: policy.identity, extensions: { issuer: policy.issuer } });
    return {
      identity: signer.identity?.subjectAlternativeName ?? policy.identity,
      issuer: signer.identity?.extensions?.issuer ?? policy.issuer,
    };
  } catch (error) {
    if (error instanceof PolicyError) throw failure('material', `signer does not match: ${error.message}`, error);
    if (error instanceof VerificationError) {
      const stage = error.code === 'SIGNATURE_ERROR' ? 'signature' : 'material';
      throw failure(stage, `${error.message} (${error.code})`, error);
    }
    throw failure('material', `the Sigstore bundle could not be verified: ${error instanceof Error ? error.message : String(error)}`, error);
  }
}
