/**
 * The promotion tables' queries (aliases, policies, decisions, quarantines; SPEC §2, §6): reads
 * shared by the store and a transaction, writes only inside a transaction. Decisions are never
 * updated; a policy only moves forward through its lifecycle; a quarantine is cleared, never
 * deleted.
 */
import { sql, type Kysely } from 'kysely';
import { CustodyError } from '../../domain/errors.js';
import type { MetadataReader, MetadataTx } from '../metadata-store.js';
import type { AliasRecord, DecisionRecord, PolicyRecord, PolicyTransition, QuarantineRecord } from '../promotion-records.js';
import { isLookupKey, isStorableText } from './lookup-keys.js';

/** True when every given value would be stored as given. */
const storableTexts = (...values: readonly (string | undefined)[]): boolean => values.every((v) => v === undefined || isStorableText(v));
import { assertPromotionRowStorable, decodePromotionRow } from './promotion-row-codecs.js';
import type { Database, SqlDialectName } from './schema.js';
import { writeInSavepoint } from './write-in-savepoint.js';

export type PromotionReads = Pick<
  MetadataReader,
  | 'getAlias'
  | 'listAliases'
  | 'listAliasesOfVersion'
  | 'listAliasesSignedBy'
  | 'getPolicy'
  | 'getActivePolicy'
  | 'listPolicies'
  | 'listProposedPolicies'
  | 'getDecision'
  | 'listDecisions'
  | 'findAllowedDecision'
  | 'listActiveQuarantines'
>;
export type PromotionWrites = Pick<
  MetadataTx,
  'setAlias' | 'insertPolicy' | 'transitionPolicy' | 'lockPolicies' | 'insertDecision' | 'insertQuarantine' | 'clearQuarantines'
>;

/** Most rows one promotion list returns. */
const MAX_ROWS = 10_000;

function boundedLimit(limit: number): number {
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_ROWS) throw new CustodyError('VALIDATION_FAILED', `limit must be 1 to ${MAX_ROWS}`);
  return limit;
}

/** Promotion reads on the executor `db()` returns at each call. */
export class SqlPromotionReader implements PromotionReads {
  constructor(private readonly db: () => Kysely<Database>) {}

  async getAlias(namespace: string, name: string, environment: string): Promise<AliasRecord | undefined> {
    if (!isLookupKey(namespace, name, environment)) return undefined;
    const row = await this.db()
      .selectFrom('aliases')
      .selectAll()
      .where('namespace', '=', namespace)
      .where('name', '=', name)
      .where('environment', '=', environment)
      .executeTakeFirst();
    return row === undefined ? undefined : decodePromotionRow('aliases', row);
  }

  async listAliases(namespace: string, name: string): Promise<readonly AliasRecord[]> {
    if (!isLookupKey(namespace, name)) return [];
    const rows = await this.db().selectFrom('aliases').selectAll().where('namespace', '=', namespace).where('name', '=', name).orderBy('environment').limit(MAX_ROWS).execute();
    return rows.map((row) => decodePromotionRow('aliases', row));
  }

  async listAliasesOfVersion(versionId: string): Promise<readonly AliasRecord[]> {
    if (!isLookupKey(versionId)) return [];
    const rows = await this.db().selectFrom('aliases').selectAll().where('version_id', '=', versionId).orderBy('environment').limit(MAX_ROWS).execute();
    return rows.map((row) => decodePromotionRow('aliases', row));
  }

  async listAliasesSignedBy(keyId: string): Promise<readonly AliasRecord[]> {
    if (!isLookupKey(keyId)) return [];
    const rows = await this.db()
      .selectFrom('aliases')
      .selectAll()
      .where('version_id', 'in', (eb) => eb.selectFrom('attestations').select('version_id').where('key_id', '=', keyId))
      .orderBy('namespace')
      .orderBy('name')
      .orderBy('environment')
      .limit(MAX_ROWS)
      .execute();
    return rows.map((row) => decodePromotionRow('aliases', row));
  }

