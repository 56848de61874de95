/**
 * Principals and role bindings (SPEC §7, issue 5 §1, §3, §4): users and services, the OIDC
 * workload identity a service acts for, the OIDC identity a user signs in to the web UI with
 * (issue 8 §2), and the roles bound to them with their namespace, environment and
 * claim-condition scope. Nothing is deleted: principals are disabled, bindings
 * revoked, each change one logged event in the same transaction. No one grants what they lack,
 * and no change may leave the registry without an enabled, unrestricted admin.
 */
import { compileClaimCondition } from '../auth/claim-condition.js';
import { BUILT_IN_ROLES, ROLES, isRoleName, type RoleName } from '../auth/permissions.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { CustodyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { isValidName } from '../domain/model-ref.js';
import type { MetadataReader, MetadataStore, OidcIdentity, Principal, PrincipalKind, RoleBinding } from '../store/metadata-store.js';
import type { Actor, AuthService } from './auth-service.js';
import { eventActor } from './event-actor.js';
import { checkNamespaces, usage } from './request-fields.js';
import type { Receipt, TransparencyLog } from './transparency-log.js';

export interface CreatePrincipalRequest {
  readonly name: string;
  readonly kind: PrincipalKind;
  readonly oidc?: { readonly issuer: string; readonly subject: string; readonly condition?: string | null } | null;
}

export interface GrantRequest {
  readonly principal: string;
  readonly role: string;
  readonly namespaces?: readonly string[] | null;
  readonly environments?: readonly string[] | null;
  readonly condition?: string | null;
}

export interface PrincipalView {
  readonly name: string;
  readonly kind: PrincipalKind;
  readonly createdAt: string;
  readonly disabledAt: string | null;
  readonly oidc: OidcIdentity | null;
}

export interface BindingView {
  readonly id: string;
  readonly principal: string;
  readonly role: string;
  readonly namespaces: readonly string[] | null;
  readonly environments: readonly string[] | null;
  readonly condition: string | null;
  readonly createdAt: string;
  readonly revokedAt: string | null;
}

export interface Change<T> {
  readonly value: T;
  readonly receipt: Receipt;
}

export function principalView(p: Principal): PrincipalView {
  return { name: p.name, kind: p.kind, createdAt: p.createdAt, disabledAt: p.disabledAt, oidc: p.oidc };
}

function bindingView(b: RoleBinding, principal: string): BindingView {
  return {
    id: b.id,
    principal,
    role: b.role,
    namespaces: b.namespaces,
    environments: b.environments,
    condition: b.condition,
    createdAt: b.createdAt,
    revokedAt: b.revokedAt,
  };
}

/** Loads a principal by name or throws PRINCIPAL_NOT_FOUND (callers are already authorized). */
export async function principalNamed(reader: MetadataReader, name: string): Promise<Principal> {
  const principal = await reader.getPrincipalByName(name);
  if (principal === undefined) throw new CustodyError('PRINCIPAL_NOT_FOUND', `no principal named ${name.slice(0, 130)}`, { details: { principal: name.slice(0, 130) } });
  return principal;
}

function checkCondition(source: string | null | undefined, field: string): string | null {
  if (source === undefined || source === null) return null;
  try {
    return compileClaimCondition(source).source;
  } catch (error) {
    const message = error instanceof CustodyError ? error.message : 'the condition does not compile';
    throw new CustodyError('VALIDATION_FAILED', `${field}: ${message}`, { details: { field } });
  }
}

/** Whether, once `without` applies, some enabled principal still holds an unrestricted admin binding. */
async function adminRemains(reader: MetadataReader, without: { principalId?: string; bindingId?: string }): Promise<boolean> {
  for (const b of await reader.listAllBindings()) {
    if (b.role !== 'admin' || b.namespaces !== null || b.environments !== null || b.condition !== null) continue;
    if (b.id === without.bindingId || b.principalId === without.principalId) continue;
    const holder = await reader.getPrincipalById(b.principalId);
    if (holder !== undefined && holder.disabledAt === null) return true;
  }
  return false;
}

