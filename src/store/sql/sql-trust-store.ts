/**
 * The trust tables' queries (signer keys, attestations, lineage edges; SPEC §4.2, §4.3): reads
 * shared by the store and a transaction, writes only inside a transaction. Keys are looked up by
 * name or by either hint convention; attestations are never updated or deleted. The keys pages
 * read per-key counts (one grouped query) and a key's attestations (keyset-paginated).
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import type { KeyAttestation, KeyAttestationCount, MetadataReader, MetadataTx, Page } from '../metadata-store.js';
import type { AttestationRecord, KeyRevocation, LineageEdge, SignerKeyRecord } from '../trust-records.js';
import { isLookupKey } from './lookup-keys.js';
import { decodeCursor, encodeCursor } from './page-cursor.js';
import type { Database } from './schema.js';
import { assertTrustRowStorable, decodeTrustRow } from './trust-row-codecs.js';
import { writeInSavepoint } from './write-in-savepoint.js';

export type TrustReads = Pick<
  MetadataReader,
  | 'getSignerKey'
  | 'findSignerKeyByHint'
  | 'listSignerKeys'
  | 'listAttestations'
  | 'findAttestation'
  | 'findAttestationByPaeDigest'
  | 'attestationCountsByKey'
  | 'listAttestationsByKey'
  | 'listParentEdges'
  | 'listChildEdges'
>;
export type TrustWrites = Pick<MetadataTx, 'insertSignerKey' | 'revokeSignerKey' | 'insertAttestation' | 'insertLineageEdges'>;

/** Most attestations one version may hold: bounds every list read. */
export const MAX_ATTESTATIONS_PER_VERSION = 10_000;

/** Most lineage edges one read returns. */
const MAX_EDGES_PER_READ = 10_000;

/** Most attestations one `listAttestationsByKey` page may hold. */
const MAX_KEY_ATTESTATIONS_PAGE = 1000;

/** The sort key of the last row of a `listAttestationsByKey` page: log index, then id. */
const keyAttestationCursor = z.tuple([z.literal('ka'), z.number().int().min(0).max(Number.MAX_SAFE_INTEGER), z.string().min(1).max(256).refine((id) => isLookupKey(id))]);

function json(value: readonly string[] | null): string | null {
  return value === null ? null : JSON.stringify(value);
}

/** Trust reads on the executor `db()` returns at each call. */
export class SqlTrustReader implements TrustReads {
  constructor(private readonly db: () => Kysely<Database>) {}

  async getSignerKey(name: string): Promise<SignerKeyRecord | undefined> {
    if (!isLookupKey(name)) return undefined;
    const row = await this.db().selectFrom('signer_keys').selectAll().where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : decodeTrustRow('signer_keys', row);
  }

  async findSignerKeyByHint(hint: string): Promise<SignerKeyRecord | undefined> {
    if (!isLookupKey(hint)) return undefined;
    const row = await this.db()
      .selectFrom('signer_keys')
      .selectAll()
      .where((eb) => eb.or([eb('key_id', '=', hint), eb('oms_hint', '=', hint)]))
      .executeTakeFirst();
    return row === undefined ? undefined : decodeTrustRow('signer_keys', row);
  }

  async listSignerKeys(): Promise<readonly SignerKeyRecord[]> {
    const rows = await this.db().selectFrom('signer_keys').selectAll().orderBy('name').execute();
    return rows.map((row) => decodeTrustRow('signer_keys', row));
  }

  async listAttestations(versionId: string): Promise<readonly AttestationRecord[]> {
    if (!isLookupKey(versionId)) return [];
    const rows = await this.db()
      .selectFrom('attestations')
      .selectAll()
      .where('version_id', '=', versionId)
      .orderBy('log_index')
      .limit(MAX_ATTESTATIONS_PER_VERSION)
      .execute();
    return rows.map((row) => decodeTrustRow('attestations', row));
  }

