/**
 * `IdentityApi`, the SDK's calls for identity and access (SPEC §7): who the caller is, principals,
 * API tokens and role bindings. Every answer is checked against the schemas the server documents
 * in its OpenAPI (`api/identity-schemas.ts`): a registry, or something pretending to be one, is
 * not trusted to send well-formed data. Managing needs `principal:manage`; `whoami` only a token.
 */
import type { z } from 'zod';
import { CustodyError } from '../domain/errors.js';
import {
  bindingResponse,
  bindingsResponse,
  createdTokenResponse,
  principalResponse,
  principalsResponse,
  tokenResponse,
  tokensResponse,
} from '../api/identity-schemas.js';
import type { HttpTransport } from './http-transport.js';
import { whoamiSchema, type Whoami } from './responses.js';

/** A principal, with the receipt of the change when one was made. */
export type PrincipalBody = z.infer<typeof principalResponse>;
export type PrincipalsPage = z.infer<typeof principalsResponse>;
/** An API token as the server lists it: never the secret (the server only keeps its hash). */
export type TokenBody = z.infer<typeof tokenResponse>;
/** A token just created: `token` is the secret, in this answer only. */
export type CreatedTokenBody = z.infer<typeof createdTokenResponse>;
export type TokensPage = z.infer<typeof tokensResponse>;
/** A role binding, with the receipt of the change when one was made. */
export type BindingBody = z.infer<typeof bindingResponse>;
export type BindingsPage = z.infer<typeof bindingsResponse>;

export type PrincipalKind = PrincipalBody['kind'];

/** SPEC §8 `principals create`. */
export interface CreatePrincipalRequest {
  readonly name: string;
  readonly kind: PrincipalKind;
  /** Services only: the OIDC workload identity (a trusted issuer + subject, optional CEL claim condition). */
  readonly oidc?: { readonly issuer: string; readonly subject: string; readonly condition?: string };
}

/** SPEC §8 `tokens create`. */
export interface CreateTokenRequest {
  readonly principal: string;
  /** A label for lists; the server's default is `token`. */
  readonly name?: string;
  /** RFC 3339; omitted = the server's default (90 days); null = never expires. */
  readonly expiresAt?: string | null;
  /** Narrow the token to these permissions (its principal must hold them); omitted = all it holds. */
  readonly permissions?: readonly string[];
}

/** SPEC §8 `roles grant`; an omitted scope means every namespace / every environment. */
export interface GrantRoleRequest {
  readonly principal: string;
  readonly role: string;
  readonly namespaces?: readonly string[];
  readonly environments?: readonly string[];
  /** CEL over the OIDC token claims, e.g. `claims.ref == "refs/heads/main"`. */
  readonly condition?: string;
}

export class IdentityApi {
  constructor(private readonly transport: HttpTransport) {}

  /** The authenticated principal, its bindings (and whether each applies now), effective permissions and token narrowing. */
  async whoami(): Promise<Whoami> {
    return this.#get(whoamiSchema, '/api/v1/whoami');
  }

  /** Every principal, disabled ones included. */
  async listPrincipals(): Promise<PrincipalsPage> {
    return this.#get(principalsResponse, '/api/v1/principals');
  }

  /** Creates a user or service principal; the answer carries the `principal.created` receipt. */
  async createPrincipal(request: CreatePrincipalRequest): Promise<PrincipalBody> {
    const oidc = request.oidc;
    const json = {
      name: request.name,
      kind: request.kind,
      ...(oidc === undefined
        ? {}
        : { oidc: { issuer: oidc.issuer, subject: oidc.subject, ...(oidc.condition === undefined ? {} : { condition: oidc.condition }) } }),
    };
    return this.#post(principalResponse, '/api/v1/principals', json);
  }

  /** Disables a principal: its tokens and workload identity stop working (`principal.disabled`). */
  async disablePrincipal(name: string): Promise<PrincipalBody> {
    return this.#post(principalResponse, `/api/v1/principals/${encodeURIComponent(name)}/disable`);
  }

  /** API tokens, newest first, optionally of one principal; never a secret. */
  async listTokens(options: { principal?: string } = {}): Promise<TokensPage> {
    return this.#get(tokensResponse, `/api/v1/tokens${principalQuery(options.principal)}`);
  }

  /** Creates a token; the secret (`token`) is in this answer and nowhere else, ever. */
  async createToken(request: CreateTokenRequest): Promise<CreatedTokenBody> {
    const json = {
      principal: request.principal,
      ...(request.name === undefined ? {} : { name: request.name }),
      ...(request.expiresAt === undefined ? {} : { expiresAt: request.expiresAt }),
      ...(request.permissions === undefined ? {} : { permissions: request.permissions }),
    };
    return this.#post(createdTokenResponse, '/api/v1/tokens', json);
  }

  /** Revokes a token by id (`token.revoked`); it is refused from then on. */
  async revokeToken(id: string): Promise<TokenBody> {
    return this.#post(tokenResponse, `/api/v1/tokens/${encodeURIComponent(id)}/revoke`);
  }

  /** Role bindings in force, oldest first, optionally of one principal. */
  async listBindings(options: { principal?: string } = {}): Promise<BindingsPage> {
    return this.#get(bindingsResponse, `/api/v1/bindings${principalQuery(options.principal)}`);
  }

  /** Binds a built-in role to a principal, optionally scoped (`binding.granted`). */
  async grantRole(request: GrantRoleRequest): Promise<BindingBody> {
    const json = {
      principal: request.principal,
      role: request.role,
      ...(request.namespaces === undefined ? {} : { namespaces: request.namespaces }),
      ...(request.environments === undefined ? {} : { environments: request.environments }),
      ...(request.condition === undefined ? {} : { condition: request.condition }),
    };
    return this.#post(bindingResponse, '/api/v1/bindings', json);
  }

  /** Revokes a binding by id (`binding.revoked`). */
  async revokeBinding(id: string): Promise<BindingBody> {
    return this.#post(bindingResponse, `/api/v1/bindings/${encodeURIComponent(id)}/revoke`);
  }

  async #get<T>(schema: z.ZodType<T>, path: string): Promise<T> {
    return parse(schema, (await this.transport.json({ method: 'GET', path })).body);
  }

  async #post<T>(schema: z.ZodType<T>, path: string, json?: unknown): Promise<T> {
    return parse(schema, (await this.transport.json({ method: 'POST', path, ...(json === undefined ? {} : { json }) })).body);
  }
}

function principalQuery(principal: string | undefined): string {
  return principal === undefined ? '' : `?${new URLSearchParams({ principal }).toString()}`;
}

/** Validates a server response: the SDK trusts nothing it did not check. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new CustodyError('SERVER_ERROR', 'the server sent an unexpected response');
  return result.data;
}
