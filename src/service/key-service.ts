/**
 * Trusted signer keys (SPEC §2, §4.2): a key admin registers public keys with the predicate
 * types and namespaces they may sign for and a validity window, and revokes them. Keys are never
 * deleted or edited; each change is one logged event in the same transaction. Revocation with
 * `compromisedSince` reaches back: attestations logged from that instant on become invalid.
 */
import { isoNow, type Clock } from '../domain/clock.js';
import { CustodyError } from '../domain/errors.js';
import { isValidName } from '../domain/model-ref.js';
import { parsePublicKey } from '../crypto/signing-keys.js';
import type { KeyAttestation, MetadataStore, MetadataTx, Page, SignerKeyRecord } from '../store/metadata-store.js';
import type { Actor } from './auth-service.js';
import { eventActor } from './event-actor.js';
import type { Receipt, TransparencyLog } from './transparency-log.js';
import { checkNamespaces, parseInstant, usage } from './request-fields.js';

export interface AddKeyRequest {
  readonly name: string;
  readonly publicKeyPem: string;
  readonly predicateTypes: readonly string[];
  /** Omitted or null: every namespace. */
  readonly namespaces?: readonly string[] | null;
  readonly notBefore?: string | null;
  readonly notAfter?: string | null;
}

export interface RevokeKeyRequest {
  readonly reason: string;
  /** RFC 3339; defaults to the revocation instant. */
  readonly compromisedSince?: string | null;
}

/** A key with its use: how many attestations it signed and when the newest was logged. */
export interface KeyWithUsage {
  readonly key: SignerKeyRecord;
  readonly attestationCount: number;
  /** `loggedAt` of its newest attestation, or null when it signed none. */
  readonly lastSignedAt: string | null;
}

export interface KeyChange {
  readonly key: SignerKeyRecord;
  readonly receipt: Receipt;
  /** How many (version, environment) placements a revocation quarantined. */
  readonly quarantined?: number;
}

const MAX_PREDICATE_TYPES = 64;

function isAbsoluteUri(value: string): boolean {
  try {
    return value.length <= 512 && new URL(value).protocol.length > 1;
  } catch {
    return false;
  }
}

function checkPredicateTypes(types: readonly string[]): string[] {
  if (types.length === 0 || types.length > MAX_PREDICATE_TYPES) throw usage(`a key needs 1 to ${MAX_PREDICATE_TYPES} predicate types`, 'predicateTypes');
  for (const type of types) {
    if (!isAbsoluteUri(type)) throw usage('each predicate type must be an absolute URI', 'predicateTypes');
  }
  return [...new Set(types)].sort();
}

/** Runs inside the revocation's transaction (the promotion service quarantines what depended on the key). */
export type RevocationReaction = (tx: MetadataTx, actor: Actor, key: SignerKeyRecord) => Promise<number>;

