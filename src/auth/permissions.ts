/**
 * Permissions and built-in roles (SPEC §7). Every route declares one permission (or none for
 * the few public routes) and the scope it applies to; `hasPermission` is the only place that
 * decides. Until the access issue lands, only `admin` is granted, and it holds everything.
 */
import type { RoleBinding } from '../store/metadata-store.js';

export const STATIC_PERMISSIONS = [
  'model:read',
  'model:push',
  'attestation:write',
  'policy:propose',
  'policy:approve',
  'key:manage',
  'principal:manage',
  'audit:read',
] as const;

export type StaticPermission = (typeof STATIC_PERMISSIONS)[number];
/** `promote:<environment>` is parameterised by the target environment. */
export type Permission = StaticPermission | `promote:${string}`;

/** What a role grants; `promote:*` stands for every environment the binding names. */
export const ROLE_PERMISSIONS: Readonly<Record<string, readonly (StaticPermission | 'promote:*')[]>> = {
  admin: [...STATIC_PERMISSIONS, 'promote:*'],
};

export interface Scope {
  readonly namespace?: string;
  readonly environment?: string;
}

function grants(role: string, permission: Permission): boolean {
  const granted = ROLE_PERMISSIONS[role];
  if (granted === undefined) return false;
  if (permission.startsWith('promote:')) return granted.includes('promote:*');
  return (granted as readonly string[]).includes(permission);
}

function inScope(binding: RoleBinding, scope: Scope): boolean {
  if (scope.namespace !== undefined && binding.namespaces !== null && !binding.namespaces.includes(scope.namespace)) return false;
  if (scope.environment !== undefined && binding.environments !== null && !binding.environments.includes(scope.environment)) return false;
  return true;
}

/** True when some binding grants `permission` within `scope`. Deny by default. */
export function hasPermission(bindings: readonly RoleBinding[], permission: Permission, scope: Scope = {}): boolean {
  return bindings.some((b) => grants(b.role, permission) && inScope(b, scope));
}

/** The permissions the bindings grant, for `whoami`. */
export function effectivePermissions(bindings: readonly RoleBinding[]): string[] {
  const out = new Set<string>();
  for (const b of bindings) for (const p of ROLE_PERMISSIONS[b.role] ?? []) out.add(p);
  return [...out].sort();
}