  async listAliasesInEnvironment(environment: string, limit: number): Promise<readonly AliasRecord[]> {
    if (!isLookupKey(environment)) return [];
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > 1000) throw new CustodyError('VALIDATION_FAILED', 'limit must be 1 to 1000', { details: { field: 'limit' } });
    const rows = await this.db().selectFrom('aliases').selectAll().where('environment', '=', environment).orderBy('namespace').orderBy('name').limit(limit).execute();
    return rows.map((row) => decodePromotionRow('aliases', row));
  }

  async getPolicy(id: string): Promise<PolicyRecord | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('policies').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodePromotionRow('policies', row);
  }

  async getActivePolicy(environment: string): Promise<PolicyRecord | undefined> {
    if (!isLookupKey(environment)) return undefined;
    const rows = await this.db().selectFrom('policies').selectAll().where('environment', '=', environment).where('status', '=', 'active').limit(2).execute();
    if (rows.length > 1) throw new CustodyError('INTERNAL', 'two active policies for one environment in the metadata store', { details: { environment } });
    const row = rows[0];
    return row === undefined ? undefined : decodePromotionRow('policies', row);
  }

  async listPolicies(environment: string, limit: number): Promise<readonly PolicyRecord[]> {
    boundedLimit(limit);
    if (!isLookupKey(environment)) return [];
    const rows = await this.db().selectFrom('policies').selectAll().where('environment', '=', environment).orderBy('number', 'desc').limit(limit).execute();
    return rows.map((row) => decodePromotionRow('policies', row));
  }

  async listProposedPolicies(): Promise<readonly PolicyRecord[]> {
    const rows = await this.db().selectFrom('policies').selectAll().where('status', '=', 'proposed').orderBy('proposed_log_index').limit(MAX_ROWS).execute();
    return rows.map((row) => decodePromotionRow('policies', row));
  }

  async getDecision(id: string): Promise<DecisionRecord | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('decisions').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodePromotionRow('decisions', row);
  }

  async listDecisions(versionId: string, limit: number): Promise<readonly DecisionRecord[]> {
    boundedLimit(limit);
    if (!isLookupKey(versionId)) return [];
    const rows = await this.db().selectFrom('decisions').selectAll().where('version_id', '=', versionId).orderBy('log_index', 'desc').limit(limit).execute();
    return rows.map((row) => decodePromotionRow('decisions', row));
  }

  async findAllowedDecision(versionId: string, environment: string): Promise<DecisionRecord | undefined> {
    if (!isLookupKey(versionId, environment)) return undefined;
    const row = await this.db()
      .selectFrom('decisions')
      .selectAll()
      .where('version_id', '=', versionId)
      .where('environment', '=', environment)
      .where('outcome', '=', 'allow')
      .orderBy('log_index', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row === undefined ? undefined : decodePromotionRow('decisions', row);
  }

  async listActiveQuarantines(versionId: string): Promise<readonly QuarantineRecord[]> {
    if (!isLookupKey(versionId)) return [];
    const rows = await this.db().selectFrom('quarantines').selectAll().where('version_id', '=', versionId).where('cleared_at', 'is', null).orderBy('log_index').limit(MAX_ROWS).execute();
    return rows.map((row) => decodePromotionRow('quarantines', row));
  }
}

/** Promotion writes on one transaction's connection. */
export class SqlPromotionWriter implements PromotionWrites {
  constructor(
    private readonly db: () => Kysely<Database>,
    private readonly dialect: SqlDialectName,
  ) {}

