/** The route table: every route the server answers, in one list (dispatch, OpenAPI, tests). */
import type { AnyRoute } from '../route.js';
import { auditRoutes } from './audit-routes.js';
import { blobRoutes } from './blob-routes.js';
import { docsRoutes } from './docs-routes.js';
import { healthRoutes } from './health-routes.js';
import { logRoutes } from './log-routes.js';
import { identityRoutes } from './identity-routes.js';
import { modelRoutes } from './model-routes.js';
import { uploadRoutes } from './upload-routes.js';
import { trustRoutes } from './trust-routes.js';
import { promotionRoutes } from './promotion-routes.js';

export function allRoutes(version: string): readonly AnyRoute[] {
  const routes: AnyRoute[] = [...healthRoutes, ...identityRoutes, ...modelRoutes, ...trustRoutes, ...promotionRoutes, ...blobRoutes, ...uploadRoutes, ...logRoutes, ...auditRoutes];
  routes.push(...docsRoutes(() => routes, version));
  return routes;
}
