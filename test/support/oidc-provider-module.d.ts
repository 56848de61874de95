/**
 * The small part of `oidc-provider` (v9, which ships no type declarations) that
 * `test/support/oidc-provider.ts` uses to run a real OpenID Provider in tests.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface Grant {
    addOIDCScope(scope: string): void;
    save(): Promise<string>;
  }

  export interface GrantConstructor {
    new (fields: { clientId: string; accountId: string }): Grant;
    find(id: string): Promise<Grant | undefined>;
  }

  export interface KoaContextWithOIDC {
    readonly oidc: {
      readonly client?: { readonly clientId: string };
      readonly session?: { readonly accountId?: string; grantIdFor(clientId: string): string | undefined };
      readonly result?: Record<string, { grantId?: string } | undefined>;
      readonly provider: { readonly Grant: GrantConstructor };
    };
  }

  export interface Account {
    readonly accountId: string;
    claims(): Promise<Record<string, unknown>>;
  }

  export interface Configuration {
    readonly clients?: readonly Record<string, unknown>[];
    readonly jwks?: { readonly keys: readonly Record<string, unknown>[] };
    readonly pkce?: { readonly required?: () => boolean };
    readonly features?: Record<string, { readonly enabled: boolean }>;
    readonly cookies?: { readonly keys?: readonly string[] };
    /** Lifetimes in seconds, by artifact (Session, Grant, IdToken, …). */
    readonly ttl?: Record<string, number>;
    readonly findAccount?: (ctx: KoaContextWithOIDC, id: string) => Promise<Account | undefined>;
    readonly loadExistingGrant?: (ctx: KoaContextWithOIDC) => Promise<Grant | undefined>;
  }

  export default class Provider {
    constructor(issuer: string, configuration?: Configuration);
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
  }
}
