/**
 * The metadata store seam (STYLE.md §2, SPEC §3): principals, tokens, role bindings, models,
 * versions and upload sessions. One SQL implementation over two dialects — SQLite (embedded
 * default) and PostgreSQL (scale-out) — in `sql/`; one contract suite runs over both
 * (`test/store/metadata-store.contract.test.ts`). Domain and service code see only this file.
 *
 * Writes happen inside `transaction`, which commits everything or nothing. Versions have no
 * update or delete operation at all: immutability starts at the seam.
 */
import type { ManifestFile } from '../domain/manifest.js';
import type { AttestationRecord, AttestationRole, KeyRevocation, LineageEdge, SignerKeyRecord } from './trust-records.js';
import type { AliasRecord, DecisionRecord, PolicyRecord, PolicyTransition, QuarantineRecord } from './promotion-records.js';

export type { AttestationRecord, AttestationRole, KeyRevocation, LineageEdge, SignerKeyRecord } from './trust-records.js';
export type { AliasRecord, DecisionOutcome, DecisionRecord, PolicyRecord, PolicyStatus, PolicyTransition, QuarantineRecord } from './promotion-records.js';

export type PrincipalKind = 'user' | 'service';

/** The OIDC workload identity a service principal acts for (SPEC §7). */
export interface OidcIdentity {
  /** Compared byte for byte with the token's `iss`. */
  readonly issuer: string;
  /** Compared byte for byte with the token's `sub`. */
  readonly subject: string;
  /** CEL over `claims` that must hold too, or null. */
  readonly condition: string | null;
}

export interface Principal {
  readonly id: string;
  readonly name: string;
  readonly kind: PrincipalKind;
  readonly createdAt: string;
  readonly disabledAt: string | null;
  /** Only services have one; (issuer, subject) is unique across principals. */
  readonly oidc: OidcIdentity | null;
}

export interface ApiToken {
  readonly id: string;
  readonly principalId: string;
  readonly name: string;
  /** Lowercase hex SHA-256 of the token secret; the secret itself is never stored. */
  readonly tokenHash: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  /** The permissions the token is narrowed to (each also needs a binding), or null for all. */
  readonly permissions: readonly string[] | null;
}

