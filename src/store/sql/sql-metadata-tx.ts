/**
 * The writes of the SQL metadata store, available only inside `SqlMetadataStore.transaction`.
 * Each write runs under a savepoint so a constraint violation leaves the transaction usable, and
 * violations from either driver become CustodyError CONFLICT / *_NOT_FOUND. What is written is
 * checked against the shapes the read path decodes, so nothing stored is unreadable.
 */
import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { CustodyError } from '../../domain/errors.js';
import { assertSafePath } from '../../domain/manifest.js';
import type {
  ApiToken,
  CheckpointRecord,
  LogHash,
  MetadataTx,
  ModelRecord,
  NewLogEntry,
  NewVersion,
  OidcLogin,
  Principal,
  RoleBinding,
  UiSession,
  UploadSession,
  VersionRecord,
} from '../metadata-store.js';
import { toSafeInteger } from './row-codecs.js';
import type { Database } from './schema.js';
import { SqlLogWriter } from './sql-log-writer.js';
import { SqlTrustWriter } from './sql-trust-store.js';
import { SqlIdentityWriter } from './sql-identity-store.js';
import { SqlPromotionWriter } from './sql-promotion-store.js';
import { SqlUiSessionWriter } from './sql-session-store.js';
import { SqlOidcLoginWriter } from './sql-oidc-login-store.js';
import type { AliasRecord, DecisionRecord, PolicyRecord, PolicyTransition, QuarantineRecord } from '../promotion-records.js';
import type { AttestationRecord, KeyRevocation, LineageEdge, SignerKeyRecord } from '../trust-records.js';
import { SqlMetadataReader } from './sql-metadata-reader.js';
import { writeInSavepoint, type MissingReference } from './write-in-savepoint.js';

/** Rows per multi-row INSERT: 5 parameters each stays far below SQLite's 32,766 and PostgreSQL's 65,535. */
const FILE_INSERT_CHUNK = 1000;

function toJsonText(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new CustodyError('VALIDATION_FAILED', `${field} must be JSON`, { cause: error, details: { field } });
  }
  if (text === undefined) throw new CustodyError('VALIDATION_FAILED', `${field} must be JSON`, { details: { field } });
  return text;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Rejects a version that could not be read back: the read path validates the same shapes. */
function assertStorableVersion(version: NewVersion): number {
  if (!DIGEST.test(version.digest) || !DIGEST.test(version.omsRootDigest)) {
    throw new CustodyError('INVALID_DIGEST', 'version digests must be "sha256:" followed by 64 lowercase hex digits');
  }
  let total = 0;
  for (const file of version.files) {
    assertSafePath(file.path);
    if (!Number.isSafeInteger(file.size) || file.size < 0 || !HEX64.test(file.sha256)) {
      throw new CustodyError('VALIDATION_FAILED', 'file entries need a non-negative integer size and a hex sha256', { details: { path: file.path } });
    }
    total += file.size;
  }
  if (!Number.isSafeInteger(total)) throw new CustodyError('VALIDATION_FAILED', 'total model size is too large');
  return total;
}

/** Reads and writes on one transaction's connection; unusable once the transaction ended. */
export class SqlMetadataTx extends SqlMetadataReader implements MetadataTx {
  #active = true;
  /** The log's writes (`sql-log-writer.ts`), through `db()` so they refuse use after the end. */
  readonly #log = new SqlLogWriter(() => this.db(), this.dialect);
  /** The trust tables' writes (`sql-trust-store.ts`). */
  readonly #trust = new SqlTrustWriter(() => this.db());
  /** The identity tables' writes (`sql-identity-store.ts`). */
  readonly #identity = new SqlIdentityWriter(() => this.db());
  /** The promotion tables' writes (`sql-promotion-store.ts`). */
  readonly #promotion = new SqlPromotionWriter(() => this.db(), this.dialect);
  /** The web UI sessions' writes (`sql-session-store.ts`). */
  readonly #uiSessions = new SqlUiSessionWriter(() => this.db());
  /** The pending single sign-on logins' writes (`sql-oidc-login-store.ts`). */
  readonly #oidcLogins = new SqlOidcLoginWriter(() => this.db());

  /** Called by the store once `transaction`'s callback settles; any later use throws INTERNAL. */
  end(): void {
    this.#active = false;
  }

