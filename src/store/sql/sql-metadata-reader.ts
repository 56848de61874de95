/**
 * The read queries of the SQL metadata store, shared by the store (autocommit) and a transaction
 * (its connection), so both read through the same code. Lookups by keys no stored row can hold
 * answer "not found" alike on both dialects, and every row is decoded by `row-codecs.ts`.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import type { ManifestFile } from '../../domain/manifest.js';
import type {
  ApiToken,
  CheckpointRecord,
  KeyAttestation,
  KeyAttestationCount,
  LogEntryRecord,
  LogQuery,
  MetadataReader,
  ModelRecord,
  ModelSummary,
  OidcLogin,
  Page,
  Principal,
  RoleBinding,
  UiSession,
  UploadSession,
  VersionRecord,
} from '../metadata-store.js';
import { isLookupKey, isLookupNumber } from './lookup-keys.js';
import { decodeCursor, encodeCursor } from './page-cursor.js';
import type { Database, SqlDialectName } from './schema.js';
import { SqlLogReader } from './sql-log-reader.js';
import { SqlTrustReader } from './sql-trust-store.js';
import { SqlIdentityReader } from './sql-identity-store.js';
import { SqlPromotionReader } from './sql-promotion-store.js';
import { SqlUiSessionReader } from './sql-session-store.js';
import { SqlOidcLoginReader } from './sql-oidc-login-store.js';
import type { AliasRecord, DecisionRecord, PolicyRecord, QuarantineRecord } from '../promotion-records.js';
import { decodeRow } from './row-codecs.js';
import type { AttestationRecord, LineageEdge, SignerKeyRecord } from '../trust-records.js';

const MAX_PAGE_LIMIT = 10_000;

/** Largest value of an `integer` column in both dialects (PostgreSQL int4). */
const MAX_INT4 = 2 ** 31 - 1;

const cursorKey = z.string().refine((key) => isLookupKey(key));
const modelCursor = z.tuple([z.literal('m'), cursorKey, cursorKey]);
const versionCursor = z.tuple([z.literal('v'), z.number().int().min(1).max(MAX_INT4)]);