export interface RoleBinding {
  readonly id: string;
  readonly principalId: string;
  readonly role: string;
  /** null = every namespace. */
  readonly namespaces: readonly string[] | null;
  /** null = every environment. */
  readonly environments: readonly string[] | null;
  /** CEL over the request's OIDC `claims` that must hold for the binding to apply, or null. */
  readonly condition: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface ModelRecord {
  readonly namespace: string;
  readonly name: string;
  readonly createdAt: string;
}

export interface ModelSummary extends ModelRecord {
  readonly versionCount: number;
  readonly latestNumber: number | null;
  readonly latestDigest: string | null;
  readonly latestRegisteredAt: string | null;
}

export interface VersionRecord {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly number: number;
  /** `sha256:<hex>` manifest digest: the version's identity. */
  readonly digest: string;
  /** `sha256:<hex>` OMS root digest, kept for OpenSSF Model Signing interop. */
  readonly omsRootDigest: string;
  /** True when the model was pushed as a single file (pull writes a file, not a directory). */
  readonly singleFile: boolean;
  readonly fileCount: number;
  readonly totalSize: number;
  /** Free JSON from the pusher; never verified. */
  readonly annotations: unknown;
  readonly registeredAt: string;
  /** Principal name of the pusher. */
  readonly registeredBy: string;
}

export interface NewVersion {
  readonly namespace: string;
  readonly name: string;
  readonly digest: string;
  readonly omsRootDigest: string;
  readonly singleFile: boolean;
  readonly files: readonly ManifestFile[];
  readonly annotations: unknown;
  readonly registeredAt: string;
  readonly registeredBy: string;
}

export interface UploadSession {
  readonly id: string;
  readonly principalId: string;
  readonly sha256: string;
  readonly size: number;
  readonly createdAt: string;
  readonly updatedAt: string;
}

/**
 * A web UI single sign-on login in progress (issue 8 §2, `service/oidc-sign-in.ts`): started at
 * `GET /sign-in/oidc`, consumed by the provider's callback. The browser holds a short-lived
 * cookie `<id>.<secret>`; only the secret's SHA-256 is stored. State, nonce and PKCE verifier
 * stay on the server.
 */
export interface OidcLogin {
  readonly id: string;
  /** Lowercase hex SHA-256 of the cookie secret. */
  readonly secretHash: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  /** The path on this server to return to after signing in. */
  readonly next: string;
  readonly createdAt: string;
  readonly expiresAt: string;
}

/**
 * A signed-in web UI session (issue 8 §2), referenced by an HttpOnly cookie `<id>.<secret>`.
 * Only the secret's SHA-256 is stored, so a database dump cannot be replayed as a cookie.
 */
export interface UiSession {
  readonly id: string;
  /** Lowercase hex SHA-256 of the cookie secret; the secret itself is never stored. */
  readonly secretHash: string;
  readonly principalId: string;
  /** The API token the user signed in with, or null for a sign-in without one. */
  readonly tokenId: string | null;
  /** The per-session CSRF token every unsafe UI request must echo. */
  readonly csrfToken: string;
  readonly createdAt: string;
  /** The last time the user proved who they are (sign-in or re-authentication). */
  readonly authenticatedAt: string;
  readonly lastSeenAt: string;
  /** The absolute end, whatever the activity. */
  readonly expiresAt: string;
  /** When the session was signed out or found expired, or null while it is open. */
  readonly endedAt: string | null;
}

/** One leaf of the transparency log (SPEC §4.4, §5). */
export interface LogEntryRecord {
  readonly index: number;
  /** The leaf bytes as text: the event's RFC 8785 canonical JSON. */
  readonly leaf: string;
  /** Lowercase hex RFC 6962 leaf hash, SHA-256(0x00 ‖ leaf). */
  readonly leafHash: string;
  readonly type: string;
  readonly time: string;
  /** The model the event concerns, for audit filters; null for other events. */
  readonly namespace: string | null;
  readonly name: string | null;
}

export type NewLogEntry = Omit<LogEntryRecord, 'index'>;

/** A stored hash of a complete subtree, by its dense stored-hash id (`log/stored-hashes.ts`). */
export interface LogHash {
  readonly id: number;
  readonly hash: Buffer;
}

/** A signed checkpoint (C2SP signed-note text) of the log at `size`. */
export interface CheckpointRecord {
  readonly size: number;
  readonly note: string;
  readonly createdAt: string;
}

export interface LogQuery {
  readonly types?: readonly string[];
  readonly namespace?: string;
  readonly name?: string;
  /** Only entries whose time is at or after this instant (RFC 3339). */
  readonly since?: string;
  /** Only entries with an index below this one (paging backwards). */
  readonly beforeIndex?: number;
  readonly limit: number;
}

/** How often a key signed: its attestations' count and the newest one's log time. */
export interface KeyAttestationCount {
  readonly count: number;
  /** `loggedAt` of the key's most recently logged attestation. */
  readonly lastSignedAt: string;
}

/** One attestation a key signed, with the version it is about (the key detail page's row). */
export interface KeyAttestation {
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly versionNumber: number;
  /** `sha256:<hex>` manifest digest of the version. */
  readonly versionDigest: string;
  readonly predicateType: string;
  readonly role: AttestationRole;
  readonly logIndex: number;
  readonly loggedAt: string;
  readonly addedBy: string;
}

export interface Page<T> {
  readonly items: readonly T[];
  /** Opaque cursor for the next page, or null at the end. */
  readonly nextCursor: string | null;
}

/** Reads available both inside and outside a transaction. */
export interface MetadataReader {
  countPrincipals(): Promise<number>;
  getPrincipalById(id: string): Promise<Principal | undefined>;
  getPrincipalByName(name: string): Promise<Principal | undefined>;
  /** Every principal, disabled ones too, by name. */
  listPrincipals(): Promise<readonly Principal[]>;
  findPrincipalByOidc(issuer: string, subject: string): Promise<Principal | undefined>;
  findTokenByHash(tokenHash: string): Promise<ApiToken | undefined>;
  getToken(id: string): Promise<ApiToken | undefined>;
  /** Tokens (revoked and expired too), newest first; of one principal when given. */
  listTokens(principalId?: string): Promise<readonly ApiToken[]>;
  /** A principal's bindings that are not revoked, oldest first. */
  listBindings(principalId: string): Promise<readonly RoleBinding[]>;
  /** Every binding that is not revoked, oldest first. */
  listAllBindings(): Promise<readonly RoleBinding[]>;
  /** A binding by id, revoked or not. */
  getBinding(id: string): Promise<RoleBinding | undefined>;

