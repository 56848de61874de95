/**
 * The metadata store's pending single sign-on logins (issue 8 §2, migration 8 `ui_oidc_logins`,
 * `src/store/sql/sql-oidc-login-store.ts`), against SQLite and PostgreSQL through
 * `metadataStoreFactories`: rows round-trip field for field, a login is deleted exactly once (the
 * second delete reports false — a callback works once), expired logins are deleted by cutoff and
 * counted, unstorable rows are refused, and a row corrupted behind the store's back reads as
 * INTERNAL without its content.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { codeOf } from '../support/error-code.js';
import { sha256Hex } from '../../src/domain/digest.js';
import { CustodyError } from '../../src/domain/errors.js';
import type { MetadataStore, OidcLogin } from '../../src/store/metadata-store.js';
import { metadataStoreFactories, type OpenedMetadataStore } from '../support/databases.js';
import { rawSql } from '../support/raw-sql.js';

const T0 = '2025-01-01T00:00:00.000Z';

function login(id: string, fields: Partial<OidcLogin> = {}): OidcLogin {
  return {
    id,
    secretHash: sha256Hex(`secret:${id}`),
    state: `state-${id}`,
    nonce: `nonce-${id}`,
    codeVerifier: `verifier-${id}`,
    next: '/models?q=fraud',
    createdAt: T0,
    expiresAt: '2025-01-01T00:10:00.000Z',
    ...fields,
  };
}

describe.each(metadataStoreFactories)('$name store: pending single sign-on logins', (factory) => {
  let opened: OpenedMetadataStore;
  let store: MetadataStore;

  beforeEach(async () => {
    opened = await factory.open();
    store = opened.store;
  });

  afterEach(async () => {
    await opened.cleanup();
  });

  it('stores a login and reads it back field for field, in and out of a transaction', async () => {
    const stored = login('l1');
    await store.transaction(async (tx) => {
      await tx.insertOidcLogin(stored);
      expect(await tx.getOidcLogin('l1')).toEqual(stored);
    });
    expect(await store.getOidcLogin('l1')).toEqual(stored);
    expect(await store.getOidcLogin('unknown')).toBeUndefined();
    expect(await store.getOidcLogin('l1\u0000')).toBeUndefined();
  });

  it('deletes a login once: the second delete, and one of an unknown id, report false', async () => {
    await store.transaction((tx) => tx.insertOidcLogin(login('l1')));
    expect(await store.transaction((tx) => tx.deleteOidcLogin('l1'))).toBe(true);
    expect(await store.transaction((tx) => tx.deleteOidcLogin('l1'))).toBe(false);
    expect(await store.transaction((tx) => tx.deleteOidcLogin('x\u0000'))).toBe(false);
    expect(await store.getOidcLogin('l1')).toBeUndefined();
  });

  it('refuses a second login with the same id and unstorable rows, keeping the transaction usable', async () => {
    await store.transaction(async (tx) => {
      await tx.insertOidcLogin(login('l1'));
      expect(await codeOf(tx.insertOidcLogin(login('l1', { state: 'other' })))).toBe('CONFLICT');
      expect(await codeOf(tx.insertOidcLogin(login('l2', { secretHash: 'not-a-hash' })))).toBe('VALIDATION_FAILED');
      expect(await codeOf(tx.insertOidcLogin(login('l3', { next: 'a\u0000b' })))).toBe('VALIDATION_FAILED');
      expect(await codeOf(tx.insertOidcLogin(login('l4', { nonce: '' })))).toBe('VALIDATION_FAILED');
      await tx.insertOidcLogin(login('l5'));
    });
    expect((await store.getOidcLogin('l1'))?.state).toBe('state-l1');
    expect(await store.getOidcLogin('l2')).toBeUndefined();
    expect(await store.getOidcLogin('l5')).toBeDefined();
  });

  it('deletes exactly the logins that expired before the cutoff and counts them', async () => {
    const cutoff = '2025-01-01T00:10:00.000Z';
    await store.transaction(async (tx) => {
      await tx.insertOidcLogin(login('old', { expiresAt: '2025-01-01T00:05:00.000Z' }));
      await tx.insertOidcLogin(login('at-cutoff', { expiresAt: cutoff }));
      await tx.insertOidcLogin(login('fresh', { expiresAt: '2025-01-01T00:15:00.000Z' }));
    });
    expect(await store.transaction((tx) => tx.deleteOidcLoginsExpiredBefore(cutoff))).toBe(1);
    expect(await store.getOidcLogin('old')).toBeUndefined();
    expect(await store.getOidcLogin('at-cutoff')).toBeDefined();
    expect(await store.getOidcLogin('fresh')).toBeDefined();
    expect(await store.transaction((tx) => tx.deleteOidcLoginsExpiredBefore(cutoff))).toBe(0);
  });

  it('reads a row corrupted behind its back as INTERNAL, naming the column and not its content', async () => {
    await store.transaction((tx) => tx.insertOidcLogin(login('l1')));
    await rawSql({ dataDir: '/', metadataSpec: opened.spec }, 'update ui_oidc_logins set secret_hash = ? where id = ?', ['zz-secret-material', 'l1']);
    const failure = await store.getOidcLogin('l1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(CustodyError);
    expect(failure).toMatchObject({ code: 'INTERNAL', details: { table: 'ui_oidc_logins', column: 'secret_hash' } });
    expect(JSON.stringify({ message: (failure as Error).message, details: (failure as CustodyError).details })).not.toContain('zz-secret-material');
  });
});
