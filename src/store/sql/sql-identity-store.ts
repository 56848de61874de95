/**
 * The identity tables' queries (principals, API tokens, role bindings; SPEC §7): reads shared by
 * the store and a transaction, writes only inside a transaction. Nothing here is ever deleted:
 * principals are disabled, tokens and bindings revoked, so the log's history keeps its referents.
 */
import type { Kysely } from 'kysely';
import { CustodyError } from '../../domain/errors.js';
import type { ApiToken, MetadataReader, MetadataTx, Principal, RoleBinding } from '../metadata-store.js';
import { assertStorableText, isLookupKey } from './lookup-keys.js';
import { decodeRow, toSafeInteger } from './row-codecs.js';
import type { Database } from './schema.js';
import { writeInSavepoint } from './write-in-savepoint.js';

export type IdentityReads = Pick<
  MetadataReader,
  | 'countPrincipals'
  | 'getPrincipalById'
  | 'getPrincipalByName'
  | 'listPrincipals'
  | 'findPrincipalByOidc'
  | 'findTokenByHash'
  | 'getToken'
  | 'listTokens'
  | 'listBindings'
  | 'listAllBindings'
  | 'getBinding'
>;
export type IdentityWrites = Pick<MetadataTx, 'insertPrincipal' | 'disablePrincipal' | 'insertToken' | 'revokeToken' | 'insertBinding' | 'revokeBinding'>;

/** Most rows one identity list returns; a registry with more principals pages by other means. */
export const MAX_IDENTITY_ROWS = 10_000;

function countOf(value: unknown): number {
  const count = toSafeInteger(value);
  if (count === undefined || count < 0) throw new CustodyError('INTERNAL', 'corrupt count from the metadata store');
  return count;
}

function jsonList(value: readonly string[] | null, field: string): string | null {
  if (value === null) return null;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new CustodyError('VALIDATION_FAILED', `${field} must be a list of strings`, { details: { field } });
  }
  return JSON.stringify(value);
}

/** Identity reads on the executor `db()` returns at each call. */
export class SqlIdentityReader implements IdentityReads {
  constructor(private readonly db: () => Kysely<Database>) {}

  async countPrincipals(): Promise<number> {
    const row = await this.db().selectFrom('principals').select((eb) => eb.fn.countAll().as('count')).executeTakeFirst();
    return countOf(row?.count);
  }

  async getPrincipalById(id: string): Promise<Principal | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('principals').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('principals', row);
  }

  async getPrincipalByName(name: string): Promise<Principal | undefined> {
    if (!isLookupKey(name)) return undefined;
    const row = await this.db().selectFrom('principals').selectAll().where('name', '=', name).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('principals', row);
  }

  async listPrincipals(): Promise<readonly Principal[]> {
    const rows = await this.db().selectFrom('principals').selectAll().orderBy('name').limit(MAX_IDENTITY_ROWS).execute();
    return rows.map((row) => decodeRow('principals', row));
  }

  async findPrincipalByOidc(issuer: string, subject: string): Promise<Principal | undefined> {
    if (!isLookupKey(issuer, subject)) return undefined;
    const row = await this.db().selectFrom('principals').selectAll().where('oidc_issuer', '=', issuer).where('oidc_subject', '=', subject).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('principals', row);
  }

  async findTokenByHash(tokenHash: string): Promise<ApiToken | undefined> {
    if (!isLookupKey(tokenHash)) return undefined;
    const row = await this.db().selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('api_tokens', row);
  }

  async getToken(id: string): Promise<ApiToken | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('api_tokens', row);
  }

  async listTokens(principalId?: string): Promise<readonly ApiToken[]> {
    if (principalId !== undefined && !isLookupKey(principalId)) return [];
    let query = this.db().selectFrom('api_tokens').selectAll();
    if (principalId !== undefined) query = query.where('principal_id', '=', principalId);
    const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(MAX_IDENTITY_ROWS).execute();
    return rows.map((row) => decodeRow('api_tokens', row));
  }

  async listBindings(principalId: string): Promise<readonly RoleBinding[]> {
    if (!isLookupKey(principalId)) return [];
    const rows = await this.db()
      .selectFrom('role_bindings')
      .selectAll()
      .where('principal_id', '=', principalId)
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .limit(MAX_IDENTITY_ROWS)
      .execute();
    return rows.map((row) => decodeRow('role_bindings', row));
  }

  async listAllBindings(): Promise<readonly RoleBinding[]> {
    const rows = await this.db()
      .selectFrom('role_bindings')
      .selectAll()
      .where('revoked_at', 'is', null)
      .orderBy('created_at')
      .orderBy('id')
      .limit(MAX_IDENTITY_ROWS)
      .execute();
    return rows.map((row) => decodeRow('role_bindings', row));
  }

  async getBinding(id: string): Promise<RoleBinding | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('role_bindings').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeRow('role_bindings', row);
  }
}