  getModel(namespace: string, name: string): Promise<ModelRecord | undefined>;
  /** Models ordered by namespace then name; `cursor` is the last page's `nextCursor`. */
  /** `namespaces` restricts the page to those namespaces (a caller with namespace-scoped read). */
  listModels(options: {
    readonly limit: number;
    readonly cursor?: string;
    readonly namespace?: string;
    readonly namespaces?: readonly string[];
  }): Promise<Page<ModelSummary>>;
  getVersionByNumber(namespace: string, name: string, number: number): Promise<VersionRecord | undefined>;
  getVersionByDigest(namespace: string, name: string, digest: string): Promise<VersionRecord | undefined>;
  /** Versions newest first. */
  listVersions(namespace: string, name: string, options: { readonly limit: number; readonly cursor?: string }): Promise<Page<VersionRecord>>;
  /** Files in canonical order. */
  getVersionFiles(versionId: string): Promise<readonly ManifestFile[]>;
  /** True when a version in one of `namespaces` lists a file with this sha256 (hex). */
  blobInNamespaces(sha256: string, namespaces: readonly string[]): Promise<boolean>;

  /** Number of leaves in the log (the committed head). */
  logSize(): Promise<number>;
  /** Entries with `start <= index < end`, in order (at most 1,000 per call). */
  getLogEntries(start: number, end: number): Promise<readonly LogEntryRecord[]>;
  /** Indexes of the entries whose leaf hash is `leafHash` (hex), ascending. */
  findLogIndexesByLeafHash(leafHash: string): Promise<readonly number[]>;
  /** Stored subtree hashes by id, in the order asked; INTERNAL if one is missing or corrupt. */
  readLogHashes(ids: readonly number[]): Promise<Buffer[]>;
  getLatestCheckpoint(): Promise<CheckpointRecord | undefined>;
  getCheckpoint(size: number): Promise<CheckpointRecord | undefined>;
  /** Entries matching the filters, newest first. */
  queryLogEntries(query: LogQuery): Promise<readonly LogEntryRecord[]>;

  getSignerKey(name: string): Promise<SignerKeyRecord | undefined>;
  /** The key whose key id or OMS hint (hex) is `hint`. */
  findSignerKeyByHint(hint: string): Promise<SignerKeyRecord | undefined>;
  /** Every key, revoked ones too, by name. */
  listSignerKeys(): Promise<readonly SignerKeyRecord[]>;
  /** A version's attestations in log order. */
  listAttestations(versionId: string): Promise<readonly AttestationRecord[]>;
  findAttestation(versionId: string, paeDigest: string, keyId: string): Promise<AttestationRecord | undefined>;
  /**
   * Per key id, how many attestations the key signed and when the newest was logged, in one
   * grouped query; keys that signed nothing are absent. `namespaces` counts only attestations
   * on versions in those namespaces (a namespace-scoped reader).
   */
  attestationCountsByKey(options?: { readonly namespaces?: readonly string[] }): Promise<ReadonlyMap<string, KeyAttestationCount>>;
  /**
   * The attestations signed by `keyId`, newest (highest log index) first, keyset-paginated;
   * `cursor` is the last page's `nextCursor` (VALIDATION_FAILED when it is not one). `namespaces`
   * lists only attestations on versions in those namespaces.
   */
  listAttestationsByKey(
    keyId: string,
    options: { readonly limit: number; readonly cursor?: string; readonly namespaces?: readonly string[] },
  ): Promise<Page<KeyAttestation>>;
  /** Any stored attestation over this signed PAE digest, whatever its version (replay detection). */
  findAttestationByPaeDigest(paeDigest: string): Promise<AttestationRecord | undefined>;
  /** The parents a version's provenance names. */
  listParentEdges(versionId: string): Promise<readonly LineageEdge[]>;
  /** The versions whose provenance names `namespace/name@digest` as a parent. */
  listChildEdges(namespace: string, name: string, digest: string): Promise<readonly LineageEdge[]>;

