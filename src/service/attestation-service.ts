/**
 * Attestations after entry (SPEC §2, §4.2, §4.4): `attestations add` verifies a bundle with the
 * same rules as entry (`attestation-intake.ts`), stores it whole, and logs it by digest with its
 * signer in the same transaction; resubmitting the same signed statement is idempotent; every
 * refusal is logged as `attestation.rejected`. `list` re-judges each stored attestation against
 * the key records as they are now (a later revocation can invalidate it).
 *
 * Pipeline evidence (§4.2, §6.3) is added the same way with `role: 'evidence'`: verified alike but
 * about a step's products, so it is listed (with its role) yet never read as a fact about the
 * version — the verified metadata table and lineage see only provenance and attestations.
 */
import type { Statement } from '../crypto/in-toto-statement.js';
import { openAttestation } from '../crypto/attestation.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { CustodyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { sha256Hex } from '../domain/digest.js';
import type { LogEvent } from '../domain/log-event.js';
import type { ModelName, VersionSelector } from '../domain/model-ref.js';
import type { AttestationRecord, AttestationRole, MetadataReader, MetadataStore, SignerKeyRecord, VersionRecord } from '../store/metadata-store.js';
import { attestationStatus, checkAttestation, MAX_BUNDLE_BYTES, type AcceptedAttestation, type AttestationStatus } from './attestation-intake.js';
import type { Actor } from './auth-service.js';
import { eventActor } from './event-actor.js';
import { BoundedMemo } from './bounded-memo.js';
import type { RegistryService } from './registry-service.js';
import { verifiedMetadata, type VerifiedMetadata } from './verified-metadata.js';
import type { Receipt, TransparencyLog } from './transparency-log.js';

/** Refusals caused by the submitted bundle: each is logged as `attestation.rejected`. */
export const ATTESTATION_REJECTION_CODES: ReadonlySet<string> = new Set([
  'INVALID_BUNDLE',
  'INVALID_STATEMENT',
  'UNSUPPORTED_ALGORITHM',
  'MULTIPLE_SIGNATURES',
  'SIGNATURE_INVALID',
  'UNKNOWN_SIGNER',
  'KEY_PREDICATE_NOT_ALLOWED',
  'KEY_NAMESPACE_NOT_ALLOWED',
  'KEY_REVOKED',
  'KEY_EXPIRED',
  'KEY_NOT_YET_VALID',
  'SUBJECT_MISMATCH',
  'ATTESTATION_REPLAYED',
  'PREDICATE_TYPE_MISMATCH',
  'BODY_TOO_LARGE',
]);

/** How `add` attaches a statement: an attestation about the version, or pipeline evidence. */
export type AddedRole = Extract<AttestationRole, 'attestation' | 'evidence'>;

export interface AddAttestationResult {
  /** The stored attestation (the earlier one on resubmission), judged against its key now. */
  readonly attestation: AttestationView;
  /** False when the same signed statement was already stored: the stored one is returned. */
  readonly created: boolean;
  readonly receipt: Receipt | null;
}

/** A stored attestation with its decoded statement and its standing now. */
export interface AttestationView {
  readonly record: AttestationRecord;
  readonly statement: Statement;
  readonly status: AttestationStatus;
  readonly key: SignerKeyRecord | undefined;
}

/** The `attestation.added` event: the bundle by digest with its signer, never whole (§4.4). */
export function attestationAddedEvent(actor: Actor, version: VersionRecord, accepted: AcceptedAttestation, role: AttestationRole, now: string): LogEvent {
  return {
    v: 1,
    type: 'attestation.added',
    time: now,
    actor: eventActor(actor),
    model: `${version.namespace}/${version.name}`,
    version: version.digest,
    number: version.number,
    role,
    predicateType: accepted.opened.statement.predicateType,
    bundleDigest: `sha256:${accepted.opened.bundleDigest}`,
    paeDigest: `sha256:${accepted.opened.paeDigest}`,
    keyId: accepted.key.keyId,
    key: accepted.key.name,
  };
}

/** The record stored for an accepted attestation whose event sits at `logIndex`. */
export function toAttestationRecord(actor: Actor, version: VersionRecord, accepted: AcceptedAttestation, role: AttestationRole, now: string, logIndex: number): AttestationRecord {
  return {
    id: newId(),
    versionId: version.id,
    versionDigest: version.digest,
    bundleDigest: accepted.opened.bundleDigest,
    paeDigest: accepted.opened.paeDigest,
    keyId: accepted.key.keyId,
    keyName: accepted.key.name,
    predicateType: accepted.opened.statement.predicateType,
    role,
    bundle: accepted.bundle,
    loggedAt: now,
    logIndex,
    addedBy: actor.principal.name,
  };
}