  async findAttestation(versionId: string, paeDigest: string, keyId: string): Promise<AttestationRecord | undefined> {
    if (!isLookupKey(versionId, paeDigest, keyId)) return undefined;
    const row = await this.db()
      .selectFrom('attestations')
      .selectAll()
      .where('version_id', '=', versionId)
      .where('pae_digest', '=', paeDigest)
      .where('key_id', '=', keyId)
      .executeTakeFirst();
    return row === undefined ? undefined : decodeTrustRow('attestations', row);
  }

  async findAttestationByPaeDigest(paeDigest: string): Promise<AttestationRecord | undefined> {
    if (!isLookupKey(paeDigest)) return undefined;
    const row = await this.db().selectFrom('attestations').selectAll().where('pae_digest', '=', paeDigest).orderBy('log_index').limit(1).executeTakeFirst();
    return row === undefined ? undefined : decodeTrustRow('attestations', row);
  }

  async attestationCountsByKey(options: { readonly namespaces?: readonly string[] } = {}): Promise<ReadonlyMap<string, KeyAttestationCount>> {
    const wanted = options.namespaces?.filter((n) => isLookupKey(n));
    if (wanted?.length === 0) return new Map();
    let query = this.db()
      .selectFrom('attestations as a')
      .innerJoin('versions as v', 'v.id', 'a.version_id')
      .select((eb) => ['a.key_id', eb.fn.countAll().as('count'), eb.fn.max('a.logged_at').as('last_signed_at')])
      .groupBy('a.key_id');
    if (wanted !== undefined) query = query.where('v.namespace', 'in', wanted);
    const rows = await query.execute();
    return new Map(rows.map((row) => decodeTrustRow('key_attestation_counts', row)));
  }

  async listAttestationsByKey(
    keyId: string,
    options: { readonly limit: number; readonly cursor?: string; readonly namespaces?: readonly string[] },
  ): Promise<Page<KeyAttestation>> {
    if (!Number.isSafeInteger(options.limit) || options.limit < 1 || options.limit > MAX_KEY_ATTESTATIONS_PAGE) {
      throw new CustodyError('VALIDATION_FAILED', `page limit must be an integer from 1 to ${MAX_KEY_ATTESTATIONS_PAGE}`, { details: { field: 'limit' } });
    }
    const after = options.cursor === undefined ? undefined : decodeCursor(keyAttestationCursor, options.cursor);
    const wanted = options.namespaces?.filter((n) => isLookupKey(n));
    if (!isLookupKey(keyId) || wanted?.length === 0) return { items: [], nextCursor: null };
    let query = this.db()
      .selectFrom('attestations as a')
      .innerJoin('versions as v', 'v.id', 'a.version_id')
      .select(['a.id', 'v.namespace', 'v.name', 'v.number', 'a.version_digest', 'a.predicate_type', 'a.role', 'a.log_index', 'a.logged_at', 'a.added_by'])
      .where('a.key_id', '=', keyId);
    if (wanted !== undefined) query = query.where('v.namespace', 'in', wanted);
    if (after !== undefined) {
      const [, logIndex, id] = after;
      // The `<=` bound lets both dialects seek the (key_id, log_index) index instead of scanning the key's rows.
      query = query.where('a.log_index', '<=', logIndex).where((eb) => eb.or([eb('a.log_index', '<', logIndex), eb('a.id', '<', id)]));
    }
    const rows = await query.orderBy('a.log_index', 'desc').orderBy('a.id', 'desc').limit(options.limit + 1).execute();
    const items = rows.slice(0, options.limit).map((row) => decodeTrustRow('key_attestations', row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > options.limit && last !== undefined ? encodeCursor(['ka', last.logIndex, last.id]) : null };
  }

  async listParentEdges(versionId: string): Promise<readonly LineageEdge[]> {
    if (!isLookupKey(versionId)) return [];
    const rows = await this.db()
      .selectFrom('lineage_edges')
      .selectAll()
      .where('child_version_id', '=', versionId)
      .orderBy('parent_namespace')
      .orderBy('parent_name')
      .orderBy('parent_digest')
      .limit(MAX_EDGES_PER_READ)
      .execute();
    return rows.map((row) => decodeTrustRow('lineage_edges', row));
  }

  async listChildEdges(namespace: string, name: string, digest: string): Promise<readonly LineageEdge[]> {
    if (!isLookupKey(namespace, name, digest)) return [];
    const rows = await this.db()
      .selectFrom('lineage_edges')
      .selectAll()
      .where('parent_namespace', '=', namespace)
      .where('parent_name', '=', name)
      .where('parent_digest', '=', digest)
      .orderBy('child_namespace')
      .orderBy('child_name')
      .orderBy('child_digest')
      .limit(MAX_EDGES_PER_READ)
      .execute();
    return rows.map((row) => decodeTrustRow('lineage_edges', row));
  }
}

/** Trust writes on one transaction's connection. */
export class SqlTrustWriter implements TrustWrites {
  constructor(private readonly db: () => Kysely<Database>) {}

