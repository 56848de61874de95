/**
 * API tokens (SPEC §7, issue 5 §2): random, shown once, stored only as a hash, with an expiry
 * (90 days unless asked otherwise), revocable, optionally narrowed to a subset of the principal's
 * permissions. Whoever creates a token must hold everything it carries: a token is a grant.
 */
import { generateApiToken, hashApiToken } from '../auth/api-token.js';
import { heldPermissions, isPermission } from '../auth/permissions.js';
import { isoNow, type Clock } from '../domain/clock.js';
import { CustodyError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import type { ApiToken, MetadataStore } from '../store/metadata-store.js';
import type { Actor, AuthService } from './auth-service.js';
import { eventActor } from './event-actor.js';
import { principalNamed, receiptOf, type Change } from './identity-service.js';
import { parseInstant, usage } from './request-fields.js';
import type { TransparencyLog } from './transparency-log.js';

export const DEFAULT_TOKEN_DAYS = 90;
const MAX_TOKEN_NAME = 128;
const MAX_NARROWED = 64;

export interface CreateTokenRequest {
  readonly principal: string;
  readonly name?: string;
  /** RFC 3339; omitted = 90 days from now; null = never (explicitly). */
  readonly expiresAt?: string | null;
  /** Narrow the token to these permissions; omitted or null = all the principal holds. */
  readonly permissions?: readonly string[] | null;
}

export type TokenStatus = 'active' | 'expired' | 'revoked';

export interface TokenView {
  readonly id: string;
  readonly principal: string;
  readonly name: string;
  readonly createdAt: string;
  readonly expiresAt: string | null;
  readonly revokedAt: string | null;
  readonly permissions: readonly string[] | null;
  readonly status: TokenStatus;
}

export class TokenService {
  constructor(
    private readonly store: MetadataStore,
    private readonly clock: Clock,
    private readonly log: TransparencyLog,
    private readonly auth: AuthService,
    private readonly environments: readonly string[],
  ) {}

  /** Creates a token; `secret` is returned here and never again. */
  async create(actor: Actor, request: CreateTokenRequest): Promise<Change<TokenView> & { readonly secret: string }> {
    const name = (request.name ?? 'token').trim();
    // eslint-disable-next-line no-control-regex
    if (name.length === 0 || name.length > MAX_TOKEN_NAME || /[\u0000-\u001f\u007f]/.test(name)) throw usage(`a token name is 1–${MAX_TOKEN_NAME} printable characters`, 'name');
    const now = this.clock.now();
    let expiresAt: string | null;
    if (request.expiresAt === undefined) expiresAt = new Date(now.getTime() + DEFAULT_TOKEN_DAYS * 86_400_000).toISOString();
    else if (request.expiresAt === null) expiresAt = null;
    else {
      expiresAt = parseInstant(request.expiresAt, 'expiresAt');
      if (Date.parse(expiresAt) <= now.getTime()) throw usage('expiresAt must be in the future', 'expiresAt');
    }
    const permissions = this.#checkNarrowing(request.permissions);

    return this.store.transaction(async (tx) => {
      const principal = await principalNamed(tx, request.principal);
      if (principal.disabledAt !== null) throw new CustodyError('CONFLICT', `principal ${principal.name} is disabled`);
      const bindings = (await tx.listBindings(principal.id)).filter((b) => b.condition === null);
      if (permissions !== null) {
        const held = new Set<string>(heldPermissions(bindings, this.environments));
        const lacking = permissions.filter((p) => !held.has(p));
        if (lacking.length > 0) throw usage(`${principal.name} does not hold ${lacking.join(', ')}: a token can only be narrowed to permissions its principal holds`, 'permissions');
      }
      for (const binding of bindings) this.auth.assertCanConfer(actor, binding, permissions);
      const secret = generateApiToken();
      const created = isoNow(this.clock);
      const token: ApiToken = { id: newId(), principalId: principal.id, name, tokenHash: hashApiToken(secret), createdAt: created, expiresAt, revokedAt: null, permissions };
      await tx.insertToken(token);
      const [receipt] = await this.log.append(tx, [
        { v: 1, type: 'token.created', time: created, actor: eventActor(actor), token: token.id, principal: principal.name, name, expiresAt, permissions },
      ]);
      return { value: this.#view(token, principal.name), receipt: receiptOf(receipt), secret };
    });
  }

  async list(principalName?: string): Promise<TokenView[]> {
    const principals = await this.store.listPrincipals();
    const names = new Map(principals.map((p) => [p.id, p.name]));
    const principalId = principalName === undefined ? undefined : (await principalNamed(this.store, principalName)).id;
    return (await this.store.listTokens(principalId)).map((t) => this.#view(t, names.get(t.principalId) ?? '?'));
  }

  async revoke(actor: Actor, id: string): Promise<Change<TokenView>> {
    return this.store.transaction(async (tx) => {
      const token = await tx.getToken(id);
      if (token === undefined) throw new CustodyError('TOKEN_NOT_FOUND', `no token with id ${id.slice(0, 64)}`);
      if (token.revokedAt !== null) throw new CustodyError('CONFLICT', `token ${id} was already revoked at ${token.revokedAt}`);
      const principal = await tx.getPrincipalById(token.principalId);
      const now = isoNow(this.clock);
      await tx.revokeToken(token.id, now);
      const [receipt] = await this.log.append(tx, [
        { v: 1, type: 'token.revoked', time: now, actor: eventActor(actor), token: token.id, principal: principal?.name ?? '?' },
      ]);
      return { value: this.#view({ ...token, revokedAt: now }, principal?.name ?? '?'), receipt: receiptOf(receipt) };
    });
  }

  #checkNarrowing(permissions: readonly string[] | null | undefined): string[] | null {
    if (permissions === undefined || permissions === null) return null;
    if (permissions.length === 0 || permissions.length > MAX_NARROWED) throw usage(`permissions: 1 to ${MAX_NARROWED}, or omit for all`, 'permissions');
    for (const p of permissions) if (!isPermission(p)) throw usage(`unknown permission ${p.slice(0, 64)}`, 'permissions');
    return [...new Set(permissions)].sort();
  }

  #view(token: ApiToken, principal: string): TokenView {
    const status: TokenStatus =
      token.revokedAt !== null ? 'revoked' : token.expiresAt !== null && Date.parse(token.expiresAt) <= this.clock.now().getTime() ? 'expired' : 'active';
    return {
      id: token.id,
      principal,
      name: token.name,
      createdAt: token.createdAt,
      expiresAt: token.expiresAt,
      revokedAt: token.revokedAt,
      permissions: token.permissions,
      status,
    };
  }
}