const STATEMENTS = new BoundedMemo<Statement>(10_000);

/** Decodes a stored bundle's statement (it was verified on ingest; INTERNAL if it no longer parses). */
export function storedStatement(record: AttestationRecord): Statement {
  try {
    // Parsed once per distinct content: every listing, metadata table and decision reads these.
    return STATEMENTS.getOrSet(sha256Hex(record.bundle), () => openAttestation(Buffer.from(record.bundle, 'utf8'), { maxBytes: MAX_BUNDLE_BYTES }).statement);
  } catch (error) {
    throw new CustodyError('INTERNAL', 'a stored attestation no longer parses', { cause: error, details: { attestation: record.id } });
  }
}

/** A version's stored attestations judged against their keys now, read through `reader` (a transaction when deciding). */
export async function attestationViews(reader: MetadataReader, version: VersionRecord): Promise<AttestationView[]> {
  const records = await reader.listAttestations(version.id);
  const keys = await reader.listSignerKeys();
  const byId = new Map(keys.map((k) => [k.keyId, k]));
  return records.map((record) => {
    const key = byId.get(record.keyId);
    return { record, statement: storedStatement(record), status: attestationStatus(record.loggedAt, key), key };
  });
}

export class AttestationService {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
    private readonly registry: RegistryService,
  ) {}

  /** Verifies, stores and logs one bundle for a version; `role: 'evidence'` attaches pipeline evidence. */
  async add(actor: Actor, model: ModelName, selector: VersionSelector, bundle: string, options: { readonly role?: AddedRole } = {}): Promise<AddAttestationResult> {
    const role = options.role ?? 'attestation';
    const { version, files } = await this.registry.getVersion(model, selector);
    try {
      const { record, key, created, receipt } = await this.store.transaction(async (tx) => {
        const now = isoNow(this.clock);
        const subject = { namespace: version.namespace, versionDigest: version.digest, files, singleFile: version.singleFile };
        const accepted = await checkAttestation(tx, bundle, subject, now, { evidence: role === 'evidence' });
        // The same signed statement twice for one version (in either role) is the stored one.
        const existing = await tx.findAttestation(version.id, accepted.opened.paeDigest, accepted.key.keyId);
        if (existing !== undefined) return { record: existing, key: accepted.key, created: false, receipt: null };
        const [receipt] = await this.log.append(tx, [attestationAddedEvent(actor, version, accepted, role, now)]);
        if (receipt === undefined) throw new CustodyError('INTERNAL', 'the log returned no receipt');
        const attestation = toAttestationRecord(actor, version, accepted, role, now, receipt.logIndex);
        await tx.insertAttestation(attestation);
        return { record: attestation, key: accepted.key, created: true, receipt };
      });
      const view: AttestationView = { record, statement: storedStatement(record), status: attestationStatus(record.loggedAt, key), key };
      return { attestation: view, created, receipt };
    } catch (error) {
      if (error instanceof CustodyError && ATTESTATION_REJECTION_CODES.has(error.code)) {
        await this.log.appendAlone([
          {
            v: 1,
            type: 'attestation.rejected',
            time: isoNow(this.clock),
            actor: eventActor(actor),
            model: `${version.namespace}/${version.name}`,
            version: version.digest,
            code: error.code,
            reason: error.message.slice(0, 500),
            bundleDigest: `sha256:${sha256Hex(Buffer.from(bundle, 'utf8'))}`,
          },
        ]);
      }
      throw error;
    }
  }

  /** A version's attestations in log order, evidence included, each judged against the key records now. */
  async list(model: ModelName, selector: VersionSelector): Promise<{ version: VersionRecord; attestations: AttestationView[] }> {
    const { version } = await this.registry.getVersion(model, selector);
    return { version, attestations: await attestationViews(this.store, version) };
  }

  /** The verified metadata table of a version (SPEC §4.2). */
  async metadata(model: ModelName, selector: VersionSelector): Promise<{ version: VersionRecord; metadata: VerifiedMetadata }> {
    const { version } = await this.registry.getVersion(model, selector);
    return { version, metadata: verifiedMetadata(version, await this.viewsOf(version)) };
  }

  /**
   * The views of what a version's attestations say about the version itself (shared by the
   * metadata table and lineage): pipeline evidence is left out, it is about a step's products.
   */
  async viewsOf(version: VersionRecord): Promise<AttestationView[]> {
    return (await attestationViews(this.store, version)).filter((view) => view.record.role !== 'evidence');
  }
}