function assertLimit(limit: number): void {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new CustodyError('VALIDATION_FAILED', `page limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, { details: { field: 'limit' } });
  }
}


/** Reads, bound either to the store (autocommit) or to one transaction's connection. */
export class SqlMetadataReader implements MetadataReader {
  readonly #db: Kysely<Database>;
  readonly dialect: SqlDialectName;

  constructor(db: Kysely<Database>, dialect: SqlDialectName) {
    this.#db = db;
    this.dialect = dialect;
  }

  /** The log's queries (`sql-log-reader.ts`), through `db()` so they obey the same guards. */
  readonly #log = new SqlLogReader(() => this.db());
  /** The trust tables' queries (`sql-trust-store.ts`). */
  readonly #trust = new SqlTrustReader(() => this.db());
  /** The identity tables' queries (`sql-identity-store.ts`). */
  readonly #identity = new SqlIdentityReader(() => this.db());
  /** The promotion tables' queries (`sql-promotion-store.ts`). */
  readonly #promotion = new SqlPromotionReader(() => this.db());
  /** The web UI sessions' queries (`sql-session-store.ts`). */
  readonly #uiSessions = new SqlUiSessionReader(() => this.db());
  /** The pending single sign-on logins' query (`sql-oidc-login-store.ts`). */
  readonly #oidcLogins = new SqlOidcLoginReader(() => this.db());

  /** The executor for the next query; subclasses refuse use at the wrong time. */
  protected db(): Kysely<Database> {
    return this.#db;
  }

  async countPrincipals(): Promise<number> {
    return this.#identity.countPrincipals();
  }

  async getPrincipalById(id: string): Promise<Principal | undefined> {
    return this.#identity.getPrincipalById(id);
  }

  async getPrincipalByName(name: string): Promise<Principal | undefined> {
    return this.#identity.getPrincipalByName(name);
  }

  async listPrincipals(): Promise<readonly Principal[]> {
    return this.#identity.listPrincipals();
  }

  async findPrincipalByOidc(issuer: string, subject: string): Promise<Principal | undefined> {
    return this.#identity.findPrincipalByOidc(issuer, subject);
  }

  async findTokenByHash(tokenHash: string): Promise<ApiToken | undefined> {
    return this.#identity.findTokenByHash(tokenHash);
  }

  async getToken(id: string): Promise<ApiToken | undefined> {
    return this.#identity.getToken(id);
  }

  async listTokens(principalId?: string): Promise<readonly ApiToken[]> {
    return this.#identity.listTokens(principalId);
  }

  async listBindings(principalId: string): Promise<readonly RoleBinding[]> {
    return this.#identity.listBindings(principalId);
  }

  async listAllBindings(): Promise<readonly RoleBinding[]> {
    return this.#identity.listAllBindings();
  }

  async getBinding(id: string): Promise<RoleBinding | undefined> {
    return this.#identity.getBinding(id);
  }

  async getModel(namespace: string, name: string): Promise<ModelRecord | undefined> {
    if (!isLookupKey(namespace, name)) return undefined;
    const row = await this.db().selectFrom('models').selectAll().where('namespace', '=', namespace).where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('models', row);
  }

  async listModels(options: {
    readonly limit: number;
    readonly cursor?: string;
    readonly namespace?: string;
    readonly namespaces?: readonly string[];
  }): Promise<Page<ModelSummary>> {
    assertLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(modelCursor, options.cursor);
    if (options.namespace !== undefined && !isLookupKey(options.namespace)) return { items: [], nextCursor: null };
    let query = this.db()
      .selectFrom('models as m')
      .leftJoin('versions as v', (join) =>
        join
          .onRef('v.namespace', '=', 'm.namespace')
          .onRef('v.name', '=', 'm.name')
          .on((eb) =>
            eb(
              'v.number',
              '=',
              eb.selectFrom('versions as x').select((x) => x.fn.max('x.number').as('max')).whereRef('x.namespace', '=', 'm.namespace').whereRef('x.name', '=', 'm.name'),
            ),
          ),
      )
      .select((eb) => [
        'm.namespace',
        'm.name',
        'm.created_at',
        eb
          .selectFrom('versions as c')
          .select((c) => c.fn.countAll().as('count'))
          .whereRef('c.namespace', '=', 'm.namespace')
          .whereRef('c.name', '=', 'm.name')
          .as('version_count'),
        'v.number as latest_number',
        'v.digest as latest_digest',
        'v.registered_at as latest_registered_at',
      ]);
    if (options.namespace !== undefined) query = query.where('m.namespace', '=', options.namespace);
    if (options.namespaces !== undefined) {
      const wanted = options.namespaces.filter((n) => isLookupKey(n));
      if (wanted.length === 0) return { items: [], nextCursor: null };
      query = query.where('m.namespace', 'in', wanted);
    }
    if (after !== undefined) {
      const [, namespace, name] = after;
      query = query.where((eb) => eb.or([eb('m.namespace', '>', namespace), eb.and([eb('m.namespace', '=', namespace), eb('m.name', '>', name)])]));
    }
    const rows = await query.orderBy('m.namespace').orderBy('m.name').limit(options.limit + 1).execute();
    const items = rows.slice(0, options.limit).map((row) => decodeRow('model_summaries', row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > options.limit && last !== undefined ? encodeCursor(['m', last.namespace, last.name]) : null };
  }

  async getVersionByNumber(namespace: string, name: string, number: number): Promise<VersionRecord | undefined> {
    if (!isLookupKey(namespace, name) || !isLookupNumber(number, MAX_INT4)) return undefined;
    const row = await this.db()
      .selectFrom('versions')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('name', '=', name)
      .where('number', '=', number)
      .executeTakeFirst();
    return row === undefined ? undefined : decodeRow('versions', row);
  }

  async getVersionByDigest(namespace: string, name: string, digest: string): Promise<VersionRecord | undefined> {
    if (!isLookupKey(namespace, name, digest)) return undefined;
    const row = await this.db()
      .selectFrom('versions')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('name', '=', name)
      .where('digest', '=', digest)
      .executeTakeFirst();
    return row === undefined ? undefined : decodeRow('versions', row);
  }

  async listVersions(namespace: string, name: string, options: { readonly limit: number; readonly cursor?: string }): Promise<Page<VersionRecord>> {
    assertLimit(options.limit);
    const after = options.cursor === undefined ? undefined : decodeCursor(versionCursor, options.cursor);
    if (!isLookupKey(namespace, name)) return { items: [], nextCursor: null };
    let query = this.db().selectFrom('versions').selectAll().where('namespace', '=', namespace).where('name', '=', name);
    if (after !== undefined) query = query.where('number', '<', after[1]);
    const rows = await query.orderBy('number', 'desc').limit(options.limit + 1).execute();
    const items = rows.slice(0, options.limit).map((row) => decodeRow('versions', row));
    const last = items.at(-1);
    return { items, nextCursor: rows.length > options.limit && last !== undefined ? encodeCursor(['v', last.number]) : null };
  }

  async getVersionFiles(versionId: string): Promise<readonly ManifestFile[]> {
    if (!isLookupKey(versionId)) return [];
    const rows = await this.db()
      .selectFrom('version_files')
      .select(['path', 'size', 'sha256'])
      .where('version_id', '=', versionId)
      .orderBy('ordinal')
      .execute();
    return rows.map((row) => decodeRow('version_files', row));
  }

  async blobInNamespaces(sha256: string, namespaces: readonly string[]): Promise<boolean> {
    const wanted = namespaces.filter((n) => isLookupKey(n));
    if (!isLookupKey(sha256) || wanted.length === 0) return false;
    const row = await this.db()
      .selectFrom('version_files as f')
      .innerJoin('versions as v', 'v.id', 'f.version_id')
      .select('f.version_id')
      .where('f.sha256', '=', sha256)
      .where('v.namespace', 'in', wanted)
      .limit(1)
      .executeTakeFirst();
    return row !== undefined;
  }

  logSize(): Promise<number> {
    return this.#log.logSize();
  }

  getLogEntries(start: number, end: number): Promise<readonly LogEntryRecord[]> {
    return this.#log.getLogEntries(start, end);
  }

  findLogIndexesByLeafHash(leafHash: string): Promise<readonly number[]> {
    return this.#log.findLogIndexesByLeafHash(leafHash);
  }

  readLogHashes(ids: readonly number[]): Promise<Buffer[]> {
    return this.#log.readLogHashes(ids);
  }

  getLatestCheckpoint(): Promise<CheckpointRecord | undefined> {
    return this.#log.getLatestCheckpoint();
  }

  getCheckpoint(size: number): Promise<CheckpointRecord | undefined> {
    return this.#log.getCheckpoint(size);
  }

  queryLogEntries(query: LogQuery): Promise<readonly LogEntryRecord[]> {
    return this.#log.queryLogEntries(query);
  }

  getSignerKey(name: string): Promise<SignerKeyRecord | undefined> {
    return this.#trust.getSignerKey(name);
  }

  findSignerKeyByHint(hint: string): Promise<SignerKeyRecord | undefined> {
    return this.#trust.findSignerKeyByHint(hint);
  }

  listSignerKeys(): Promise<readonly SignerKeyRecord[]> {
    return this.#trust.listSignerKeys();
  }

  listAttestations(versionId: string): Promise<readonly AttestationRecord[]> {
    return this.#trust.listAttestations(versionId);
  }

  findAttestation(versionId: string, paeDigest: string, keyId: string): Promise<AttestationRecord | undefined> {
    return this.#trust.findAttestation(versionId, paeDigest, keyId);
  }

  findAttestationByPaeDigest(paeDigest: string): Promise<AttestationRecord | undefined> {
    return this.#trust.findAttestationByPaeDigest(paeDigest);
  }

  attestationCountsByKey(options?: { readonly namespaces?: readonly string[] }): Promise<ReadonlyMap<string, KeyAttestationCount>> {
    return this.#trust.attestationCountsByKey(options);
  }

  listAttestationsByKey(keyId: string, options: { readonly limit: number; readonly cursor?: string; readonly namespaces?: readonly string[] }): Promise<Page<KeyAttestation>> {
    return this.#trust.listAttestationsByKey(keyId, options);
  }

  listParentEdges(versionId: string): Promise<readonly LineageEdge[]> {
    return this.#trust.listParentEdges(versionId);
  }

  listChildEdges(namespace: string, name: string, digest: string): Promise<readonly LineageEdge[]> {
    return this.#trust.listChildEdges(namespace, name, digest);
  }

  getAlias(namespace: string, name: string, environment: string): Promise<AliasRecord | undefined> {
    return this.#promotion.getAlias(namespace, name, environment);
  }

  listAliases(namespace: string, name: string): Promise<readonly AliasRecord[]> {
    return this.#promotion.listAliases(namespace, name);
  }

  listAliasesOfVersion(versionId: string): Promise<readonly AliasRecord[]> {
    return this.#promotion.listAliasesOfVersion(versionId);
  }

  listAliasesSignedBy(keyId: string): Promise<readonly AliasRecord[]> {
    return this.#promotion.listAliasesSignedBy(keyId);
  }

  listAliasesInEnvironment(environment: string, limit: number): Promise<readonly AliasRecord[]> {
    return this.#promotion.listAliasesInEnvironment(environment, limit);
  }

  getPolicy(id: string): Promise<PolicyRecord | undefined> {
    return this.#promotion.getPolicy(id);
  }

  getActivePolicy(environment: string): Promise<PolicyRecord | undefined> {
    return this.#promotion.getActivePolicy(environment);
  }

  listPolicies(environment: string, limit: number): Promise<readonly PolicyRecord[]> {
    return this.#promotion.listPolicies(environment, limit);
  }

  listProposedPolicies(): Promise<readonly PolicyRecord[]> {
    return this.#promotion.listProposedPolicies();
  }

  getDecision(id: string): Promise<DecisionRecord | undefined> {
    return this.#promotion.getDecision(id);
  }

  listDecisions(versionId: string, limit: number): Promise<readonly DecisionRecord[]> {
    return this.#promotion.listDecisions(versionId, limit);
  }

  findAllowedDecision(versionId: string, environment: string): Promise<DecisionRecord | undefined> {
    return this.#promotion.findAllowedDecision(versionId, environment);
  }

  listActiveQuarantines(versionId: string): Promise<readonly QuarantineRecord[]> {
    return this.#promotion.listActiveQuarantines(versionId);
  }

  async getUploadSession(id: string): Promise<UploadSession | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('upload_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('upload_sessions', row);
  }

  async findUploadSession(principalId: string, sha256: string, size: number): Promise<UploadSession | undefined> {
    if (!isLookupKey(principalId, sha256) || !isLookupNumber(size, Number.MAX_SAFE_INTEGER)) return undefined;
    const row = await this.db()
      .selectFrom('upload_sessions')
      .selectAll()
      .where('principal_id', '=', principalId)
      .where('sha256', '=', sha256)
      .where('size', '=', size)
      .orderBy('updated_at', 'desc')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : decodeRow('upload_sessions', row);
  }

  async listUploadSessionsUpdatedBefore(instant: string): Promise<readonly UploadSession[]> {
    const rows = await this.db().selectFrom('upload_sessions').selectAll().where('updated_at', '<', instant).orderBy('updated_at').orderBy('id').execute();
    return rows.map((row) => decodeRow('upload_sessions', row));
  }

  getUiSession(id: string): Promise<UiSession | undefined> {
    return this.#uiSessions.getUiSession(id);
  }

  getOidcLogin(id: string): Promise<OidcLogin | undefined> {
    return this.#oidcLogins.getOidcLogin(id);
  }
}
