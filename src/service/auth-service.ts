/**
 * Authentication and authorization (SPEC §7): bootstrap of the first admin, bearer API tokens and
 * OIDC workload-identity JWTs, and the one permission check every route goes through. Failures
 * never say whether a principal or token exists: every bad credential is the same
 * UNAUTHENTICATED; why an OIDC token was refused goes to the server log only (never the token).
 */
import { CustodyError } from '../domain/errors.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { newId } from '../domain/ids.js';
import { generateApiToken, hashApiToken, hashesEqual, isTokenShaped } from '../auth/api-token.js';
import { compileClaimCondition, type ClaimCondition } from '../auth/claim-condition.js';
import { looksLikeJwt, type OidcVerifier } from '../auth/oidc-verifier.js';
import { conferredBy, grantCovers, heldPermissions, narrowingAllows, type Grant, type Permission, type Scope } from '../auth/permissions.js';
import type { MetadataReader, MetadataStore, Principal, RoleBinding } from '../store/metadata-store.js';
import { SYSTEM_ACTOR } from '../domain/log-event.js';
import type { Logger } from '../observability/logger.js';
import type { TransparencyLog } from './transparency-log.js';

/** Who is acting, as established by authentication. */
export interface Actor {
  readonly principal: Principal;
  /** Every unrevoked binding of the principal (for display). */
  readonly bindings: readonly RoleBinding[];
  /** The bindings that apply to this request: those whose condition holds. */
  readonly grants: readonly Grant[];
  /** How the actor authenticated. */
  readonly via: 'token' | 'oidc';
  /** The API token used, when `via` is `token`. */
  readonly tokenId: string | null;
  /** The permissions the token is narrowed to, or null. */
  readonly narrowed: readonly string[] | null;
  /** The verified OIDC claims, when `via` is `oidc`. */
  readonly claims: Readonly<Record<string, unknown>> | null;
}

export interface BootstrapResult {
  /** The admin token to print once; undefined when the registry already had principals. */
  readonly token: string | undefined;
  readonly principalName: string;
}

export interface AccessRules {
  /** Configured environments, first to last. */
  readonly environments: readonly string[];
  /** Promotion into the last environment only by principals of kind `service`. */
  readonly lastEnvironmentServiceOnly: boolean;
}

const BOOTSTRAP_ADMIN = 'admin';
/** Compiled binding and principal conditions, by source (bounded: cleared when full). */
const MAX_CACHED_CONDITIONS = 1_000;