  getAlias(namespace: string, name: string, environment: string): Promise<AliasRecord | undefined>;
  /** A model's aliases, in no particular order (the caller orders by its environments). */
  listAliases(namespace: string, name: string): Promise<readonly AliasRecord[]>;
  /** The aliases pointing at a version: the environments it is currently in. */
  listAliasesOfVersion(versionId: string): Promise<readonly AliasRecord[]>;
  /** Aliases pointing at versions that hold an attestation signed by `keyId` (revocation reaction). */
  listAliasesSignedBy(keyId: string): Promise<readonly AliasRecord[]>;
  /** The first `limit` (1–1000) aliases of `environment` across all models, by namespace and name. */
  listAliasesInEnvironment(environment: string, limit: number): Promise<readonly AliasRecord[]>;

  getPolicy(id: string): Promise<PolicyRecord | undefined>;
  getActivePolicy(environment: string): Promise<PolicyRecord | undefined>;
  /** An environment's policies, newest (highest number) first, at most `limit`. */
  listPolicies(environment: string, limit: number): Promise<readonly PolicyRecord[]>;
  /** Proposed policies of every environment, oldest first. */
  listProposedPolicies(): Promise<readonly PolicyRecord[]>;

  getDecision(id: string): Promise<DecisionRecord | undefined>;
  /** A version's decisions, newest first, at most `limit`. */
  listDecisions(versionId: string, limit: number): Promise<readonly DecisionRecord[]>;
  /** The newest allowed decision that moved `environment`'s alias to this version, if any. */
  findAllowedDecision(versionId: string, environment: string): Promise<DecisionRecord | undefined>;

  /** A version's quarantines not yet cleared. */
  listActiveQuarantines(versionId: string): Promise<readonly QuarantineRecord[]>;

  getUploadSession(id: string): Promise<UploadSession | undefined>;
  findUploadSession(principalId: string, sha256: string, size: number): Promise<UploadSession | undefined>;
  listUploadSessionsUpdatedBefore(instant: string): Promise<readonly UploadSession[]>;

  /** A UI session by id, ended ones too. */
  getUiSession(id: string): Promise<UiSession | undefined>;

  /** A pending single sign-on login by id, expired ones too. */
  getOidcLogin(id: string): Promise<OidcLogin | undefined>;
}

/** Reads and writes inside one transaction. */
export interface MetadataTx extends MetadataReader {
  /** CONFLICT when the name or the OIDC issuer + subject is taken. */
  insertPrincipal(principal: Principal): Promise<void>;
  /** CONFLICT when the principal does not exist or is already disabled. */
  disablePrincipal(id: string, disabledAt: string): Promise<void>;
  insertToken(token: ApiToken): Promise<void>;
  /** CONFLICT when the token does not exist or is already revoked. */
  revokeToken(id: string, revokedAt: string): Promise<void>;
  insertBinding(binding: RoleBinding): Promise<void>;
  /** CONFLICT when the binding does not exist or is already revoked. */
  revokeBinding(id: string, revokedAt: string): Promise<void>;

  /** Creates the model if absent; returns it either way. */
  ensureModel(namespace: string, name: string, createdAt: string): Promise<ModelRecord>;
  /**
   * Serialises writers of one model until the transaction ends (PostgreSQL: row lock; SQLite:
   * the database write lock the transaction already holds).
   */
  lockModel(namespace: string, name: string): Promise<void>;
  /** Inserts the version with the next number for its model; returns the stored record. */
  insertVersion(version: NewVersion): Promise<VersionRecord>;