export class KeyService {
  #onRevoked: RevocationReaction | undefined;

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
  ) {}

  /** Sets what a revocation triggers in its own transaction. */
  reactToRevocation(reaction: RevocationReaction): void {
    this.#onRevoked = reaction;
  }

  async add(actor: Actor, request: AddKeyRequest): Promise<KeyChange> {
    if (!isValidName(request.name)) throw usage('a key name is 1–128 of a-z 0-9 . _ - starting with a letter or digit', 'name');
    const publicKey = parsePublicKey(request.publicKeyPem);
    const predicateTypes = checkPredicateTypes(request.predicateTypes);
    const namespaces = checkNamespaces(request.namespaces);
    const notBefore = request.notBefore == null ? null : parseInstant(request.notBefore, 'notBefore');
    const notAfter = request.notAfter == null ? null : parseInstant(request.notAfter, 'notAfter');
    if (notBefore !== null && notAfter !== null && notAfter <= notBefore) throw usage('notAfter must be later than notBefore', 'notAfter');

    return this.store.transaction(async (tx) => {
      if ((await tx.getSignerKey(request.name)) !== undefined) {
        throw new CustodyError('KEY_EXISTS', `a key named ${request.name} is already registered`, { details: { key: request.name } });
      }
      const same = await tx.findSignerKeyByHint(publicKey.keyId);
      if (same !== undefined) {
        throw new CustodyError('KEY_EXISTS', `this public key is already registered as ${same.name}`, { details: { key: same.name, keyId: publicKey.keyId } });
      }
      const now = isoNow(this.clock);
      const [receipt] = await this.log.append(tx, [
        {
          v: 1,
          type: 'key.added',
          time: now,
          actor: eventActor(actor),
          key: request.name,
          keyId: publicKey.keyId,
          algorithm: publicKey.algorithm,
          publicKey: publicKey.pem,
          predicateTypes,
          namespaces,
          notBefore,
          notAfter,
        },
      ]);
      if (receipt === undefined) throw new CustodyError('INTERNAL', 'the log returned no receipt');
      const key: SignerKeyRecord = {
        name: request.name,
        keyId: publicKey.keyId,
        omsHint: publicKey.omsHint,
        algorithm: publicKey.algorithm,
        publicKeyPem: publicKey.pem,
        predicateTypes,
        namespaces,
        notBefore,
        notAfter,
        addedAt: now,
        addedBy: actor.principal.name,
        addedLogIndex: receipt.logIndex,
        revocation: null,
      };
      await tx.insertSignerKey(key);
      return { key, receipt };
    });
  }

  list(): Promise<readonly SignerKeyRecord[]> {
    return this.store.listSignerKeys();
  }

  /**
   * Every key with how many attestations it signed and when it last signed one (the keys page
   * and `GET /api/v1/keys`): one grouped count, not one query per key. `namespaces` (a
   * namespace-scoped reader's, or null for every namespace) counts only attestations on
   * versions in them.
   */
  async listWithUsage(namespaces: readonly string[] | null): Promise<readonly KeyWithUsage[]> {
    const [keys, counts] = await Promise.all([this.store.listSignerKeys(), this.store.attestationCountsByKey(namespaces === null ? {} : { namespaces })]);
    return keys.map((key) => {
      const count = counts.get(key.keyId);
      return { key, attestationCount: count?.count ?? 0, lastSignedAt: count?.lastSignedAt ?? null };
    });
  }

  /** How many attestations `key` signed and when it last did, counted as `listWithUsage` counts. */
  async usageOf(key: SignerKeyRecord, namespaces: readonly string[] | null): Promise<KeyWithUsage> {
    const count = (await this.store.attestationCountsByKey(namespaces === null ? {} : { namespaces })).get(key.keyId);
    return { key, attestationCount: count?.count ?? 0, lastSignedAt: count?.lastSignedAt ?? null };
  }

  async get(name: string): Promise<SignerKeyRecord> {
    const key = await this.store.getSignerKey(name);
    if (key === undefined) throw new CustodyError('KEY_NOT_FOUND', `no key named ${name.slice(0, 130)}`);
    return key;
  }

  /**
   * The attestations `key` signed, newest first, `limit` per page from `cursor` (a previous
   * page's `nextCursor`; VALIDATION_FAILED when garbled); with `namespaces`, only those on
   * versions in them.
   */
  signedBy(key: SignerKeyRecord, page: { readonly limit: number; readonly cursor?: string; readonly namespaces: readonly string[] | null }): Promise<Page<KeyAttestation>> {
    return this.store.listAttestationsByKey(key.keyId, {
      limit: page.limit,
      ...(page.cursor === undefined ? {} : { cursor: page.cursor }),
      ...(page.namespaces === null ? {} : { namespaces: page.namespaces }),
    });
  }

  async revoke(actor: Actor, name: string, request: RevokeKeyRequest): Promise<KeyChange> {
    const reason = request.reason.trim();
    if (reason.length === 0 || reason.length > 1000) throw usage('a revocation needs a reason of 1 to 1000 characters', 'reason');
    return this.store.transaction(async (tx) => {
      const key = await tx.getSignerKey(name);
      if (key === undefined) throw new CustodyError('KEY_NOT_FOUND', `no key named ${name.slice(0, 130)}`);
      if (key.revocation !== null) throw new CustodyError('CONFLICT', `key ${name} was already revoked at ${key.revocation.revokedAt}`, { details: { key: name } });
      const now = isoNow(this.clock);
      const compromisedSince = request.compromisedSince == null ? null : parseInstant(request.compromisedSince, 'compromisedSince');
      if (compromisedSince !== null && compromisedSince > now) throw usage('compromisedSince cannot be in the future', 'compromisedSince');
      const [receipt] = await this.log.append(tx, [
        { v: 1, type: 'key.revoked', time: now, actor: eventActor(actor), key: name, keyId: key.keyId, reason, compromisedSince, invalidFrom: compromisedSince ?? now },
      ]);
      if (receipt === undefined) throw new CustodyError('INTERNAL', 'the log returned no receipt');
      const revocation = { revokedAt: now, revokedBy: actor.principal.name, reason, compromisedSince, logIndex: receipt.logIndex };
      await tx.revokeSignerKey(name, revocation);
      const revoked = { ...key, revocation };
      const quarantined = (await this.#onRevoked?.(tx, actor, revoked)) ?? 0;
      return { key: revoked, receipt, quarantined };
    });
  }
}
