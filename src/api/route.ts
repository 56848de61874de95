/**
 * How a route is declared: method, path template, the permission it needs (the one enforcement
 * mechanism — a route cannot be registered without an `auth` declaration), and the zod schemas
 * that validate its input and document its output. The same declarations drive dispatch, the
 * OpenAPI document and the route × authentication test.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import type { FileSlice } from '../io/send-file-slice.js';
import type { z } from 'zod';
import type { Permission, Scope } from '../auth/permissions.js';
import { CustodyError } from '../domain/errors.js';
import type { Actor } from '../service/auth-service.js';
import type { Services } from './services.js';
import type { Config } from '../config/config.js';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Where a permission is checked: `'global'` registry-wide (a binding limited to namespaces or
 * environments does not reach it); `'any'` held anywhere at all, the handler narrowing the result
 * (list filtering, per-blob checks); or the namespace and environment the request is about.
 */
export type RouteScope<P> = 'global' | 'any' | ((params: P, config: Config) => { readonly namespace?: string; readonly environment?: string });

/**
 * `public`; `authenticated` (any valid credential, no permission: `whoami`); or the permission a
 * caller needs and the scope it is checked at. There is no default: every route says.
 */
export type RouteAuth<P> =
  | 'public'
  | 'authenticated'
  | {
      readonly permission: Permission;
      readonly scope: RouteScope<P>;
      /** Configuration under which the route needs no token (e.g. `log.publicReads`). */
      readonly publicWhen?: (config: Config) => boolean;
    };

/**
 * The permission a request needs: the declared one, with `{param}` placeholders (e.g.
 * `promote:{environment}`) filled from the validated path parameters.
 */
export function permissionOf(permission: Permission, params: unknown): Permission {
  return permission.replace(/\{([A-Za-z]+)\}/g, (_whole, name: string) => {
    const value = (params as Record<string, unknown>)[name];
    if (typeof value !== 'string') throw new CustodyError('INTERNAL', `route permission names a missing parameter {${name}}`);
    return value;
  }) as Permission;
}

/** The scope a route's permission is checked at, for this request. */
export function scopeOf<P>(scope: RouteScope<P>, params: P, config: Config): Scope {
  if (scope === 'global') return {};
  if (scope === 'any') return 'any';
  return scope(params, config);
}

export type RouteBody<B> =
  | { readonly kind: 'none' }
  | { readonly kind: 'json'; readonly schema: z.ZodType<B>; readonly limit: 'json' | 'manifest' }
  | { readonly kind: 'stream'; readonly description: string };

export interface RouteResponse {
  readonly description: string;
  readonly schema?: z.ZodType;
  readonly contentType?: string;
}

export type Reply =
  | { readonly status: number; readonly json: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly stream: Readable; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: number; readonly file: FileSlice; readonly headers: Readonly<Record<string, string>> }
  | { readonly status: number; readonly text: string; readonly contentType: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly bytes: Buffer; readonly contentType: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly empty: true; readonly headers?: Readonly<Record<string, string>> };

export interface RouteContext<P, Q, B> {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly params: P;
  readonly query: Q;
  readonly body: B;
  /** Undefined only on public routes (and routes public under the configuration). */
  readonly actor: Actor | undefined;
  readonly services: Services;
}

export interface RouteDef<P = unknown, Q = unknown, B = unknown> {
  readonly method: HttpMethod;
  /**
   * Path template with `{name}` parameters, e.g. `/api/v1/models/{namespace}/{name}`; a last
   * `{name*}` segment captures the rest of the path (one or more segments).
   */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: string;
  readonly auth: RouteAuth<P>;
  readonly params?: z.ZodType<P>;
  readonly query?: z.ZodType<Q>;
  readonly body: RouteBody<B>;
  readonly responses: Readonly<Record<number, RouteResponse>>;
  /** Hidden from the OpenAPI document (the docs page itself). */
  readonly hidden?: boolean;
  handle(ctx: RouteContext<P, Q, B>): Promise<Reply>;
}

/** Identity function that keeps the route's parameter types tied together. */
export function defineRoute<P, Q, B>(route: RouteDef<P, Q, B>): RouteDef<P, Q, B> {
  return route;
}

/** Type-erased route, as stored in the route table. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRoute = RouteDef<any, any, any>;

/** The authenticated actor of a non-public route (the dispatcher guarantees one). */
export function requireActor(ctx: { readonly actor: Actor | undefined }): Actor {
  if (ctx.actor === undefined) throw new CustodyError('UNAUTHENTICATED', 'a valid bearer token is required');
  return ctx.actor;
}
