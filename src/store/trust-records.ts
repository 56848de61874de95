/**
 * Records of the registry's trust state (SPEC §2, §4.2, §4.3): the signer keys a key admin
 * registered, the attestations accepted for each version (stored whole, exactly as received),
 * and the lineage edges that verified provenance declares. Part of the `MetadataStore` seam.
 */

/** A trusted signer key. Never deleted: a revoked key keeps judging what it signed before. */
export interface SignerKeyRecord {
  readonly name: string;
  /** Lowercase hex SHA-256 of the DER SubjectPublicKeyInfo (SPEC §4.2). */
  readonly keyId: string;
  /** Lowercase hex SHA-256 of the SPKI PEM text: the OMS `publicKey.hint` convention. */
  readonly omsHint: string;
  readonly algorithm: string;
  readonly publicKeyPem: string;
  readonly predicateTypes: readonly string[];
  /** null = every namespace. */
  readonly namespaces: readonly string[] | null;
  readonly notBefore: string | null;
  readonly notAfter: string | null;
  readonly addedAt: string;
  readonly addedBy: string;
  /** Index of the `key.added` event in the transparency log. */
  readonly addedLogIndex: number;
  readonly revocation: KeyRevocation | null;
}

export interface KeyRevocation {
  readonly revokedAt: string;
  readonly revokedBy: string;
  readonly reason: string;
  /** Attestations logged at or after this instant are invalid; null = from `revokedAt` on. */
  readonly compromisedSince: string | null;
  /** Index of the `key.revoked` event in the transparency log. */
  readonly logIndex: number;
}

/**
 * How an attestation came in: as the provenance of a push, added to a version later, or attached
 * as pipeline evidence (SPEC §4.2: about a step's products, counted only by the `chain` rules).
 */
export type AttestationRole = 'provenance' | 'attestation' | 'evidence';

export interface AttestationRecord {
  readonly id: string;
  readonly versionId: string;
  /** `sha256:<hex>` of the version the attestation is about (for evidence: attached to). */
  readonly versionDigest: string;
  /** Lowercase hex SHA-256 of the bundle bytes as received. */
  readonly bundleDigest: string;
  /** Lowercase hex SHA-256 of the DSSE PAE that was signed. */
  readonly paeDigest: string;
  readonly keyId: string;
  readonly keyName: string;
  readonly predicateType: string;
  readonly role: AttestationRole;
  /** The bundle JSON text exactly as received. */
  readonly bundle: string;
  /** When the `attestation.added` event was logged: revocation judges against this instant. */
  readonly loggedAt: string;
  readonly logIndex: number;
  readonly addedBy: string;
}

/** A parent named by a version's verified provenance (SPEC §4.3). */
export interface LineageEdge {
  readonly childVersionId: string;
  readonly childNamespace: string;
  readonly childName: string;
  readonly childDigest: string;
  readonly parentNamespace: string;
  readonly parentName: string;
  readonly parentDigest: string;
}
