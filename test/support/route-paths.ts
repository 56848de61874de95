/**
 * Concrete paths for walking the route table (the route × authentication and route × role
 * tests): plausible, valid values for every path parameter, so that only the credential can be
 * at fault. A new parameter name fails those tests until it gets a value here.
 */
import type { AnyRoute } from '../../src/api/route.js';

/** The namespace every walked path names. */
export const WALK_NAMESPACE = 'ns';

/** The value each path parameter takes in a walk. */
export const WALK_PARAMS: Readonly<Record<string, string>> = {
  digest: `sha256:${'5e'.repeat(32)}`,
  id: 'AbCdEfGhIjKlMnOpQrStUv',
  namespace: WALK_NAMESPACE,
  name: 'm',
  selector: 'v1',
  index: '0',
  path: '0/000',
  // Not the last environment: the service-only rule is tested on its own.
  environment: 'staging',
};

export function concretePath(route: AnyRoute): string {
  return route.path.replace(/\{([A-Za-z]+)(\*?)\}/g, (_whole, param: string, rest: string) => {
    const value = WALK_PARAMS[param];
    if (value === undefined) throw new Error(`no test value for path parameter {${param}} of ${route.method} ${route.path}: add one`);
    // A rest parameter spans several segments: its slashes are path separators.
    return rest === '*' ? value : encodeURIComponent(value);
  });
}