  protected override db(): Kysely<Database> {
    if (!this.#active) throw new CustodyError('INTERNAL', 'metadata transaction used after it ended');
    return super.db();
  }

  /** Runs one write of this transaction under a savepoint (`write-in-savepoint.ts`). */
  async #write<T>(onConflict: string, missing: MissingReference, fn: () => Promise<T>): Promise<T> {
    return writeInSavepoint(this.db(), onConflict, missing, fn);
  }

  async insertPrincipal(principal: Principal): Promise<void> {
    return this.#identity.insertPrincipal(principal);
  }

  async disablePrincipal(id: string, disabledAt: string): Promise<void> {
    return this.#identity.disablePrincipal(id, disabledAt);
  }

  async insertToken(token: ApiToken): Promise<void> {
    return this.#identity.insertToken(token);
  }

  async revokeToken(id: string, revokedAt: string): Promise<void> {
    return this.#identity.revokeToken(id, revokedAt);
  }

  async insertBinding(binding: RoleBinding): Promise<void> {
    return this.#identity.insertBinding(binding);
  }

  async revokeBinding(id: string, revokedAt: string): Promise<void> {
    return this.#identity.revokeBinding(id, revokedAt);
  }

  async ensureModel(namespace: string, name: string, createdAt: string): Promise<ModelRecord> {
    await this.db()
      .insertInto('models')
      .values({ namespace, name, created_at: createdAt })
      .onConflict((oc) => oc.columns(['namespace', 'name']).doNothing())
      .execute();
    const model = await this.getModel(namespace, name);
    if (model === undefined) throw new CustodyError('INTERNAL', 'model vanished right after it was ensured');
    return model;
  }

