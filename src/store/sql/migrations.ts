/**
 * Schema migrations of the metadata store, one ordered list for both dialects, applied by
 * `migrateDatabase` and recorded in `custody_migrations`. Several `custody serve` replicas may
 * start at once against one PostgreSQL (SPEC §3), so the whole run happens in one transaction
 * that first takes a transaction-scoped advisory lock: the second starter waits, then finds
 * nothing left to do. PostgreSQL DDL is transactional, so a failed migration leaves no trace.
 * On SQLite the run holds the database write lock (`BEGIN IMMEDIATE`, see `runInTransaction`).
 */
import { sql, type ColumnDefinitionBuilder, type Kysely } from 'kysely';
import { CustodyError } from '../../domain/errors.js';
import type { Database, SqlDialectName } from './schema.js';

/** Runs `fn` in one transaction of the given dialect (provided by the store). */
export type TransactionRunner = <T>(fn: (db: Kysely<Database>) => Promise<T>) => Promise<T>;

interface Migration {
  readonly id: number;
  readonly name: string;
  up(db: Kysely<Database>, dialect: SqlDialectName): Promise<void>;
}

/** `custod` in ASCII (48 bits, exact as a JS number): the advisory lock key every replica agrees on. */
const POSTGRES_MIGRATION_LOCK_KEY = 0x637573746f64;

/**
 * Model and namespace names sort by code point in both dialects: PostgreSQL's default collation
 * follows the server locale (which ignores `-`, `.` and `_` at first level), so pin it to "C".
 */
function byteOrdered(dialect: SqlDialectName, nullable = false): (column: ColumnDefinitionBuilder) => ColumnDefinitionBuilder {
  return (column) => {
    const required = nullable ? column : column.notNull();
    return dialect === 'postgres' ? required.modifyEnd(sql`collate "C"`) : required;
  };
}

/**
 * The type of a 64-bit integer key: `bigint` on PostgreSQL; on SQLite `integer`, whose primary
 * key is the table's rowid (already 64-bit) rather than a second index beside it.
 */
function int64Key(dialect: SqlDialectName): 'bigint' | 'integer' {
  return dialect === 'postgres' ? 'bigint' : 'integer';
}