  async setAlias(alias: AliasRecord): Promise<void> {
    const row = {
      namespace: alias.namespace,
      name: alias.name,
      environment: alias.environment,
      version_id: alias.versionId,
      version_digest: alias.versionDigest,
      since: alias.since,
      decision_id: alias.decisionId,
      log_index: alias.logIndex,
    };
    assertPromotionRowStorable('aliases', row);
    await writeInSavepoint(this.db(), 'the alias could not be written', { code: 'VERSION_NOT_FOUND', message: 'the version or model does not exist' }, async () => {
      await this.db()
        .insertInto('aliases')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['namespace', 'name', 'environment']).doUpdateSet({
            version_id: row.version_id,
            version_digest: row.version_digest,
            since: row.since,
            decision_id: row.decision_id,
            log_index: row.log_index,
          }),
        )
        .execute();
    });
  }

  async insertPolicy(policy: PolicyRecord): Promise<void> {
    const row = {
      id: policy.id,
      environment: policy.environment,
      number: policy.number,
      digest: policy.digest,
      document: policy.document,
      fixtures: policy.fixtures,
      status: policy.status,
      proposed_by: policy.proposedBy,
      proposed_at: policy.proposedAt,
      proposed_log_index: policy.proposedLogIndex,
      approved_by: policy.approvedBy,
      approved_at: policy.approvedAt,
      activated_at: policy.activatedAt,
      activated_log_index: policy.activatedLogIndex,
      ended_at: policy.endedAt,
      rejected_by: policy.rejection?.by ?? null,
      rejection_reason: policy.rejection?.reason ?? null,
      rejected_log_index: policy.rejection?.logIndex ?? null,
    };
    assertPromotionRowStorable('policies', row);
    await writeInSavepoint(this.db(), 'a policy with this id or number already exists', { code: 'INTERNAL', message: 'policies reference nothing' }, async () => {
      await this.db().insertInto('policies').values(row).execute();
    });
  }

  async transitionPolicy(id: string, t: PolicyTransition): Promise<void> {
    if (!isLookupKey(id)) throw new CustodyError('CONFLICT', 'no such policy in that state');
    if (!storableTexts(t.at, t.approvedBy, t.rejection?.by, t.rejection?.reason)) throw new CustodyError('VALIDATION_FAILED', 'policies: transition text holds NUL or unpaired surrogates');
    const set: Record<string, unknown> = { status: t.to };
    if (t.approvedBy !== undefined) {
      set.approved_by = t.approvedBy;
      set.approved_at = t.at;
    }
    if (t.to === 'active') {
      set.activated_at = t.at;
      set.activated_log_index = t.activatedLogIndex ?? null;
    }
    if (t.to === 'superseded' || t.to === 'rejected') set.ended_at = t.at;
    if (t.to === 'rejected' && t.rejection !== undefined) {
      set.rejected_by = t.rejection.by;
      set.rejection_reason = t.rejection.reason;
      set.rejected_log_index = t.rejection.logIndex;
    }
    const result = await this.db().updateTable('policies').set(set).where('id', '=', id).where('status', '=', t.from).executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new CustodyError('CONFLICT', `the policy is no longer ${t.from}`, { details: { policy: id } });
  }

  async lockPolicies(environment: string): Promise<void> {
    // PostgreSQL: a transaction-scoped advisory lock per environment; SQLite: the write lock the
    // transaction already holds serialises every writer.
    if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(${`custody-policies:${environment}`}))`.execute(this.db());
  }

  async insertDecision(decision: DecisionRecord): Promise<void> {
    const row = {
      id: decision.id,
      namespace: decision.namespace,
      name: decision.name,
      version_id: decision.versionId,
      version_digest: decision.versionDigest,
      environment: decision.environment,
      outcome: decision.outcome,
      policy_digest: decision.policyDigest,
      effective_digest: decision.effectiveDigest,
      input_digest: decision.inputDigest,
      results: decision.results,
      principal: decision.principal,
      principal_kind: decision.principalKind,
      decided_at: decision.decidedAt,
      log_index: decision.logIndex,
      vsa: decision.vsa,
    };
    assertPromotionRowStorable('decisions', row);
    await writeInSavepoint(this.db(), 'a decision with this id already exists', { code: 'VERSION_NOT_FOUND', message: 'the version does not exist' }, async () => {
      await this.db().insertInto('decisions').values(row).execute();
    });
  }

  async insertQuarantine(q: QuarantineRecord): Promise<void> {
    const row = {
      id: q.id,
      version_id: q.versionId,
      environment: q.environment,
      reason: q.reason,
      since: q.since,
      log_index: q.logIndex,
      cleared_at: q.clearedAt,
      cleared_by: q.clearedBy,
    };
    assertPromotionRowStorable('quarantines', row);
    await writeInSavepoint(this.db(), 'a quarantine with this id already exists', { code: 'VERSION_NOT_FOUND', message: 'the version does not exist' }, async () => {
      await this.db().insertInto('quarantines').values(row).execute();
    });
  }

  async clearQuarantines(versionId: string, environment: string, clearedAt: string, decisionId: string): Promise<number> {
    if (!isLookupKey(versionId, environment)) return 0;
    if (!storableTexts(clearedAt, decisionId)) throw new CustodyError('VALIDATION_FAILED', 'quarantines: clearing text holds NUL or unpaired surrogates');
    const result = await this.db()
      .updateTable('quarantines')
      .set({ cleared_at: clearedAt, cleared_by: decisionId })
      .where('version_id', '=', versionId)
      .where('environment', '=', environment)
      .where('cleared_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}