export class IdentityService {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
    private readonly auth: AuthService,
    private readonly settings: {
      readonly environments: readonly string[];
      /** Workload issuers (`oidc.issuers`): a service principal's identity names one. */
      readonly oidcIssuers: readonly string[];
      /** The web UI's sign-on issuer (`ui.oidc.issuer`): a user principal's identity names it. */
      readonly uiOidcIssuer?: string | undefined;
    },
  ) {}

  async createPrincipal(actor: Actor, request: CreatePrincipalRequest): Promise<Change<PrincipalView>> {
    if (!isValidName(request.name)) throw usage('a principal name is 1–128 of a-z 0-9 . _ - starting with a letter or digit', 'name');
    let oidc: OidcIdentity | null = null;
    if (request.oidc != null) {
      const { issuer, subject } = request.oidc;
      if (request.kind === 'service') {
        if (!this.settings.oidcIssuers.includes(issuer)) {
          throw usage(`issuer ${issuer.slice(0, 200)} is not among the trusted issuers in this registry's config (oidc.issuers)`, 'oidc.issuer');
        }
      } else {
        // A user's OIDC identity is for signing in to the web UI only (issue 8 §2): the UI's issuer, no condition.
        if (this.settings.uiOidcIssuer === undefined || issuer !== this.settings.uiOidcIssuer) {
          throw usage(
            `a user principal can carry an OIDC identity only for the web UI's single sign-on issuer (ui.oidc.issuer${this.settings.uiOidcIssuer === undefined ? ', not configured here' : ''}); ${issuer.slice(0, 200)} is not it`,
            'oidc.issuer',
          );
        }
        if (request.oidc.condition != null) throw usage("a user's OIDC identity takes no condition: conditions are for workload tokens", 'oidc.condition');
      }
      // eslint-disable-next-line no-control-regex
      if (subject.length === 0 || subject.length > 1024 || /[\u0000-\u001f\u007f]/.test(subject)) throw usage('the subject is 1–1024 printable characters', 'oidc.subject');
      oidc = { issuer, subject, condition: checkCondition(request.oidc.condition, 'oidc.condition') };
    }
    return this.store.transaction(async (tx) => {
      if ((await tx.getPrincipalByName(request.name)) !== undefined) {
        throw new CustodyError('PRINCIPAL_EXISTS', `a principal named ${request.name} already exists`, { details: { principal: request.name } });
      }
      if (oidc !== null && (await tx.findPrincipalByOidc(oidc.issuer, oidc.subject)) !== undefined) {
        throw new CustodyError('PRINCIPAL_EXISTS', 'another principal already acts for this issuer and subject', { details: { field: 'oidc' } });
      }
      const now = isoNow(this.clock);
      const principal: Principal = { id: newId(), name: request.name, kind: request.kind, createdAt: now, disabledAt: null, oidc };
      await tx.insertPrincipal(principal);
      const [receipt] = await this.log.append(tx, [
        { v: 1, type: 'principal.created', time: now, actor: eventActor(actor), principal: principal.name, kind: principal.kind, oidc },
      ]);
      return { value: principalView(principal), receipt: receiptOf(receipt) };
    });
  }

  async listPrincipals(): Promise<PrincipalView[]> {
    return (await this.store.listPrincipals()).map(principalView);
  }

  async disablePrincipal(actor: Actor, name: string): Promise<Change<PrincipalView>> {
    return this.store.transaction(async (tx) => {
      const principal = await principalNamed(tx, name);
      if (principal.disabledAt !== null) throw new CustodyError('CONFLICT', `principal ${name} was already disabled at ${principal.disabledAt}`);
      if (!(await adminRemains(tx, { principalId: principal.id }))) {
        throw new CustodyError('LAST_ADMIN', `disabling ${name} would leave no enabled principal with an unrestricted admin binding`);
      }
      const now = isoNow(this.clock);
      await tx.disablePrincipal(principal.id, now);
      const [receipt] = await this.log.append(tx, [{ v: 1, type: 'principal.disabled', time: now, actor: eventActor(actor), principal: name }]);
      return { value: principalView({ ...principal, disabledAt: now }), receipt: receiptOf(receipt) };
    });
  }

  async grant(actor: Actor, request: GrantRequest): Promise<Change<BindingView>> {
    if (!isRoleName(request.role)) throw usage(`unknown role ${request.role.slice(0, 64)}: the roles are ${BUILT_IN_ROLES.join(', ')}`, 'role');
    const role: RoleName = request.role;
    const definition = ROLES[role];
    const namespaces = checkNamespaces(request.namespaces);
    const environments = this.#checkEnvironments(request.environments);
    if (namespaces !== null && !definition.scopedBy.includes('namespaces')) throw usage(`role ${role} applies registry-wide; it cannot be limited to namespaces`, 'namespaces');
    if (environments !== null && !definition.scopedBy.includes('environments')) throw usage(`role ${role} is not scoped by environment`, 'environments');
    if (definition.requiresEnvironments === true && environments === null) throw usage(`a ${role} binding must name the environments it promotes into (--environments)`, 'environments');
    const condition = checkCondition(request.condition, 'condition');
    this.auth.assertCanConfer(actor, { role, namespaces, environments });
    return this.store.transaction(async (tx) => {
      const principal = await principalNamed(tx, request.principal);
      if (principal.disabledAt !== null) throw new CustodyError('CONFLICT', `principal ${principal.name} is disabled`);
      const same = (await tx.listBindings(principal.id)).find(
        (b) => b.role === role && sameList(b.namespaces, namespaces) && sameList(b.environments, environments) && b.condition === condition,
      );
      if (same !== undefined) throw new CustodyError('CONFLICT', `${principal.name} already has this binding (${same.id})`, { details: { binding: same.id } });
      const now = isoNow(this.clock);
      const binding: RoleBinding = { id: newId(), principalId: principal.id, role, namespaces, environments, condition, createdAt: now, revokedAt: null };
      await tx.insertBinding(binding);
      const [receipt] = await this.log.append(tx, [
        { v: 1, type: 'binding.granted', time: now, actor: eventActor(actor), binding: binding.id, principal: principal.name, role, namespaces, environments, condition },
      ]);
      return { value: bindingView(binding, principal.name), receipt: receiptOf(receipt) };
    });
  }

  async listBindings(principalName?: string): Promise<BindingView[]> {
    const names = new Map((await this.store.listPrincipals()).map((p) => [p.id, p.name]));
    if (principalName === undefined) return (await this.store.listAllBindings()).map((b) => bindingView(b, names.get(b.principalId) ?? '?'));
    const principal = await principalNamed(this.store, principalName);
    return (await this.store.listBindings(principal.id)).map((b) => bindingView(b, principal.name));
  }

  async revokeBinding(actor: Actor, id: string): Promise<Change<BindingView>> {
    return this.store.transaction(async (tx) => {
      const binding = await tx.getBinding(id);
      if (binding === undefined) throw new CustodyError('BINDING_NOT_FOUND', `no binding with id ${id.slice(0, 64)}`);
      if (binding.revokedAt !== null) throw new CustodyError('CONFLICT', `binding ${id} was already revoked at ${binding.revokedAt}`);
      if (!(await adminRemains(tx, { bindingId: binding.id }))) {
        throw new CustodyError('LAST_ADMIN', 'revoking this binding would leave no enabled principal with an unrestricted admin binding');
      }
      const principal = await tx.getPrincipalById(binding.principalId);
      const name = principal?.name ?? '?';
      const now = isoNow(this.clock);
      await tx.revokeBinding(binding.id, now);
      const [receipt] = await this.log.append(tx, [
        { v: 1, type: 'binding.revoked', time: now, actor: eventActor(actor), binding: binding.id, principal: name, role: binding.role },
      ]);
      return { value: bindingView({ ...binding, revokedAt: now }, name), receipt: receiptOf(receipt) };
    });
  }

  #checkEnvironments(environments: readonly string[] | null | undefined): string[] | null {
    if (environments === undefined || environments === null) return null;
    if (environments.length === 0) throw usage('environments: name at least one, or omit for every environment', 'environments');
    for (const env of environments) {
      if (!this.settings.environments.includes(env)) {
        throw usage(`unknown environment ${env.slice(0, 64)}: the environments are ${this.settings.environments.join(', ')}`, 'environments');
      }
    }
    return this.settings.environments.filter((env) => environments.includes(env));
  }
}

function sameList(a: readonly string[] | null, b: readonly string[] | null): boolean {
  return a === null || b === null ? a === b : a.length === b.length && a.every((v, i) => v === b[i]);
}

export function receiptOf(receipt: Receipt | undefined): Receipt {
  if (receipt === undefined) throw new CustodyError('INTERNAL', 'the log returned no receipt');
  return receipt;
}