export class AuthService {
  readonly #conditions = new Map<string, ClaimCondition>();

  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
    private readonly rules: AccessRules,
    private readonly oidc: OidcVerifier | undefined,
    private readonly logger: Logger,
  ) {}

  /**
   * On first start, creates the `admin` principal with the admin role and one API token: the
   * given bootstrap token (CUSTODY_BOOTSTRAP_TOKEN) or a fresh random one. Safe when several
   * replicas start at once: exactly one creates it.
   */
  async bootstrap(bootstrapToken: string | undefined): Promise<BootstrapResult> {
    if (bootstrapToken !== undefined && (!isTokenShaped(bootstrapToken) || looksLikeJwt(bootstrapToken))) {
      throw new CustodyError('CONFIG_INVALID', 'CUSTODY_BOOTSTRAP_TOKEN must be 32–512 URL-safe characters and not shaped like a JWT');
    }
    if ((await this.store.countPrincipals()) > 0) return { token: undefined, principalName: BOOTSTRAP_ADMIN };
    const token = bootstrapToken ?? generateApiToken();
    const now = isoNow(this.clock);
    try {
      await this.store.transaction(async (tx) => {
        if ((await tx.countPrincipals()) > 0) throw new CustodyError('CONFLICT', 'already bootstrapped');
        const principal: Principal = { id: newId(), name: BOOTSTRAP_ADMIN, kind: 'user', createdAt: now, disabledAt: null, oidc: null };
        const bindingId = newId();
        const tokenId = newId();
        await tx.insertPrincipal(principal);
        await tx.insertBinding({
          id: bindingId,
          principalId: principal.id,
          role: 'admin',
          namespaces: null,
          environments: null,
          condition: null,
          createdAt: now,
          revokedAt: null,
        });
        await this.log.append(tx, [
          { v: 1, type: 'principal.created', time: now, actor: SYSTEM_ACTOR, principal: principal.name, kind: principal.kind, oidc: null },
          {
            v: 1,
            type: 'binding.granted',
            time: now,
            actor: SYSTEM_ACTOR,
            binding: bindingId,
            principal: principal.name,
            role: 'admin',
            namespaces: null,
            environments: null,
            condition: null,
          },
          { v: 1, type: 'token.created', time: now, actor: SYSTEM_ACTOR, token: tokenId, principal: principal.name, name: 'bootstrap', expiresAt: null, permissions: null },
        ]);
        await tx.insertToken({
          id: tokenId,
          principalId: principal.id,
          name: 'bootstrap',
          tokenHash: hashApiToken(token),
          createdAt: now,
          expiresAt: null,
          revokedAt: null,
          permissions: null,
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
    if (authorization === undefined) return denied();
    const match = /^Bearer ([^\s]+)$/i.exec(authorization.trim());
    const presented = match?.[1];
    if (presented === undefined) return denied();
    if (this.oidc !== undefined && looksLikeJwt(presented)) return this.#authenticateJwt(this.oidc, presented);
    if (!isTokenShaped(presented)) return denied();
    const hash = hashApiToken(presented);
    const token = await this.store.findTokenByHash(hash);
    if (token === undefined || !hashesEqual(token.tokenHash, hash)) return denied();
    const now = this.clock.now().getTime();
    if (token.revokedAt !== null) return denied();
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= now) return denied();
    const principal = await this.store.getPrincipalById(token.principalId);
    if (principal === undefined || principal.disabledAt !== null) return denied();
    return this.#actor(this.store, principal, { via: 'token', tokenId: token.id, narrowed: token.permissions, claims: null });
  }

  /**
   * Re-establishes the actor of a web UI session (issue 8 §2) on each request, so a revoked
   * token, a disabled principal or a changed binding takes effect at once. With a `tokenId`, the
   * actor is exactly what `authenticate` builds for that token (via `token`, narrowed as the token
   * is); UNAUTHENTICATED when the token is revoked, expired or another principal's. Without one
   * (a sign-in that used no API token), the actor holds the principal's unconditional bindings,
   * unnarrowed. UNAUTHENTICATED too when the principal is gone or disabled.
   */
  async actorForSession(principalId: string, tokenId: string | null): Promise<Actor> {
    const principal = await this.store.getPrincipalById(principalId);
    if (principal === undefined || principal.disabledAt !== null) return denied();
    if (tokenId === null) return this.#actor(this.store, principal, { via: 'oidc', tokenId: null, narrowed: null, claims: null });
    const token = await this.store.getToken(tokenId);
    if (token?.principalId !== principal.id || token.revokedAt !== null) return denied();
    if (token.expiresAt !== null && Date.parse(token.expiresAt) <= this.clock.now().getTime()) return denied();
    return this.#actor(this.store, principal, { via: 'token', tokenId: token.id, narrowed: token.permissions, claims: null });
  }

  async #authenticateJwt(verifier: OidcVerifier, jwt: string): Promise<Actor> {
    const result = await verifier.verify(jwt);
    if (!result.ok) {
      this.logger.warn('oidc token refused', { reason: result.reason, ...(result.detail === undefined ? {} : { detail: result.detail }) });
      return denied();
    }
    const { issuer, subject, claims } = result.token;
    const principal = await this.store.findPrincipalByOidc(issuer, subject);
    if (principal === undefined || principal.kind !== 'service' || principal.disabledAt !== null) {
      this.logger.warn('oidc token refused', { reason: 'no_principal', issuer });
      return denied();
    }
    const condition = principal.oidc?.condition ?? null;
    if (condition !== null && !this.#condition(condition).evaluate(claims)) {
      this.logger.warn('oidc token refused', { reason: 'condition_false', principal: principal.name });
      return denied();
    }
    return this.#actor(this.store, principal, { via: 'oidc', tokenId: null, narrowed: null, claims });
  }

  async #actor(reader: MetadataReader, principal: Principal, how: Pick<Actor, 'via' | 'tokenId' | 'narrowed' | 'claims'>): Promise<Actor> {
    const bindings = await reader.listBindings(principal.id);
    // A conditional binding is about a workload token's claims: it never applies to an API token,
    // whatever its condition says about an empty claim set.
    const claims = how.claims;
    const grants = bindings.filter((b) => b.condition === null || (claims !== null && this.#condition(b.condition).evaluate(claims)));
    return { principal, bindings, grants, ...how };
  }

  #condition(source: string): ClaimCondition {
    let compiled = this.#conditions.get(source);
    if (compiled === undefined) {
      try {
        compiled = compileClaimCondition(source);
      } catch {
        // A stored condition that no longer compiles grants nothing.
        compiled = { source, evaluate: () => false };
      }
      if (this.#conditions.size >= MAX_CACHED_CONDITIONS) this.#conditions.clear();
      this.#conditions.set(source, compiled);
    }
    return compiled;
  }

  /**
   * True when the actor's grants cover `permission` at `scope` and the token carries it — what
   * the actor holds, before any rule about who may use it.
   */
  holds(actor: Actor, permission: Permission, scope: Scope = {}): boolean {
    return narrowingAllows(actor.narrowed, permission) && actor.grants.some((g) => grantCovers(g, permission, scope));
  }

  /** Whether the seed's rule keeps this actor from using `permission` (SPEC §7). */
  serviceOnly(actor: Actor, permission: Permission): boolean {
    const last = this.rules.environments.at(-1);
    return this.rules.lastEnvironmentServiceOnly && permission === `promote:${last}` && actor.principal.kind !== 'service';
  }

  /** Throws FORBIDDEN unless the actor may use `permission` within `scope`. */
  authorize(actor: Actor, permission: Permission, scope: Scope = {}): void {
    if (!this.holds(actor, permission, scope)) {
      throw new CustodyError('FORBIDDEN', `permission ${permission} is required`, { details: { permission } });
    }
    if (this.serviceOnly(actor, permission)) {
      throw new CustodyError('FORBIDDEN', `only service principals may promote into ${permission.slice('promote:'.length)}`, {
        details: { permission, rule: 'lastEnvironmentServiceOnly' },
      });
    }
  }

  /**
   * No one grants a permission they lack (issue 5 §4): throws FORBIDDEN unless the actor holds
   * every permission `grant` confers (narrowed to `narrowed`), in every namespace and
   * environment it names. The seed's service-only rule is about using a permission, not holding
   * it, so an admin user may still grant production promotion to a service.
   */
  assertCanConfer(actor: Actor, grant: Grant, narrowed: readonly string[] | null = null): void {
    for (const { permission, namespace, environment } of conferredBy(grant, this.rules.environments)) {
      if (!narrowingAllows(narrowed, permission)) continue;
      const scope = { ...(namespace === undefined ? {} : { namespace }), ...(environment === undefined ? {} : { environment }) };
      if (!this.holds(actor, permission, scope)) {
        const where = [namespace === undefined ? '' : ` in namespace ${namespace}`, environment === undefined ? '' : ` in environment ${environment}`].join('');
        throw new CustodyError('FORBIDDEN', `you cannot confer ${permission}${where}: you do not hold it there yourself`, {
          details: { permission, ...scope },
        });
      }
    }
  }

  /** The namespaces in which the actor holds `permission`, or null for every namespace. */
  namespacesWith(actor: Actor, permission: Permission): readonly string[] | null {
    if (!narrowingAllows(actor.narrowed, permission)) return [];
    const out = new Set<string>();
    for (const grant of actor.grants) {
      if (!grantCovers(grant, permission, 'any')) continue;
      if (grant.namespaces === null) return null;
      for (const ns of grant.namespaces) out.add(ns);
    }
    return [...out].sort();
  }

  /** `whoami`: principal, kind, how it authenticated, bindings and effective permissions. */
  describe(actor: Actor): {
    name: string;
    kind: string;
    via: string;
    roles: string[];
    bindings: { id: string; role: string; namespaces: readonly string[] | null; environments: readonly string[] | null; condition: string | null; applies: boolean }[];
    permissions: string[];
    tokenPermissions: readonly string[] | null;
  } {
    const applying = new Set(actor.grants);
    const held = heldPermissions(actor.grants, this.rules.environments).filter(
      (p) => narrowingAllows(actor.narrowed, p) && !this.serviceOnly(actor, p),
    );
    return {
      name: actor.principal.name,
      kind: actor.principal.kind,
      via: actor.via,
      roles: [...new Set(actor.grants.map((b) => b.role))].sort(),
      bindings: actor.bindings.map((b) => ({
        id: b.id,
        role: b.role,
        namespaces: b.namespaces,
        environments: b.environments,
        condition: b.condition,
        applies: applying.has(b),
      })),
      permissions: held,
      tokenPermissions: actor.narrowed,
    };
  }
}

function denied(): never {
  throw new CustodyError('UNAUTHENTICATED', 'a valid bearer token is required');
}