  /**
   * Locks the log head until the transaction ends — the one sequencing point when several
   * replicas share a database (PostgreSQL: row lock; SQLite: the write lock the transaction
   * holds) — and returns the current size.
   */
  lockLogHead(): Promise<number>;
  /** Inserts entries at indexes `start`, `start + 1`, …; CONFLICT if an index is taken. */
  insertLogEntries(start: number, entries: readonly NewLogEntry[]): Promise<void>;
  insertLogHashes(hashes: readonly LogHash[]): Promise<void>;
  /** Moves the head to `size` (only forward; INTERNAL otherwise). */
  setLogHead(size: number): Promise<void>;
  /** Stores a checkpoint; a second one for the same size is ignored. */
  insertCheckpoint(checkpoint: CheckpointRecord): Promise<void>;

  /** CONFLICT when the name or the public key is already registered. */
  insertSignerKey(key: SignerKeyRecord): Promise<void>;
  /** CONFLICT when the key does not exist or is already revoked. */
  revokeSignerKey(name: string, revocation: KeyRevocation): Promise<void>;
  /** CONFLICT when the same statement by the same key is already stored for the version. */
  insertAttestation(attestation: AttestationRecord): Promise<void>;
  insertLineageEdges(edges: readonly LineageEdge[]): Promise<void>;

  /** Points an environment's alias at a version (insert or move). */
  setAlias(alias: AliasRecord): Promise<void>;
  /** Next policy number for the environment is the caller's job (max + 1 under lockPolicies). */
  insertPolicy(policy: PolicyRecord): Promise<void>;
  /** CONFLICT when the policy is not in `transition.from`. */
  transitionPolicy(id: string, transition: PolicyTransition): Promise<void>;
  /** Serialises policy changes of one environment until the transaction ends. */
  lockPolicies(environment: string): Promise<void>;
  insertDecision(decision: DecisionRecord): Promise<void>;
  insertQuarantine(quarantine: QuarantineRecord): Promise<void>;
  /** Clears the version's active quarantines in `environment`; returns how many. */
  clearQuarantines(versionId: string, environment: string, clearedAt: string, decisionId: string): Promise<number>;

  insertUploadSession(session: UploadSession): Promise<void>;
  touchUploadSession(id: string, updatedAt: string): Promise<void>;
  deleteUploadSession(id: string): Promise<void>;

  /** CONFLICT when the id is taken; PRINCIPAL_NOT_FOUND when the principal does not exist. */
  insertUiSession(session: UiSession): Promise<void>;
  /** Records activity; CONFLICT when the session does not exist or has ended. */
  touchUiSession(id: string, lastSeenAt: string): Promise<void>;
  /** Records a fresh proof of identity; CONFLICT when the session does not exist or has ended. */
  reauthenticateUiSession(id: string, authenticatedAt: string): Promise<void>;
  /** Ends the session; a session already ended or absent is left as it is. */
  endUiSession(id: string, endedAt: string): Promise<void>;
  /** Deletes sessions that ended, or whose absolute end passed, before `cutoff`; returns how many. */
  deleteUiSessionsEndedBefore(cutoff: string): Promise<number>;

  /** CONFLICT when the id is taken. */
  insertOidcLogin(login: OidcLogin): Promise<void>;
  /** Deletes a pending login; true when this call deleted it (so it is used at most once). */
  deleteOidcLogin(id: string): Promise<boolean>;
  /** Deletes pending logins that expired before `cutoff`; returns how many. */
  deleteOidcLoginsExpiredBefore(cutoff: string): Promise<number>;
}

export interface MetadataStore extends MetadataReader {
  /** Applies pending schema migrations (idempotent, safe with concurrent starters). */
  migrate(): Promise<void>;
  /** Runs `fn` in one transaction: all of its writes commit, or none do. */
  transaction<T>(fn: (tx: MetadataTx) => Promise<T>): Promise<T>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
  /** `sqlite` or `postgres`, for logs and metrics only. */
  readonly dialect: 'sqlite' | 'postgres';
}