  async insertSignerKey(key: SignerKeyRecord): Promise<void> {
    if (key.revocation !== null) throw new CustodyError('INTERNAL', 'a key is added unrevoked; revokeSignerKey revokes it');
    const row = {
      name: key.name,
      key_id: key.keyId,
      oms_hint: key.omsHint,
      algorithm: key.algorithm,
      public_key_pem: key.publicKeyPem,
      predicate_types: JSON.stringify(key.predicateTypes),
      namespaces: json(key.namespaces),
      not_before: key.notBefore,
      not_after: key.notAfter,
      added_at: key.addedAt,
      added_by: key.addedBy,
      added_log_index: key.addedLogIndex,
      revoked_at: null,
      revoked_by: null,
      revocation_reason: null,
      compromised_since: null,
      revoked_log_index: null,
    };
    assertTrustRowStorable('signer_keys', row);
    await writeInSavepoint(this.db(), 'a key with this name or public key is already registered', { code: 'INTERNAL', message: 'signer keys reference nothing' }, async () => {
      await this.db().insertInto('signer_keys').values(row).execute();
    });
  }

  async revokeSignerKey(name: string, revocation: KeyRevocation): Promise<void> {
    const result = await this.db()
      .updateTable('signer_keys')
      .set({
        revoked_at: revocation.revokedAt,
        revoked_by: revocation.revokedBy,
        revocation_reason: revocation.reason,
        compromised_since: revocation.compromisedSince,
        revoked_log_index: revocation.logIndex,
      })
      .where('name', '=', name)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new CustodyError('CONFLICT', 'the key does not exist or is already revoked', { details: { key: name } });
  }

  async insertAttestation(a: AttestationRecord): Promise<void> {
    const row = {
      id: a.id,
      version_id: a.versionId,
      version_digest: a.versionDigest,
      bundle_digest: a.bundleDigest,
      pae_digest: a.paeDigest,
      key_id: a.keyId,
      key_name: a.keyName,
      predicate_type: a.predicateType,
      role: a.role,
      bundle: a.bundle,
      logged_at: a.loggedAt,
      log_index: a.logIndex,
      added_by: a.addedBy,
    };
    assertTrustRowStorable('attestations', row);
    await writeInSavepoint(this.db(), 'this attestation is already stored for this version', { code: 'VERSION_NOT_FOUND', message: 'the version does not exist' }, async () => {
      await this.db().insertInto('attestations').values(row).execute();
    });
  }

  async insertLineageEdges(edges: readonly LineageEdge[]): Promise<void> {
    if (edges.length === 0) return;
    const rows = edges.map((e) => ({
      child_version_id: e.childVersionId,
      child_namespace: e.childNamespace,
      child_name: e.childName,
      child_digest: e.childDigest,
      parent_namespace: e.parentNamespace,
      parent_name: e.parentName,
      parent_digest: e.parentDigest,
    }));
    for (const row of rows) assertTrustRowStorable('lineage_edges', row);
    await writeInSavepoint(this.db(), 'a parent is named twice', { code: 'VERSION_NOT_FOUND', message: 'the version does not exist' }, async () => {
      await this.db().insertInto('lineage_edges').values(rows).execute();
    });
  }
}