  async lockModel(namespace: string, name: string): Promise<void> {
    let query = this.db().selectFrom('models').select('namespace').where('namespace', '=', namespace).where('name', '=', name);
    if (this.dialect === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirst();
    if (row === undefined) throw new CustodyError('MODEL_NOT_FOUND', 'cannot lock a model that does not exist', { details: { namespace, name } });
  }

  async insertVersion(version: NewVersion): Promise<VersionRecord> {
    const totalSize = assertStorableVersion(version);
    const annotations = toJsonText(version.annotations, 'annotations');
    const { namespace, name, digest } = version;
    const raced = 'another version of this model was registered at the same time (call lockModel first), or this digest was';
    return this.#write(raced, { code: 'MODEL_NOT_FOUND', message: 'the model does not exist' }, async () => {
      const db = this.db();
      const existing = await db.selectFrom('versions').select('number').where('namespace', '=', namespace).where('name', '=', name).where('digest', '=', digest).executeTakeFirst();
      if (existing !== undefined) {
        throw new CustodyError('CONFLICT', 'this model already has a version with this digest', { details: { digest, number: existing.number } });
      }
      const max = await db
        .selectFrom('versions')
        .select((eb) => eb.fn.max('number').as('max'))
        .where('namespace', '=', namespace)
        .where('name', '=', name)
        .executeTakeFirst();
      const previous = max?.max === null || max?.max === undefined ? 0 : toSafeInteger(max.max);
      if (previous === undefined) throw new CustodyError('INTERNAL', 'corrupt version number in the metadata store');
      const record: VersionRecord = {
        id: randomUUID(),
        namespace,
        name,
        number: previous + 1,
        digest,
        omsRootDigest: version.omsRootDigest,
        singleFile: version.singleFile,
        fileCount: version.files.length,
        totalSize,
        annotations: annotations === null ? null : (JSON.parse(annotations) as unknown),
        registeredAt: version.registeredAt,
        registeredBy: version.registeredBy,
      };
      await db
        .insertInto('versions')
        .values({
          id: record.id,
          namespace,
          name,
          number: record.number,
          digest,
          oms_root_digest: record.omsRootDigest,
          single_file: record.singleFile ? 1 : 0,
          file_count: record.fileCount,
          total_size: totalSize,
          annotations,
          registered_at: record.registeredAt,
          registered_by: record.registeredBy,
        })
        .execute();
      for (let start = 0; start < version.files.length; start += FILE_INSERT_CHUNK) {
        const rows = version.files
          .slice(start, start + FILE_INSERT_CHUNK)
          .map((file, index) => ({ version_id: record.id, ordinal: start + index, path: file.path, size: file.size, sha256: file.sha256 }));
        await db.insertInto('version_files').values(rows).execute();
      }
      return record;
    });
  }

  lockLogHead(): Promise<number> {
    return this.#log.lockLogHead();
  }

  insertLogEntries(start: number, entries: readonly NewLogEntry[]): Promise<void> {
    return this.#log.insertLogEntries(start, entries);
  }

  insertLogHashes(hashes: readonly LogHash[]): Promise<void> {
    return this.#log.insertLogHashes(hashes);
  }

  setLogHead(size: number): Promise<void> {
    return this.#log.setLogHead(size);
  }

  insertCheckpoint(checkpoint: CheckpointRecord): Promise<void> {
    return this.#log.insertCheckpoint(checkpoint);
  }

  insertSignerKey(key: SignerKeyRecord): Promise<void> {
    return this.#trust.insertSignerKey(key);
  }

  revokeSignerKey(name: string, revocation: KeyRevocation): Promise<void> {
    return this.#trust.revokeSignerKey(name, revocation);
  }

  insertAttestation(attestation: AttestationRecord): Promise<void> {
    return this.#trust.insertAttestation(attestation);
  }

  insertLineageEdges(edges: readonly LineageEdge[]): Promise<void> {
    return this.#trust.insertLineageEdges(edges);
  }

  setAlias(alias: AliasRecord): Promise<void> {
    return this.#promotion.setAlias(alias);
  }

  insertPolicy(policy: PolicyRecord): Promise<void> {
    return this.#promotion.insertPolicy(policy);
  }

  transitionPolicy(id: string, transition: PolicyTransition): Promise<void> {
    return this.#promotion.transitionPolicy(id, transition);
  }

  lockPolicies(environment: string): Promise<void> {
    return this.#promotion.lockPolicies(environment);
  }

  insertDecision(decision: DecisionRecord): Promise<void> {
    return this.#promotion.insertDecision(decision);
  }

  insertQuarantine(quarantine: QuarantineRecord): Promise<void> {
    return this.#promotion.insertQuarantine(quarantine);
  }

  clearQuarantines(versionId: string, environment: string, clearedAt: string, decisionId: string): Promise<number> {
    return this.#promotion.clearQuarantines(versionId, environment, clearedAt, decisionId);
  }

  async insertUploadSession(session: UploadSession): Promise<void> {
    await this.#write('an upload session with this id already exists', { code: 'NOT_FOUND', message: 'referenced record not found' }, async () => {
      await this.db()
        .insertInto('upload_sessions')
        .values({
          id: session.id,
          principal_id: session.principalId,
          sha256: session.sha256,
          size: session.size,
          created_at: session.createdAt,
          updated_at: session.updatedAt,
        })
        .execute();
    });
  }

  async touchUploadSession(id: string, updatedAt: string): Promise<void> {
    const result = await this.db().updateTable('upload_sessions').set({ updated_at: updatedAt }).where('id', '=', id).executeTakeFirst();
    if (result.numUpdatedRows === 0n) throw new CustodyError('UPLOAD_NOT_FOUND', 'upload session not found');
  }

  async deleteUploadSession(id: string): Promise<void> {
    await this.db().deleteFrom('upload_sessions').where('id', '=', id).execute();
  }

  insertUiSession(session: UiSession): Promise<void> {
    return this.#uiSessions.insertUiSession(session);
  }

  touchUiSession(id: string, lastSeenAt: string): Promise<void> {
    return this.#uiSessions.touchUiSession(id, lastSeenAt);
  }

  reauthenticateUiSession(id: string, authenticatedAt: string): Promise<void> {
    return this.#uiSessions.reauthenticateUiSession(id, authenticatedAt);
  }

  endUiSession(id: string, endedAt: string): Promise<void> {
    return this.#uiSessions.endUiSession(id, endedAt);
  }

  deleteUiSessionsEndedBefore(cutoff: string): Promise<number> {
    return this.#uiSessions.deleteUiSessionsEndedBefore(cutoff);
  }

  insertOidcLogin(login: OidcLogin): Promise<void> {
    return this.#oidcLogins.insertOidcLogin(login);
  }

  deleteOidcLogin(id: string): Promise<boolean> {
    return this.#oidcLogins.deleteOidcLogin(id);
  }

  deleteOidcLoginsExpiredBefore(cutoff: string): Promise<number> {
    return this.#oidcLogins.deleteOidcLoginsExpiredBefore(cutoff);
  }
}
