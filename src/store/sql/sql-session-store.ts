/**
 * The web UI sessions' queries (issue 8 §2, `service/session-service.ts`): a read shared by the
 * store and a transaction, writes only inside a transaction. A row holds the SHA-256 of the
 * cookie's secret, never the secret; rows read back are decoded like every other table's, and a
 * row about to be written is checked against the same decoder so nothing stored is unreadable.
 */
import type { Kysely } from 'kysely';
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import type { MetadataReader, MetadataTx, UiSession } from '../metadata-store.js';
import { assertStorableText, isLookupKey } from './lookup-keys.js';
import { hex64, toSafeInteger } from './row-codecs.js';
import type { Database, UiSessionsTable } from './schema.js';
import { writeInSavepoint } from './write-in-savepoint.js';

export type UiSessionReads = Pick<MetadataReader, 'getUiSession'>;
export type UiSessionWrites = Pick<
  MetadataTx,
  'insertUiSession' | 'touchUiSession' | 'reauthenticateUiSession' | 'endUiSession' | 'deleteUiSessionsEndedBefore'
>;

const required = z.string().min(1);

const uiSessionRow = z
  .object({
    id: required,
    secret_hash: hex64,
    principal_id: required,
    token_id: required.nullable(),
    csrf_token: required,
    created_at: required,
    authenticated_at: required,
    last_seen_at: required,
    expires_at: required,
    ended_at: required.nullable(),
  })
  .transform(
    (r): UiSession => ({
      id: r.id,
      secretHash: r.secret_hash,
      principalId: r.principal_id,
      tokenId: r.token_id,
      csrfToken: r.csrf_token,
      createdAt: r.created_at,
      authenticatedAt: r.authenticated_at,
      lastSeenAt: r.last_seen_at,
      expiresAt: r.expires_at,
      endedAt: r.ended_at,
    }),
  );

/** Validates a `ui_sessions` row; a corrupt one throws INTERNAL naming the column, never its content. */
function decodeUiSession(row: unknown): UiSession {
  const result = uiSessionRow.safeParse(row);
  if (!result.success) {
    const column = result.error.issues[0]?.path[0];
    throw new CustodyError('INTERNAL', 'corrupt ui_sessions row in the metadata store', {
      details: { table: 'ui_sessions', column: typeof column === 'string' ? column : null },
    });
  }
  return result.data;
}

/** The row of `session`, or VALIDATION_FAILED naming the first column the read path would refuse. */
function toRow(session: UiSession): UiSessionsTable {
  const row: UiSessionsTable = {
    id: session.id,
    secret_hash: session.secretHash,
    principal_id: session.principalId,
    token_id: session.tokenId,
    csrf_token: session.csrfToken,
    created_at: session.createdAt,
    authenticated_at: session.authenticatedAt,
    last_seen_at: session.lastSeenAt,
    expires_at: session.expiresAt,
    ended_at: session.endedAt,
  };
  const result = uiSessionRow.safeParse(row);
  if (!result.success) {
    const column = result.error.issues[0]?.path[0];
    const name = typeof column === 'string' ? column : '(row)';
    throw new CustodyError('VALIDATION_FAILED', `ui session: ${name} is not storable`, { details: { column: name } });
  }
  assertStorableText({ ...row }, 'ui session');
  return row;
}

/** UI session reads on the executor `db()` returns at each call. */
export class SqlUiSessionReader implements UiSessionReads {
  constructor(private readonly db: () => Kysely<Database>) {}

  async getUiSession(id: string): Promise<UiSession | undefined> {
    if (!isLookupKey(id)) return undefined;
    const row = await this.db().selectFrom('ui_sessions').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : decodeUiSession(row);
  }
}

/** UI session writes; the caller's transaction makes them atomic. */
export class SqlUiSessionWriter implements UiSessionWrites {
  constructor(private readonly db: () => Kysely<Database>) {}

  async insertUiSession(session: UiSession): Promise<void> {
    const row = toRow(session);
    await writeInSavepoint(this.db(), 'a UI session with this id already exists', { code: 'PRINCIPAL_NOT_FOUND', message: 'the session principal does not exist' }, async () => {
      await this.db().insertInto('ui_sessions').values(row).execute();
    });
  }

  async touchUiSession(id: string, lastSeenAt: string): Promise<void> {
    await this.#updateOpen(id, { last_seen_at: lastSeenAt });
  }

  async reauthenticateUiSession(id: string, authenticatedAt: string): Promise<void> {
    await this.#updateOpen(id, { authenticated_at: authenticatedAt });
  }

  async endUiSession(id: string, endedAt: string): Promise<void> {
    if (!isLookupKey(id)) return;
    assertStorableText({ ended_at: endedAt }, 'ui session');
    await this.db().updateTable('ui_sessions').set({ ended_at: endedAt }).where('id', '=', id).where('ended_at', 'is', null).execute();
  }

  async deleteUiSessionsEndedBefore(cutoff: string): Promise<number> {
    assertStorableText({ cutoff }, 'ui session');
    const result = await this.db()
      .deleteFrom('ui_sessions')
      .where((eb) => eb.or([eb('ended_at', '<', cutoff), eb('expires_at', '<', cutoff)]))
      .executeTakeFirst();
    const count = toSafeInteger(result.numDeletedRows);
    if (count === undefined || count < 0) throw new CustodyError('INTERNAL', 'corrupt row count from the metadata store');
    return count;
  }

  /** Sets `values` on an open session, or throws CONFLICT when there is none with this id. */
  async #updateOpen(id: string, values: Partial<Pick<UiSessionsTable, 'last_seen_at' | 'authenticated_at'>>): Promise<void> {
    if (!isLookupKey(id)) throw new CustodyError('CONFLICT', 'no such open UI session');
    assertStorableText(values, 'ui session');
    const result = await this.db().updateTable('ui_sessions').set(values).where('id', '=', id).where('ended_at', 'is', null).executeTakeFirst();
    if (result.numUpdatedRows !== 1n) throw new CustodyError('CONFLICT', 'no such open UI session');
  }
}
