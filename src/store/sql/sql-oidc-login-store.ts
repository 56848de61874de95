/**
 * The web UI's pending single sign-on logins (issue 8 §2, `service/oidc-sign-in.ts`): a read shared
 * by the store and a transaction, writes only inside a transaction. A row holds the SHA-256 of the
 * browser cookie's secret, never the secret; rows are decoded on the way out and checked against
 * the same decoder on the way in, like `sql-session-store.ts`.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import type { MetadataReader, MetadataTx, OidcLogin } from '../metadata-store.js';
import { assertStorableText, isLookupKey } from './lookup-keys.js';
import { hex64, toSafeInteger } from './row-codecs.js';
import type { Database, UiOidcLoginsTable } from './schema.js';
import { writeInSavepoint } from './write-in-savepoint.js';

export type OidcLoginReads = Pick<MetadataReader, 'getOidcLogin'>;
export type OidcLoginWrites = Pick<MetadataTx, 'insertOidcLogin' | 'deleteOidcLogin' | 'deleteOidcLoginsExpiredBefore'>;

const required = z.string().min(1);

const oidcLoginRow = z
  .object({
    id: required,
    secret_hash: hex64,
    state: required,
    nonce: required,
    code_verifier: required,
    next: required,
    created_at: required,
    expires_at: required,
  })
  .transform(
    (r): OidcLogin => ({
      id: r.id,
      secretHash: r.secret_hash,
      state: r.state,
      nonce: r.nonce,
      codeVerifier: r.code_verifier,
      next: r.next,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
    }),
  );

/** The first column a row fails on, for messages that never show the content. */
function failedColumn(error: z.ZodError): string {
  const column = error.issues[0]?.path[0];
  return typeof column === 'string' ? column : '(row)';
}

function decodeOidcLogin(row: unknown): OidcLogin {
  const result = oidcLoginRow.safeParse(row);
  if (!result.success) {
    throw new CustodyError('INTERNAL', 'corrupt ui_oidc_logins row in the metadata store', { details: { table: 'ui_oidc_logins', column: failedColumn(result.error) } });
  }
  return result.data;
}

function toRow(login: OidcLogin): UiOidcLoginsTable {
  const row: UiOidcLoginsTable = {
    id: login.id,
    secret_hash: login.secretHash,
    state: login.state,
    nonce: login.nonce,
    code_verifier: login.codeVerifier,
    next: login.next,
    created_at: login.createdAt,
    expires_at: login.expiresAt,
  };
  const result = oidcLoginRow.safeParse(row);
  if (!result.success) {
    const name = failedColumn(result.error);
    throw new CustodyError('VALIDATION_FAILED', `oidc login: ${name} is not storable`, { details: { column: name } });
  }
  assertStorableText({ ...row }, 'oidc login');
  return row;
}

/** Pending-login reads on the executor `db()` returns at each call. */
export class SqlOidcLoginReader implements OidcLoginReads {
  constructor(private readonly db: () => Kysely<Database>) {}

  async getOidcLogin(id: string): Promise<OidcLogin | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('ui_oidc_logins').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeOidcLogin(row);
  }
}

/** Pending-login writes; the caller's transaction makes them atomic. */
export class SqlOidcLoginWriter implements OidcLoginWrites {
  constructor(private readonly db: () => Kysely<Database>) {}

  async insertOidcLogin(login: OidcLogin): Promise<void> {
    const row = toRow(login);
    await writeInSavepoint(this.db(), 'a pending login with this id already exists', { code: 'INTERNAL', message: 'unexpected reference' }, async () => {
      await this.db().insertInto('ui_oidc_logins').values(row).execute();
    });
  }

  async deleteOidcLogin(id: string): Promise<boolean> {
    if (!isLookupKey(id)) return false;
    const result = await this.db().deleteFrom('ui_oidc_logins').where('id', '=', id).executeTakeFirst();
    return result.numDeletedRows === 1n;
  }

  async deleteOidcLoginsExpiredBefore(cutoff: string): Promise<number> {
    assertStorableText({ cutoff }, 'oidc login');
    const result = await this.db().deleteFrom('ui_oidc_logins').where('expires_at', '<', cutoff).executeTakeFirst();
    const count = toSafeInteger(result.numDeletedRows);
    if (count === undefined || count < 0) throw new CustodyError('INTERNAL', 'corrupt row count from the metadata store');
    return count;
  }
}
