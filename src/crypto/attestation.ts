/**
 * Registry attestations (SPEC §4.2): a Sigstore bundle v0.3 holding a DSSE envelope with exactly
 * one signature, by a registered key, over an in-toto Statement v1. This is what the registry
 * runs on ingest — open (parse everything, no key yet), look the signer up by the hints, then
 * verify — and what the CLI runs to create one.
 *
 * The statement is parsed from exactly the payload bytes whose PAE is verified, and the digests
 * logged for an attestation (SPEC §4.4) are taken from the bytes as received.
 */
import { CustodyError } from '../domain/errors.js';
import { sha256Hex } from '../domain/digest.js';
import { IN_TOTO_PAYLOAD_TYPE, pae, signEnvelope, verifyEnvelopeSignature } from './dsse.js';
import { parseStatement, serializeStatement, type Statement, type StatementSubject } from './in-toto-statement.js';
import { keyHints, type PrivateKeyInfo, type PublicKeyInfo } from './signing-keys.js';
import { parseBundle, publicKeyBundle, type ParsedBundle } from './sigstore-bundle.js';

export interface OpenedAttestation {
  readonly bundle: ParsedBundle;
  readonly statement: Statement;
  /** The exact bytes the statement was parsed from (and whose signature is verified). */
  readonly payload: Buffer;
  /** Lowercase hex SHA-256 of the bundle bytes exactly as received. */
  readonly bundleDigest: string;
  /** Lowercase hex SHA-256 of PAE(payloadType, payload). */
  readonly paeDigest: string;
  /** Non-empty key hints found: publicKey.hint, then signatures[0].keyid (deduplicated). */
  readonly hints: readonly string[];
}

/**
 * Parses an attestation bundle without a key: parseBundle, exactly one DSSE signature (else
 * MULTIPLE_SIGNATURES), payloadType `application/vnd.in-toto+json` (else INVALID_BUNDLE),
 * publicKey material (certificate or keyless material → UNSUPPORTED_ALGORITHM: registry
 * attestations are signed by registered keys), then parseStatement on the payload bytes.
 */
export function openAttestation(bytes: Uint8Array, options: { maxBytes?: number } = {}): OpenedAttestation {
  const bundle = parseBundle(bytes, options);
  const { envelope, material } = bundle;
  const signature = envelope.signatures[0];
  if (signature === undefined || envelope.signatures.length !== 1) {
    throw new CustodyError('MULTIPLE_SIGNATURES', `an attestation must carry exactly one DSSE signature, this one has ${envelope.signatures.length}`, {
      details: { signatures: envelope.signatures.length },
    });
  }
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw new CustodyError('INVALID_BUNDLE', `the DSSE payloadType must be ${IN_TOTO_PAYLOAD_TYPE}`, {
      details: { field: 'dsseEnvelope.payloadType', payloadType: envelope.payloadType.slice(0, 100) },
    });
  }
  if (material.kind !== 'publicKey') {
    throw new CustodyError(
      'UNSUPPORTED_ALGORITHM',
      `registry attestations are signed by registered keys: ${material.kind} (keyless or certificate) verification material is not accepted`,
      { details: { verificationMaterial: material.kind } },
    );
  }
  const statement = parseStatement(envelope.payload);
  const hints = [...new Set([material.hint, signature.keyid].filter((hint) => hint !== ''))];
  return Object.freeze({
    bundle,
    statement,
    payload: envelope.payload,
    bundleDigest: sha256Hex(bytes),
    paeDigest: sha256Hex(pae(envelope.payloadType, envelope.payload)),
    hints: Object.freeze(hints),
  });
}

/**
 * Throws SIGNATURE_INVALID unless the one signature verifies over the PAE with `key`. A bundle
 * that names a key (publicKey.hint, or a non-empty envelope keyid) must name this one under one
 * of keyHints(key); a hint for another key is SIGNATURE_INVALID too, with a message saying so.
 */
export function verifyAttestationSignature(opened: OpenedAttestation, key: PublicKeyInfo): void {
  const accepted = keyHints(key);
  const foreign = opened.hints.find((hint) => !accepted.includes(hint));
  if (foreign !== undefined) {
    throw new CustodyError('SIGNATURE_INVALID', `the bundle names another signer key (hint ${JSON.stringify(foreign.slice(0, 100))}) than key ${key.keyId}`, {
      details: { keyId: key.keyId, hint: foreign.slice(0, 100) },
    });
  }
  if (opened.bundle.envelope.signatures.length !== 1 || !verifyEnvelopeSignature(opened.bundle.envelope, key, 0)) {
    throw new CustodyError('SIGNATURE_INVALID', `the DSSE signature does not verify with key ${key.keyId}`, { details: { keyId: key.keyId } });
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Builds a signed Sigstore bundle v0.3 (publicKey.hint = key id, tlogEntries [], keyid ''): the
 * bundle JSON text (2-space indented, trailing newline) and the statement as signed. The
 * serialised statement is parsed back strictly before signing, so Custody never signs a
 * statement it would refuse on ingest.
 * @throws CustodyError INVALID_STATEMENT for a bad subject, predicate type or predicate.
 */
export function createAttestation(options: {
  subjects: readonly StatementSubject[];
  predicateType: string;
  predicate: unknown;
  privateKey: PrivateKeyInfo;
}): { bundleJson: string; statement: Statement } {
  const { subjects, predicateType, predicate, privateKey } = options;
  if (!isRecord(predicate)) throw new CustodyError('INVALID_STATEMENT', 'in-toto statement: predicate must be an object', { details: { field: 'predicate' } });
  const payload = serializeStatement({ subject: subjects, predicateType, predicate });
  const statement = parseStatement(payload);
  const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, payload, privateKey, '');
  const bundle = publicKeyBundle(envelope, privateKey.publicKey.keyId);
  return { bundleJson: `${JSON.stringify(bundle, null, 2)}\n`, statement };
}
