/**
 * The metadata store's tables as Kysely sees them, shared by the SQLite and PostgreSQL dialects
 * (created by `migrations.ts`; rows read back are validated by `row-codecs.ts`). Select types are
 * deliberately loose where the drivers differ: PostgreSQL returns `bigint` and `count(*)` as
 * strings, and SQLite has no boolean.
 */
import type { ColumnType } from 'kysely';

/** A 64-bit integer column: a JS number on the way in; number, string or bigint on the way out. */
export type BigIntColumn = ColumnType<number | string | bigint, number, number>;

/** A 0/1 flag: SQLite has no boolean type and better-sqlite3 cannot bind JS booleans. */
export type FlagColumn = ColumnType<number | boolean, number, number>;

/** Applied schema migrations (`migrations.ts`). */
export interface MigrationsTable {
  id: number;
  name: string;
  applied_at: string;
}

export interface AliasesTable {
  namespace: string;
  name: string;
  environment: string;
  version_id: string;
  version_digest: string;
  since: string;
  decision_id: string | null;
  log_index: number;
}

export interface PoliciesTable {
  id: string;
  environment: string;
  number: number;
  digest: string;
  document: string;
  fixtures: string;
  status: string;
  proposed_by: string;
  proposed_at: string;
  proposed_log_index: number;
  approved_by: string | null;
  approved_at: string | null;
  activated_at: string | null;
  activated_log_index: number | null;
  ended_at: string | null;
  /** Migration 7: who rejected a proposal, why, and the log index of its `policy.rejected` event. */
  rejected_by: string | null;
  rejection_reason: string | null;
  rejected_log_index: number | null;
}

export interface DecisionsTable {
  id: string;
  namespace: string;
  name: string;
  version_id: string;
  version_digest: string;
  environment: string;
  outcome: string;
  policy_digest: string | null;
  effective_digest: string;
  input_digest: string;
  results: string;
  principal: string;
  principal_kind: string;
  decided_at: string;
  log_index: number;
  vsa: string | null;
}

export interface QuarantinesTable {
  id: string;
  version_id: string;
  environment: string;
  reason: string;
  since: string;
  log_index: number;
  cleared_at: string | null;
  cleared_by: string | null;
}

export interface PrincipalsTable {
  id: string;
  name: string;
  kind: string;
  created_at: string;
  disabled_at: string | null;
  oidc_issuer: string | null;
  oidc_subject: string | null;
  oidc_condition: string | null;
}

export interface ApiTokensTable {
  id: string;
  principal_id: string;
  name: string;
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
  /** JSON array of permissions the token is narrowed to, or null. */
  permissions: string | null;
}

export interface RoleBindingsTable {
  id: string;
  principal_id: string;
  role: string;
  /** JSON array of namespaces, or null for every namespace. */
  namespaces: string | null;
  /** JSON array of environments, or null for every environment. */
  environments: string | null;
  condition: string | null;
  created_at: string;
  revoked_at: string | null;
}

export interface ModelsTable {
  namespace: string;
  name: string;
  created_at: string;
}

export interface VersionsTable {
  id: string;
  namespace: string;
  name: string;
  number: number;
  digest: string;
  oms_root_digest: string;
  single_file: FlagColumn;
  file_count: number;
  total_size: BigIntColumn;
  /** JSON text, or null when the pusher sent none. */
  annotations: string | null;
  registered_at: string;
  registered_by: string;
}

export interface VersionFilesTable {
  version_id: string;
  ordinal: number;
  path: string;
  size: BigIntColumn;
  sha256: string;
}

export interface UploadSessionsTable {
  id: string;
  principal_id: string;
  sha256: string;
  size: BigIntColumn;
  created_at: string;
  updated_at: string;
}

/** Pending single sign-on logins (`sql-oidc-login-store.ts`); `secret_hash` is 64 lowercase hex. */
export interface UiOidcLoginsTable {
  id: string;
  secret_hash: string;
  state: string;
  nonce: string;
  code_verifier: string;
  next: string;
  created_at: string;
  expires_at: string;
}

/** Web UI sessions (`sql-session-store.ts`); `secret_hash` is 64 lowercase hex. */
export interface UiSessionsTable {
  id: string;
  secret_hash: string;
  principal_id: string;
  token_id: string | null;
  csrf_token: string;
  created_at: string;
  authenticated_at: string;
  last_seen_at: string;
  expires_at: string;
  ended_at: string | null;
}

/** The transparency log's committed size: one row, id 1, locked to sequence appends. */
export interface LogHeadTable {
  id: number;
  size: BigIntColumn;
}

/** Log leaves by index; `leaf_hash` is 64 lowercase hex. */
export interface LogEntriesTable {
  idx: BigIntColumn;
  leaf: string;
  leaf_hash: string;
  type: string;
  time: string;
  namespace: string | null;
  name: string | null;
}

/** Stored subtree hashes by dense id (`log/stored-hashes.ts`), 64 lowercase hex. */
export interface LogHashesTable {
  id: BigIntColumn;
  hash: string;
}

/** Signed checkpoints (C2SP signed notes) by tree size. */
export interface CheckpointsTable {
  size: BigIntColumn;
  note: string;
  created_at: string;
}

/** Trusted signer keys (SPEC §4.2); JSON arrays as text. */
export interface SignerKeysTable {
  name: string;
  key_id: string;
  oms_hint: string;
  algorithm: string;
  public_key_pem: string;
  predicate_types: string;
  namespaces: string | null;
  not_before: string | null;
  not_after: string | null;
  added_at: string;
  added_by: string;
  added_log_index: BigIntColumn;
  revoked_at: string | null;
  revoked_by: string | null;
  revocation_reason: string | null;
  compromised_since: string | null;
  revoked_log_index: BigIntColumn | null;
}

/** Accepted attestations, whole bundles as received. */
export interface AttestationsTable {
  id: string;
  version_id: string;
  version_digest: string;
  bundle_digest: string;
  pae_digest: string;
  key_id: string;
  key_name: string;
  predicate_type: string;
  role: string;
  bundle: string;
  logged_at: string;
  log_index: BigIntColumn;
  added_by: string;
}

/** Parents declared by verified provenance. */
export interface LineageEdgesTable {
  child_version_id: string;
  child_namespace: string;
  child_name: string;
  child_digest: string;
  parent_namespace: string;
  parent_name: string;
  parent_digest: string;
}

export interface Database {
  custody_migrations: MigrationsTable;
  aliases: AliasesTable;
  policies: PoliciesTable;
  decisions: DecisionsTable;
  quarantines: QuarantinesTable;
  principals: PrincipalsTable;
  api_tokens: ApiTokensTable;
  role_bindings: RoleBindingsTable;
  models: ModelsTable;
  versions: VersionsTable;
  version_files: VersionFilesTable;
  upload_sessions: UploadSessionsTable;
  ui_sessions: UiSessionsTable;
  ui_oidc_logins: UiOidcLoginsTable;
  log_head: LogHeadTable;
  log_entries: LogEntriesTable;
  log_hashes: LogHashesTable;
  checkpoints: CheckpointsTable;
  signer_keys: SignerKeysTable;
  attestations: AttestationsTable;
  lineage_edges: LineageEdgesTable;
}

export type SqlDialectName = 'sqlite' | 'postgres';
