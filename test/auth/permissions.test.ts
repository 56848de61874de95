/**
 * The permission decision (SPEC §7): which scope dimensions each permission has, how a binding's
 * namespaces and environments limit it, that a limited binding never reaches a registry-wide
 * check, and what a grant confers (the no-escalation check compares exactly these pairs).
 */
import { describe, expect, it } from 'vitest';
import { conferredBy, grantCovers, heldPermissions, isPermission, narrowingAllows, type Grant } from '../../src/auth/permissions.js';

const ENVS = ['development', 'staging', 'production'];
const grant = (role: string, namespaces: string[] | null = null, environments: string[] | null = null): Grant => ({ role, namespaces, environments });

describe('grantCovers', () => {
  it('limits namespace-scoped permissions to the binding namespaces, and never reaches a check that names none', () => {
    const viewer = grant('viewer', ['acme']);
    expect(grantCovers(viewer, 'model:read', { namespace: 'acme' })).toBe(true);
    expect(grantCovers(viewer, 'model:read', { namespace: 'other' })).toBe(false);
    expect(grantCovers(viewer, 'model:read', {})).toBe(false);
    expect(grantCovers(viewer, 'model:read', 'any')).toBe(true);
    expect(grantCovers(grant('viewer'), 'model:read', {})).toBe(true);
  });

  it('grants only what the role lists; unknown roles grant nothing', () => {
    expect(grantCovers(grant('viewer'), 'model:push', { namespace: 'acme', environment: 'development' })).toBe(false);
    expect(grantCovers(grant('key-admin'), 'key:manage', {})).toBe(true);
    expect(grantCovers(grant('key-admin'), 'promote:staging', { namespace: 'acme' })).toBe(false);
    expect(grantCovers(grant('superuser'), 'model:read', {})).toBe(false);
    expect(grantCovers(grant('policy-admin'), 'principal:manage', {})).toBe(false);
  });

  it('lets a promoter promote only into the environments its binding names, in its namespaces', () => {
    const promoter = grant('promoter', ['acme'], ['staging']);
    expect(grantCovers(promoter, 'promote:staging', { namespace: 'acme' })).toBe(true);
    expect(grantCovers(promoter, 'promote:production', { namespace: 'acme' })).toBe(false);
    expect(grantCovers(promoter, 'promote:staging', { namespace: 'other' })).toBe(false);
    // The environment comes from the permission, whatever the route passes.
    expect(grantCovers(promoter, 'promote:production', { namespace: 'acme', environment: 'staging' })).toBe(false);
    expect(grantCovers(promoter, 'promote:staging', 'any')).toBe(true);
    expect(grantCovers(promoter, 'promote:production', 'any')).toBe(false);
  });

  it('checks model:push against the environment a push lands in', () => {
    const ds = grant('data-scientist', ['acme'], ['development']);
    expect(grantCovers(ds, 'model:push', { namespace: 'acme', environment: 'development' })).toBe(true);
    expect(grantCovers(ds, 'model:push', { namespace: 'acme', environment: 'staging' })).toBe(false);
    expect(grantCovers(ds, 'model:push', { namespace: 'acme' })).toBe(false);
  });

  it('scopes policy permissions by environment only', () => {
    const pa = grant('policy-admin', null, ['staging']);
    expect(grantCovers(pa, 'policy:propose', { environment: 'staging' })).toBe(true);
    expect(grantCovers(pa, 'policy:approve', { environment: 'production' })).toBe(false);
    expect(grantCovers(pa, 'policy:propose', {})).toBe(false);
  });
});

describe('what grants confer', () => {
  it('spells out each permission per namespace and environment the binding names', () => {
    expect(conferredBy(grant('data-scientist', ['a', 'b'], ['development']), ENVS)).toEqual([
      { permission: 'model:read', namespace: 'a' },
      { permission: 'model:read', namespace: 'b' },
      { permission: 'model:push', namespace: 'a', environment: 'development' },
      { permission: 'model:push', namespace: 'b', environment: 'development' },
    ]);
    expect(conferredBy(grant('promoter', null, ['staging', 'production']), ENVS)).toEqual([
      { permission: 'model:read' },
      { permission: 'promote:staging' },
      { permission: 'promote:production' },
    ]);
    expect(conferredBy(grant('nobody'), ENVS)).toEqual([]);
  });

  it('lists held permission names with promote expanded over configured environments', () => {
    expect(heldPermissions([grant('promoter', ['acme'], ['production']), grant('viewer')], ENVS)).toEqual(['model:read', 'promote:production']);
    expect(heldPermissions([grant('admin')], ENVS)).toContain('promote:development');
  });

  it('narrows a token to the permissions it names', () => {
    expect(narrowingAllows(null, 'key:manage')).toBe(true);
    expect(narrowingAllows(['model:read'], 'model:read')).toBe(true);
    expect(narrowingAllows(['model:read'], 'model:push')).toBe(false);
    expect(isPermission('promote:production')).toBe(true);
    expect(isPermission('promote:*')).toBe(false);
    expect(isPermission('model:delete')).toBe(false);
  });
});
