/**
 * Matches a request path against the route table. Path templates are split into segments once;
 * `{name}` segments capture one percent-decoded segment (a decoded `/` or NUL is refused).
 */
import { CustodyError } from '../domain/errors.js';
import type { AnyRoute } from './route.js';

/** What the router needs of a route: its method and path template (API routes, UI pages). */
export interface Routable {
  readonly method: string;
  readonly path: string;
}

interface CompiledRoute<R extends Routable> {
  readonly route: R;
  readonly segments: readonly ({ readonly literal: string } | { readonly param: string; readonly rest: boolean })[];
}

export interface RouteMatch<R extends Routable = AnyRoute> {
  readonly route: R;
  readonly params: Record<string, string>;
}

export class Router<R extends Routable = AnyRoute> {
  private readonly compiled: CompiledRoute<R>[];

  constructor(readonly routes: readonly R[]) {
    const seen = new Set<string>();
    this.compiled = routes.map((route) => {
      const key = `${route.method} ${route.path}`;
      if (seen.has(key)) throw new Error(`duplicate route ${key}`);
      seen.add(key);
      const segments = route.path
        .split('/')
        .slice(1)
        .map((s) => {
          const match = /^\{([A-Za-z]+)(\*?)\}$/.exec(s);
          return match?.[1] === undefined ? { literal: s } : { param: match[1], rest: match[2] === '*' };
        });
      return { route, segments };
    });
  }

  /** The matching route, or ROUTE_NOT_FOUND / METHOD_NOT_ALLOWED. HEAD falls back to GET. */
  match(method: string, pathname: string): RouteMatch<R> {
    const parts = pathname.split('/').slice(1);
    let pathMatched = false;
    for (const wanted of method === 'HEAD' ? ['HEAD', 'GET'] : [method]) {
      for (const { route, segments } of this.compiled) {
        const params = matchSegments(segments, parts);
        if (params === undefined) continue;
        pathMatched = true;
        if (route.method === wanted) return { route, params };
      }
    }
    if (pathMatched) throw new CustodyError('METHOD_NOT_ALLOWED', `${method} is not allowed here`);
    throw new CustodyError('ROUTE_NOT_FOUND', 'no such route');
  }
}

function matchSegments(segments: CompiledRoute<Routable>['segments'], parts: readonly string[]): Record<string, string> | undefined {
  const last = segments[segments.length - 1];
  const hasRest = last !== undefined && 'param' in last && last.rest;
  if (hasRest ? parts.length < segments.length : segments.length !== parts.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i];
    const part = parts[i] ?? '';
    if (segment === undefined) return undefined;
    if ('literal' in segment) {
      if (segment.literal !== part) return undefined;
      continue;
    }
    if (segment.rest) {
      // The rest of the path, kept raw: its owner parses it strictly (e.g. tile paths).
      const rest = parts.slice(i).join('/');
      if (!/^[A-Za-z0-9._/-]+$/.test(rest)) return undefined;
      params[segment.param] = rest;
      return params;
    }
    let decoded: string;
    try {
      decoded = decodeURIComponent(part);
    } catch {
      throw new CustodyError('BAD_REQUEST', 'malformed percent-encoding in the path');
    }
    if (decoded === '' || decoded.includes('/') || decoded.includes('\0')) return undefined;
    params[segment.param] = decoded;
  }
  return params;
}
