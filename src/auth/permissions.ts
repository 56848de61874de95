/**
 * Permissions, built-in roles and the one decision function (SPEC §7). Deny by default: a
 * permission is held only when an unrevoked binding's role grants it, the binding's scope covers
 * the request's scope, the binding's condition holds, and the token (when narrowed) carries it.
 *
 * Scope has two dimensions, and each permission says which ones it is scoped by: `model:read`
 * and `attestation:write` by namespace; `model:push` and `promote:<env>` by namespace and
 * environment; `policy:*` by environment; `key:manage`, `principal:manage` and `audit:read` by
 * neither (registry-wide). A binding restricted in a dimension its permission is scoped by grants
 * nothing where the request does not name a value for it — never "everything".
 */
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
/** What a role lists: `promote:*` stands for every environment the binding names. */
export type RolePermission = StaticPermission | 'promote:*';

export const BUILT_IN_ROLES = ['viewer', 'data-scientist', 'attester', 'promoter', 'policy-admin', 'key-admin', 'admin'] as const;
export type RoleName = (typeof BUILT_IN_ROLES)[number];

export type ScopeDimension = 'namespaces' | 'environments';

interface RoleDefinition {
  readonly permissions: readonly RolePermission[];
  /** The dimensions a binding of this role may be restricted in. */
  readonly scopedBy: readonly ScopeDimension[];
  /** A binding of this role must name its environments (a promoter promotes only where named). */
  readonly requiresEnvironments?: true;
}

export const ROLES: Readonly<Record<RoleName, RoleDefinition>> = {
  viewer: { permissions: ['model:read'], scopedBy: ['namespaces'] },
  'data-scientist': { permissions: ['model:read', 'model:push'], scopedBy: ['namespaces', 'environments'] },
  attester: { permissions: ['model:read', 'attestation:write'], scopedBy: ['namespaces'] },
  promoter: { permissions: ['model:read', 'promote:*'], scopedBy: ['namespaces', 'environments'], requiresEnvironments: true },
  'policy-admin': { permissions: ['model:read', 'policy:propose', 'policy:approve'], scopedBy: ['environments'] },
  'key-admin': { permissions: ['model:read', 'key:manage', 'audit:read'], scopedBy: [] },
  admin: { permissions: [...STATIC_PERMISSIONS, 'promote:*'], scopedBy: [] },
};

export function isRoleName(value: string): value is RoleName {
  return (BUILT_IN_ROLES as readonly string[]).includes(value);
}

/** The dimensions a permission is scoped by. */
export function dimensionsOf(permission: Permission): readonly ScopeDimension[] {
  if (permission.startsWith('promote:')) return ['namespaces', 'environments'];
  switch (permission) {
    case 'model:read':
    case 'attestation:write':
      return ['namespaces'];
    case 'model:push':
      return ['namespaces', 'environments'];
    case 'policy:propose':
    case 'policy:approve':
      return ['environments'];
    default:
      return [];
  }
}

/** True for a well-formed permission name (`promote:` followed by an environment name). */
export function isPermission(value: string): value is Permission {
  return (STATIC_PERMISSIONS as readonly string[]).includes(value) || /^promote:[a-z][a-z0-9-]{0,62}$/.test(value);
}

/**
 * The request a permission is checked for. `'any'` asks whether the permission is held anywhere
 * (the handler then narrows: list filtering, per-blob checks); otherwise each dimension the
 * permission is scoped by is checked against the value given (absent = registry-wide).
 */
export type Scope = { readonly namespace?: string; readonly environment?: string } | 'any';

/** One grant as the decision sees it: a binding, already filtered by its condition. */
export interface Grant {
  readonly role: string;
  readonly namespaces: readonly string[] | null;
  readonly environments: readonly string[] | null;
}

function roleGrants(role: string, permission: Permission): boolean {
  if (!isRoleName(role)) return false;
  const listed = ROLES[role].permissions;
  if (permission.startsWith('promote:')) return listed.includes('promote:*');
  return (listed as readonly string[]).includes(permission);
}

function dimensionCovers(restriction: readonly string[] | null, value: string | undefined): boolean {
  if (restriction === null) return true;
  return value !== undefined && restriction.includes(value);
}

/** Whether one grant covers `permission` at `scope`. */
export function grantCovers(grant: Grant, permission: Permission, scope: Scope): boolean {
  if (!roleGrants(grant.role, permission)) return false;
  const dimensions = dimensionsOf(permission);
  // promote:<env> is always about that environment, whatever scope the route passes.
  const environment = permission.startsWith('promote:') ? permission.slice('promote:'.length) : scope === 'any' ? undefined : scope.environment;
  if (dimensions.includes('environments') && permission.startsWith('promote:') && !dimensionCovers(grant.environments, environment)) return false;
  if (scope === 'any') return true;
  if (dimensions.includes('namespaces') && !dimensionCovers(grant.namespaces, scope.namespace)) return false;
  if (dimensions.includes('environments') && !dimensionCovers(grant.environments, environment)) return false;
  return true;
}

/** True when a token narrowed to `narrowed` (null = not narrowed) may use `permission`. */
export function narrowingAllows(narrowed: readonly string[] | null, permission: Permission): boolean {
  return narrowed === null || narrowed.includes(permission);
}

/**
 * The permissions the grants hold, by name, for `whoami`; `promote:*` is expanded over the
 * configured environments the grant names.
 */
export function heldPermissions(grants: readonly Grant[], environments: readonly string[]): Permission[] {
  const out = new Set<Permission>();
  for (const grant of grants) {
    if (!isRoleName(grant.role)) continue;
    for (const permission of ROLES[grant.role].permissions) {
      if (permission !== 'promote:*') out.add(permission);
      else for (const env of environments) if (dimensionCovers(grant.environments, env)) out.add(`promote:${env}`);
    }
  }
  return [...out].sort();
}

/**
 * The concrete (permission, scope) pairs a grant confers, each namespace and environment it names
 * spelt out; null in a pair means registry-wide in that dimension. Used to check that whoever
 * grants a binding or mints a token holds everything it confers.
 */
export function conferredBy(grant: Grant, environments: readonly string[]): { permission: Permission; namespace?: string; environment?: string }[] {
  if (!isRoleName(grant.role)) return [];
  const out: { permission: Permission; namespace?: string; environment?: string }[] = [];
  for (const listed of ROLES[grant.role].permissions) {
    const permissions: Permission[] =
      listed === 'promote:*' ? environments.filter((env) => dimensionCovers(grant.environments, env)).map((env): Permission => `promote:${env}`) : [listed];
    for (const permission of permissions) {
      const dims = dimensionsOf(permission);
      const namespaces: (string | undefined)[] = dims.includes('namespaces') && grant.namespaces !== null ? [...grant.namespaces] : [undefined];
      const envs: (string | undefined)[] =
        dims.includes('environments') && !permission.startsWith('promote:') && grant.environments !== null ? [...grant.environments] : [undefined];
      for (const namespace of namespaces) {
        for (const environment of envs) {
          out.push({ permission, ...(namespace === undefined ? {} : { namespace }), ...(environment === undefined ? {} : { environment }) });
        }
      }
    }
  }
  return out;
}
