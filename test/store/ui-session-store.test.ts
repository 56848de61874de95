/**
 * The metadata store's web UI sessions (issue 8 §2, `src/store/sql/sql-session-store.ts`), run
 * against SQLite and PostgreSQL through `metadataStoreFactories`: rows round-trip, only open
 * sessions move, ending is idempotent, cleanup deletes exactly what ended or expired before the
 * cutoff, and a row corrupted behind the store's back reads as INTERNAL.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../support/error-code.js';
import { sha256Hex } from '../../src/domain/digest.js';
import { CustodyError } from '../../src/domain/errors.js';
import type { MetadataStore, Principal, UiSession } from '../../src/store/metadata-store.js';
import { metadataStoreFactories, type OpenedMetadataStore } from '../support/databases.js';
import { rawSql } from '../support/raw-sql.js';

const T0 = '2025-01-01T00:00:00.000Z';
const ALICE: Principal = { id: 'p-alice', name: 'alice', kind: 'user', createdAt: T0, disabledAt: null, oidc: null };

function uiSession(id: string, fields: Partial<UiSession> = {}): UiSession {
  return {
    id,
    secretHash: sha256Hex(`secret:${id}`),
    principalId: ALICE.id,
    tokenId: 'tok-1',
    csrfToken: `csrf-${id}`,
    createdAt: T0,
    authenticatedAt: T0,
    lastSeenAt: T0,
    expiresAt: '2025-01-01T12:00:00.000Z',
    endedAt: null,
    ...fields,
  };
}

describe.each(metadataStoreFactories)('$name store: web UI sessions', (factory) => {
  let opened: OpenedMetadataStore;
  let store: MetadataStore;

  beforeEach(async () => {
    opened = await factory.open();
    store = opened.store;
    await store.transaction((tx) => tx.insertPrincipal(ALICE));
  });

  afterEach(async () => {
    await opened.cleanup();
  });

  const raw = (statement: string, params: readonly (string | number)[] = []) => rawSql({ dataDir: '/', metadataSpec: opened.spec }, statement, params);

  it('stores a session and reads it back field for field, with a null token and end', async () => {
    const withToken = uiSession('s1');
    const withoutToken = uiSession('s2', { tokenId: null });
    await store.transaction(async (tx) => {
      await tx.insertUiSession(withToken);
      await tx.insertUiSession(withoutToken);
      expect(await tx.getUiSession('s1')).toEqual(withToken);
    });
    expect(await store.getUiSession('s1')).toEqual(withToken);
    expect(await store.getUiSession('s2')).toEqual(withoutToken);
  });

  it('answers undefined for an unknown id and for ids no row can hold', async () => {
    await store.transaction((tx) => tx.insertUiSession(uiSession('s1')));
    expect(await store.getUiSession('nope')).toBeUndefined();
    expect(await store.getUiSession('s1\u0000')).toBeUndefined();
    expect(await store.getUiSession('')).toBeUndefined();
  });

  it('refuses a second session with the same id, one for an unknown principal and an unstorable secret hash', async () => {
    await store.transaction((tx) => tx.insertUiSession(uiSession('s1')));
    expect(await codeOf(store.transaction((tx) => tx.insertUiSession(uiSession('s1', { csrfToken: 'other' }))))).toBe('CONFLICT');
    expect(await codeOf(store.transaction((tx) => tx.insertUiSession(uiSession('s2', { principalId: 'p-ghost' }))))).toBe('PRINCIPAL_NOT_FOUND');
    expect(await codeOf(store.transaction((tx) => tx.insertUiSession(uiSession('s3', { secretHash: 'not-a-hash' }))))).toBe('VALIDATION_FAILED');
    expect(await codeOf(store.transaction((tx) => tx.insertUiSession(uiSession('s4', { csrfToken: 'a\u0000b' }))))).toBe('VALIDATION_FAILED');
    expect((await store.getUiSession('s1'))?.csrfToken).toBe('csrf-s1');
    expect(await store.getUiSession('s2')).toBeUndefined();
    expect(await store.getUiSession('s3')).toBeUndefined();
  });

  it('touches and re-authenticates only open sessions', async () => {
    await store.transaction(async (tx) => {
      await tx.insertUiSession(uiSession('open'));
      await tx.insertUiSession(uiSession('ended', { endedAt: T0 }));
    });
    await store.transaction(async (tx) => {
      await tx.touchUiSession('open', '2025-01-01T00:10:00.000Z');
      await tx.reauthenticateUiSession('open', '2025-01-01T00:20:00.000Z');
    });
    expect(await store.getUiSession('open')).toEqual(
      uiSession('open', { lastSeenAt: '2025-01-01T00:10:00.000Z', authenticatedAt: '2025-01-01T00:20:00.000Z' }),
    );
    for (const id of ['ended', 'unknown', 'x\u0000']) {
      expect(await codeOf(store.transaction((tx) => tx.touchUiSession(id, '2025-01-01T01:00:00.000Z')))).toBe('CONFLICT');
      expect(await codeOf(store.transaction((tx) => tx.reauthenticateUiSession(id, '2025-01-01T01:00:00.000Z')))).toBe('CONFLICT');
    }
    expect(await store.getUiSession('ended')).toEqual(uiSession('ended', { endedAt: T0 }));
  });

  it('ends a session once: a second end, or the end of an unknown one, changes nothing', async () => {
    await store.transaction((tx) => tx.insertUiSession(uiSession('s1')));
    await store.transaction((tx) => tx.endUiSession('s1', '2025-01-01T01:00:00.000Z'));
    await store.transaction(async (tx) => {
      await tx.endUiSession('s1', '2025-01-01T02:00:00.000Z');
      await tx.endUiSession('unknown', '2025-01-01T02:00:00.000Z');
      await tx.endUiSession('x\u0000', '2025-01-01T02:00:00.000Z');
    });
    expect((await store.getUiSession('s1'))?.endedAt).toBe('2025-01-01T01:00:00.000Z');
  });

  it('deletes exactly the sessions that ended or expired before the cutoff and counts them', async () => {
    const cutoff = '2025-01-02T00:00:00.000Z';
    await store.transaction(async (tx) => {
      await tx.insertUiSession(uiSession('ended-long-ago', { endedAt: '2025-01-01T01:00:00.000Z', expiresAt: '2025-01-03T00:00:00.000Z' }));
      await tx.insertUiSession(uiSession('expired-long-ago', { expiresAt: '2025-01-01T12:00:00.000Z' }));
      await tx.insertUiSession(uiSession('ended-at-cutoff', { endedAt: cutoff, expiresAt: '2025-01-03T00:00:00.000Z' }));
      await tx.insertUiSession(uiSession('ended-recently', { endedAt: '2025-01-02T06:00:00.000Z', expiresAt: '2025-01-03T00:00:00.000Z' }));
      await tx.insertUiSession(uiSession('open', { expiresAt: '2025-01-03T00:00:00.000Z' }));
    });
    expect(await store.transaction((tx) => tx.deleteUiSessionsEndedBefore(cutoff))).toBe(2);
    expect(await store.getUiSession('ended-long-ago')).toBeUndefined();
    expect(await store.getUiSession('expired-long-ago')).toBeUndefined();
    for (const id of ['ended-at-cutoff', 'ended-recently', 'open']) expect(await store.getUiSession(id)).toBeDefined();
    expect(await store.transaction((tx) => tx.deleteUiSessionsEndedBefore(cutoff))).toBe(0);
  });

  it('reads a row corrupted behind its back as INTERNAL, naming the column and not its content', async () => {
    await store.transaction((tx) => tx.insertUiSession(uiSession('s1')));
    await raw(`update ui_sessions set secret_hash = ? where id = ?`, ['zz-secret-material', 's1']);
    try {
      await store.getUiSession('s1');
      expect.unreachable('a corrupt row must not read back');
    } catch (error) {
      expect(error).toBeInstanceOf(CustodyError);
      expect((error as CustodyError).code).toBe('INTERNAL');
      expect((error as CustodyError).details).toMatchObject({ table: 'ui_sessions', column: 'secret_hash' });
      expect(JSON.stringify({ message: (error as Error).message, details: (error as CustodyError).details })).not.toContain('zz-secret-material');
    }
  });
});