/** Identity writes; the caller's transaction makes them atomic with their log events. */
export class SqlIdentityWriter implements IdentityWrites {
  constructor(private readonly db: () => Kysely<Database>) {}

  async insertPrincipal(principal: Principal): Promise<void> {
    if (principal.oidc !== null && principal.kind !== 'service' && principal.oidc.condition !== null) {
      throw new CustodyError('VALIDATION_FAILED', "a user principal's OIDC identity (web UI sign-on) has no condition");
    }
    const row = {
      id: principal.id,
      name: principal.name,
      kind: principal.kind,
      created_at: principal.createdAt,
      disabled_at: principal.disabledAt,
      oidc_issuer: principal.oidc?.issuer ?? null,
      oidc_subject: principal.oidc?.subject ?? null,
      oidc_condition: principal.oidc?.condition ?? null,
    };
    assertStorableText(row, 'principal');
    await writeInSavepoint(
      this.db(),
      'a principal with this id, name or OIDC identity already exists',
      { code: 'NOT_FOUND', message: 'referenced record not found' },
      async () => {
        await this.db().insertInto('principals').values(row).execute();
      },
    );
  }

  async disablePrincipal(id: string, disabledAt: string): Promise<void> {
    if (!isLookupKey(id)) throw new CustodyError('CONFLICT', 'no such enabled principal');
    const result = await this.db().updateTable('principals').set({ disabled_at: disabledAt }).where('id', '=', id).where('disabled_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new CustodyError('CONFLICT', 'no such enabled principal');
  }

  async insertToken(token: ApiToken): Promise<void> {
    const row = {
      id: token.id,
      principal_id: token.principalId,
      name: token.name,
      token_hash: token.tokenHash,
      created_at: token.createdAt,
      expires_at: token.expiresAt,
      revoked_at: token.revokedAt,
      permissions: jsonList(token.permissions, 'permissions'),
    };
    assertStorableText(row, 'token');
    await writeInSavepoint(this.db(), 'a token with this id or hash already exists', { code: 'NOT_FOUND', message: 'the token principal does not exist' }, async () => {
      await this.db().insertInto('api_tokens').values(row).execute();
    });
  }

  async revokeToken(id: string, revokedAt: string): Promise<void> {
    if (!isLookupKey(id)) throw new CustodyError('CONFLICT', 'no such unrevoked token');
    const result = await this.db().updateTable('api_tokens').set({ revoked_at: revokedAt }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new CustodyError('CONFLICT', 'no such unrevoked token');
  }

  async insertBinding(binding: RoleBinding): Promise<void> {
    const row = {
      id: binding.id,
      principal_id: binding.principalId,
      role: binding.role,
      namespaces: jsonList(binding.namespaces, 'namespaces'),
      environments: jsonList(binding.environments, 'environments'),
      condition: binding.condition,
      created_at: binding.createdAt,
      revoked_at: binding.revokedAt,
    };
    assertStorableText(row, 'role binding');
    await writeInSavepoint(this.db(), 'a role binding with this id already exists', { code: 'NOT_FOUND', message: 'referenced record not found' }, async () => {
      await this.db().insertInto('role_bindings').values(row).execute();
    });
  }

  async revokeBinding(id: string, revokedAt: string): Promise<void> {
    if (!isLookupKey(id)) throw new CustodyError('CONFLICT', 'no such unrevoked binding');
    const result = await this.db().updateTable('role_bindings').set({ revoked_at: revokedAt }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new CustodyError('CONFLICT', 'no such unrevoked binding');
  }
}
