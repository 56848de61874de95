/** `whoami`: the caller's principal, kind, roles and effective permissions (SPEC §7). */
import { defineRoute, requireActor } from '../route.js';
import { whoamiResponse } from '../schemas.js';

export const identityRoutes = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/whoami',
    operationId: 'whoami',
    summary: 'The authenticated principal and its effective permissions',
    tag: 'identity',
    auth: { permission: 'model:read' },
    body: { kind: 'none' },
    responses: { 200: { description: 'the caller', schema: whoamiResponse } },
    handle: ({ actor, services }) => {
      return Promise.resolve({ status: 200, json: services.auth.describe(requireActor({ actor })) });
    },
  }),
];