const MIGRATIONS: readonly Migration[] = [
  {
    id: 1,
    name: 'initial schema',
    async up(db, dialect) {
      await db.schema
        .createTable('principals')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('disabled_at', 'text')
        .execute();

      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_principal_idx').on('api_tokens').column('principal_id').execute();

      await db.schema
        .createTable('role_bindings')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('namespaces', 'text')
        .addColumn('environments', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('role_bindings_principal_idx').on('role_bindings').column('principal_id').execute();

      await db.schema
        .createTable('models')
        .addColumn('namespace', 'text', byteOrdered(dialect))
        .addColumn('name', 'text', byteOrdered(dialect))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('models_pk', ['namespace', 'name'])
        .execute();

      await db.schema
        .createTable('versions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('namespace', 'text', byteOrdered(dialect))
        .addColumn('name', 'text', byteOrdered(dialect))
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('oms_root_digest', 'text', (c) => c.notNull())
        .addColumn('single_file', 'integer', (c) => c.notNull())
        .addColumn('file_count', 'integer', (c) => c.notNull())
        .addColumn('total_size', 'bigint', (c) => c.notNull())
        .addColumn('annotations', 'text')
        .addColumn('registered_at', 'text', (c) => c.notNull())
        .addColumn('registered_by', 'text', (c) => c.notNull())
        .addUniqueConstraint('versions_number_uq', ['namespace', 'name', 'number'])
        .addUniqueConstraint('versions_digest_uq', ['namespace', 'name', 'digest'])
        .addForeignKeyConstraint('versions_model_fk', ['namespace', 'name'], 'models', ['namespace', 'name'])
        .execute();

      await db.schema
        .createTable('version_files')
        .addColumn('version_id', 'text', (c) => c.notNull().references('versions.id'))
        .addColumn('ordinal', 'integer', (c) => c.notNull())
        .addColumn('path', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('version_files_pk', ['version_id', 'ordinal'])
        .execute();

      await db.schema
        .createTable('upload_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('size', 'bigint', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('upload_sessions_lookup_idx').on('upload_sessions').columns(['principal_id', 'sha256']).execute();
      await db.schema.createIndex('upload_sessions_updated_idx').on('upload_sessions').column('updated_at').execute();
    },
  },
  {
    id: 2,
    name: 'transparency log',
    async up(db, dialect) {
      // SPEC §5. Hashes are lowercase hex text so both dialects store and compare them alike.
      await db.schema
        .createTable('log_head')
        .addColumn('id', 'integer', (c) => c.primaryKey().check(sql`id = 1`))
        .addColumn('size', 'bigint', (c) => c.notNull().check(sql`size >= 0`))
        .execute();
      await db.insertInto('log_head').values({ id: 1, size: 0 }).execute();

      await db.schema
        .createTable('log_entries')
        .addColumn('idx', int64Key(dialect), (c) => c.primaryKey())
        .addColumn('leaf', 'text', (c) => c.notNull())
        .addColumn('leaf_hash', 'text', byteOrdered(dialect))
        .addColumn('type', 'text', byteOrdered(dialect))
        .addColumn('time', 'text', byteOrdered(dialect))
        .addColumn('namespace', 'text', byteOrdered(dialect, true))
        .addColumn('name', 'text', byteOrdered(dialect, true))
        .execute();
      await db.schema.createIndex('log_entries_leaf_hash_idx').on('log_entries').column('leaf_hash').execute();
      await db.schema.createIndex('log_entries_model_idx').on('log_entries').columns(['namespace', 'name', 'idx']).execute();
      await db.schema.createIndex('log_entries_type_idx').on('log_entries').columns(['type', 'idx']).execute();

      await db.schema
        .createTable('log_hashes')
        .addColumn('id', int64Key(dialect), (c) => c.primaryKey())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();

      await db.schema
        .createTable('checkpoints')
        .addColumn('size', int64Key(dialect), (c) => c.primaryKey())
        .addColumn('note', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  {
    id: 3,
    name: 'signer keys, attestations and lineage',
    async up(db, dialect) {
      await db.schema
        .createTable('signer_keys')
        .addColumn('name', 'text', (c) => byteOrdered(dialect)(c.primaryKey()))
        .addColumn('key_id', 'text', (c) => c.notNull().unique())
        .addColumn('oms_hint', 'text', (c) => c.notNull().unique())
        .addColumn('algorithm', 'text', (c) => c.notNull())
        .addColumn('public_key_pem', 'text', (c) => c.notNull())
        .addColumn('predicate_types', 'text', (c) => c.notNull())
        .addColumn('namespaces', 'text')
        .addColumn('not_before', 'text')
        .addColumn('not_after', 'text')
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addColumn('added_log_index', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .addColumn('revocation_reason', 'text')
        .addColumn('compromised_since', 'text')
        .addColumn('revoked_log_index', 'bigint')
        .execute();

      await db.schema
        .createTable('attestations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('version_id', 'text', (c) => c.notNull().references('versions.id'))
        .addColumn('version_digest', 'text', (c) => c.notNull())
        .addColumn('bundle_digest', 'text', (c) => c.notNull())
        .addColumn('pae_digest', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('key_name', 'text', (c) => c.notNull())
        .addColumn('predicate_type', 'text', (c) => c.notNull())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('bundle', 'text', (c) => c.notNull())
        .addColumn('logged_at', 'text', (c) => c.notNull())
        .addColumn('log_index', 'bigint', (c) => c.notNull())
        .addColumn('added_by', 'text', (c) => c.notNull())
        .addUniqueConstraint('attestations_statement_key_unique', ['version_id', 'pae_digest', 'key_id'])
        .execute();
      await db.schema.createIndex('attestations_version_idx').on('attestations').columns(['version_id', 'log_index']).execute();
      await db.schema.createIndex('attestations_pae_idx').on('attestations').column('pae_digest').execute();
      await db.schema.createIndex('attestations_key_idx').on('attestations').columns(['key_id', 'log_index']).execute();

      await db.schema
        .createTable('lineage_edges')
        .addColumn('child_version_id', 'text', (c) => c.notNull().references('versions.id'))
        .addColumn('child_namespace', 'text', byteOrdered(dialect))
        .addColumn('child_name', 'text', byteOrdered(dialect))
        .addColumn('child_digest', 'text', (c) => c.notNull())
        .addColumn('parent_namespace', 'text', byteOrdered(dialect))
        .addColumn('parent_name', 'text', byteOrdered(dialect))
        .addColumn('parent_digest', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('lineage_edges_pk', ['child_version_id', 'parent_namespace', 'parent_name', 'parent_digest'])
        .execute();
      await db.schema.createIndex('lineage_edges_parent_idx').on('lineage_edges').columns(['parent_namespace', 'parent_name', 'parent_digest']).execute();
    },
  },
  {
    id: 4,
    name: 'identity and access',
    async up(db) {
      // SPEC §7: OIDC workload identities of service principals, narrowed tokens, conditional
      // and revocable bindings. Revocation keeps the row (the log keeps the history anyway).
      await db.schema.alterTable('principals').addColumn('oidc_issuer', 'text').execute();
      await db.schema.alterTable('principals').addColumn('oidc_subject', 'text').execute();
      await db.schema.alterTable('principals').addColumn('oidc_condition', 'text').execute();
      await db.schema.createIndex('principals_oidc_unique').on('principals').columns(['oidc_issuer', 'oidc_subject']).unique().execute();
      await db.schema.alterTable('api_tokens').addColumn('permissions', 'text').execute();
      await db.schema.alterTable('role_bindings').addColumn('condition', 'text').execute();
      await db.schema.alterTable('role_bindings').addColumn('revoked_at', 'text').execute();
      // "Which namespaces hold this blob" for namespace-scoped readers of blobs.
      await db.schema.createIndex('version_files_sha256_idx').on('version_files').column('sha256').execute();
    },
  },
  {
    id: 5,
    name: 'environments, policies, decisions and quarantines',
    async up(db, dialect) {
      // SPEC §2, §6: one alias per model and environment; policies per environment with their
      // lifecycle; every promotion decision; quarantines after a key revocation.
      await db.schema
        .createTable('aliases')
        .addColumn('namespace', 'text', byteOrdered(dialect))
        .addColumn('name', 'text', byteOrdered(dialect))
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('version_id', 'text', (c) => c.notNull().references('versions.id'))
        .addColumn('version_digest', 'text', (c) => c.notNull())
        .addColumn('since', 'text', (c) => c.notNull())
        .addColumn('decision_id', 'text')
        .addColumn('log_index', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('aliases_pk', ['namespace', 'name', 'environment'])
        .addForeignKeyConstraint('aliases_model_fk', ['namespace', 'name'], 'models', ['namespace', 'name'])
        .execute();
      await db.schema.createIndex('aliases_version_idx').on('aliases').column('version_id').execute();

      await db.schema
        .createTable('policies')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('number', 'integer', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('document', 'text', (c) => c.notNull())
        .addColumn('fixtures', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('proposed_by', 'text', (c) => c.notNull())
        .addColumn('proposed_at', 'text', (c) => c.notNull())
        .addColumn('proposed_log_index', 'bigint', (c) => c.notNull())
        .addColumn('approved_by', 'text')
        .addColumn('approved_at', 'text')
        .addColumn('activated_at', 'text')
        .addColumn('activated_log_index', 'bigint')
        .addColumn('ended_at', 'text')
        .addUniqueConstraint('policies_environment_number_unique', ['environment', 'number'])
        .execute();
      await db.schema.createIndex('policies_status_idx').on('policies').columns(['environment', 'status']).execute();

      await db.schema
        .createTable('decisions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('version_id', 'text', (c) => c.notNull().references('versions.id'))
        .addColumn('version_digest', 'text', (c) => c.notNull())
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('policy_digest', 'text')
        .addColumn('effective_digest', 'text', (c) => c.notNull())
        .addColumn('input_digest', 'text', (c) => c.notNull())
        .addColumn('results', 'text', (c) => c.notNull())
        .addColumn('principal', 'text', (c) => c.notNull())
        .addColumn('principal_kind', 'text', (c) => c.notNull())
        .addColumn('decided_at', 'text', (c) => c.notNull())
        .addColumn('log_index', 'bigint', (c) => c.notNull())
        .addColumn('vsa', 'text')
        .execute();
      await db.schema.createIndex('decisions_version_idx').on('decisions').columns(['version_id', 'log_index']).execute();

      await db.schema
        .createTable('quarantines')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('version_id', 'text', (c) => c.notNull().references('versions.id'))
        .addColumn('environment', 'text', (c) => c.notNull())
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('since', 'text', (c) => c.notNull())
        .addColumn('log_index', 'bigint', (c) => c.notNull())
        .addColumn('cleared_at', 'text')
        .addColumn('cleared_by', 'text')
        .execute();
      await db.schema.createIndex('quarantines_version_idx').on('quarantines').column('version_id').execute();
    },
  },
  {
    id: 6,
    name: 'web ui sessions',
    async up(db) {
      // Issue 8 §2: server-side sessions behind an HttpOnly cookie. Only the SHA-256 of the
      // cookie's secret is stored; rows are deleted a day after they end or expire.
      await db.schema
        .createTable('ui_sessions')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull().references('principals.id'))
        .addColumn('token_id', 'text')
        .addColumn('csrf_token', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('authenticated_at', 'text', (c) => c.notNull())
        .addColumn('last_seen_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('ended_at', 'text')
        .execute();
      await db.schema.createIndex('ui_sessions_expires_idx').on('ui_sessions').column('expires_at').execute();
      await db.schema.createIndex('ui_sessions_ended_idx').on('ui_sessions').column('ended_at').execute();
    },
  },
  {
    id: 7,
    name: 'policy rejections',
    async up(db) {
      // Issue 8 §1: a pending proposal may be rejected with a reason; the row keeps who rejected
      // it, why, and the log index of its policy.rejected event (the time is ended_at).
      await db.schema.alterTable('policies').addColumn('rejected_by', 'text').execute();
      await db.schema.alterTable('policies').addColumn('rejection_reason', 'text').execute();
      await db.schema.alterTable('policies').addColumn('rejected_log_index', 'bigint').execute();
    },
  },
  {
    id: 8,
    name: 'web ui oidc logins',
    async up(db) {
      // Issue 8 §2: a single sign-on login between the redirect to the identity provider and its
      // callback. Only the SHA-256 of the browser cookie's secret is stored; rows live 10 minutes
      // and are deleted when used or expired.
      await db.schema
        .createTable('ui_oidc_logins')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('nonce', 'text', (c) => c.notNull())
        .addColumn('code_verifier', 'text', (c) => c.notNull())
        .addColumn('next', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('ui_oidc_logins_expires_idx').on('ui_oidc_logins').column('expires_at').execute();
    },
  },
];

/**
 * Applies every migration not yet recorded, in order, inside one transaction run by
 * `runInTransaction`. Idempotent; refuses a database migrated by a newer Custody.
 */
export async function migrateDatabase(dialect: SqlDialectName, runInTransaction: TransactionRunner): Promise<void> {
  await runInTransaction(async (db) => {
    if (dialect === 'postgres') {
      await sql`select pg_advisory_xact_lock(${sql.lit(POSTGRES_MIGRATION_LOCK_KEY)})`.execute(db);
    }
    await db.schema
      .createTable('custody_migrations')
      .ifNotExists()
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('applied_at', 'text', (c) => c.notNull())
      .execute();

    const rows = await db.selectFrom('custody_migrations').select(['id', 'name']).orderBy('id').execute();
    const applied = new Map<number, unknown>();
    for (const row of rows as readonly Record<string, unknown>[]) {
      const id = Number(row['id']);
      if (!Number.isSafeInteger(id)) throw new CustodyError('INTERNAL', 'corrupt custody_migrations row in the metadata store');
      applied.set(id, row['name']);
    }
    const known = new Set(MIGRATIONS.map((m) => m.id));
    for (const id of applied.keys()) {
      if (!known.has(id)) {
        throw new CustodyError('INTERNAL', 'the metadata store was migrated by a newer Custody; upgrade this server', {
          details: { migration: id },
        });
      }
    }
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.id)) {
        if (applied.get(migration.id) !== migration.name) {
          throw new CustodyError('INTERNAL', 'the metadata store records a different migration under this id', {
            details: { migration: migration.id },
          });
        }
        continue;
      }
      await migration.up(db, dialect);
      await db
        .insertInto('custody_migrations')
        .values({ id: migration.id, name: migration.name, applied_at: new Date().toISOString() })
        .execute();
    }
  });
}
