/**
 * Authentication and authorization use cases: bootstrap of the first admin, bearer-token
 * authentication, and the permission check every route goes through. Failures never say whether
 * a principal or token exists: every bad credential is the same UNAUTHENTICATED.
 */
import { CustodyError } from '../domain/errors.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { generateApiToken, hashApiToken, hashesEqual, isTokenShaped } from '../auth/api-token.js';
import { effectivePermissions, hasPermission, type Permission, type Scope } from '../auth/permissions.js';
import type { MetadataStore, Principal, RoleBinding } from '../store/metadata-store.js';
import { SYSTEM_ACTOR } from '../domain/log-event.js';
import type { TransparencyLog } from './transparency-log.js';

/** Who is acting, as established by authentication. */
export interface Actor {
  readonly principal: Principal;
  readonly bindings: readonly RoleBinding[];
  /** How the actor authenticated. */
  readonly via: 'token';
  readonly tokenId: string;
}

export interface BootstrapResult {
  /** The admin token to print once; undefined when the registry already had principals. */
  readonly token: string | undefined;
  readonly principalName: string;
}

const BOOTSTRAP_ADMIN = 'admin';

export class AuthService {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
  ) {}

  /**
   * On first start, creates the `admin` principal with the admin role and one API token: the
   * given bootstrap token (CUSTODY_BOOTSTRAP_TOKEN) or a fresh random one. Safe when several
   * replicas start at once: exactly one creates it.
   */
  async bootstrap(bootstrapToken: string | undefined): Promise<BootstrapResult> {
    if (bootstrapToken !== undefined && !isTokenShaped(bootstrapToken)) {
      throw new CustodyError('CONFIG_INVALID', 'CUSTODY_BOOTSTRAP_TOKEN must be 32–512 URL-safe characters');
    }
    if ((await this.store.countPrincipals()) > 0) return { token: undefined, principalName: BOOTSTRAP_ADMIN };
    const token = bootstrapToken ?? generateApiToken();
    const now = isoNow(this.clock);
    try {
      await this.store.transaction(async (tx) => {
        if ((await tx.countPrincipals()) > 0) throw new CustodyError('CONFLICT', 'already bootstrapped');
        const principal: Principal = { id: newId(), name: BOOTSTRAP_ADMIN, kind: 'user', createdAt: now, disabledAt: null };
        const bindingId = newId();
        const tokenId = newId();
        await tx.insertPrincipal(principal);
        await tx.insertBinding({ id: bindingId, principalId: principal.id, role: 'admin', namespaces: null, environments: null, createdAt: now });
        await this.log.append(tx, [
          { v: 1, type: 'principal.created', time: now, actor: SYSTEM_ACTOR, principal: principal.name, kind: principal.kind },
          { v: 1, type: 'binding.granted', time: now, actor: SYSTEM_ACTOR, binding: bindingId, principal: principal.name, role: 'admin', namespaces: null, environments: null },
          { v: 1, type: 'token.created', time: now, actor: SYSTEM_ACTOR, token: tokenId, principal: principal.name, name: 'bootstrap', expiresAt: null },
        ]);
        await tx.insertToken({
          id: tokenId,
          principalId: principal.id,
          name: 'bootstrap',
          tokenHash: hashApiToken(token),
          createdAt: now,
          expiresAt: null,
          revokedAt: null,
        });
      });
    } catch (error) {
      // Another replica won the race (or the unique name constraint fired): nothing to print.
      if ((await this.store.countPrincipals()) > 0) return { token: undefined, principalName: BOOTSTRAP_ADMIN };
      throw error;
    }
    return { token, principalName: BOOTSTRAP_ADMIN };
  }

  /** Resolves an `Authorization` header to an actor, or throws UNAUTHENTICATED. */
  async authenticate(authorization: string | undefined): Promise<Actor> {
    const denied = (): never => {
      throw new CustodyError('UNAUTHENTICATED', 'a valid bearer token is required');
    };
    if (authorization === undefined) return denied();
    const match = /^Bearer ([^\s]+)$/i.exec(authorization.trim());
    const presented = match?.[1];
    if (presented === undefined || !isTokenShaped(presented)) return denied();
    const hash = hashApiToken(presented);
    const token = await this.store.findTokenByHash(hash);
    if (token === undefined || !hashesEqual(token.tokenHash, hash)) return denied();
    const now = this.clock.now().getTime();
    if (token.revokedAt !== null) return denied();
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now) return denied();
    const principal = await this.store.getPrincipalById(token.principalId);
    if (principal === undefined || principal.disabledAt !== null) return denied();
    const bindings = await this.store.listBindings(principal.id);
    return { principal, bindings, via: 'token', tokenId: token.id };
  }

  /** Throws FORBIDDEN unless the actor holds `permission` within `scope`. */
  authorize(actor: Actor, permission: Permission, scope: Scope = {}): void {
    if (!hasPermission(actor.bindings, permission, scope)) {
      throw new CustodyError('FORBIDDEN', `permission ${permission} is required`, { details: { permission } });
    }
  }

  describe(actor: Actor): { name: string; kind: string; roles: string[]; permissions: string[] } {
    return {
      name: actor.principal.name,
      kind: actor.principal.kind,
      roles: [...new Set(actor.bindings.map((b) => b.role))].sort(),
      permissions: effectivePermissions(actor.bindings),
    };
  }
}
