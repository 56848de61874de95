/** Public operational routes: liveness, readiness and Prometheus metrics (SPEC §9). */
import { CustodyError } from '../../domain/errors.js';
import { defineRoute } from '../route.js';
import { healthResponse } from '../schemas.js';

export const healthRoutes = [
  defineRoute({
    method: 'GET',
    path: '/healthz',
    operationId: 'healthz',
    summary: 'Liveness: the process is up',
    tag: 'operations',
    auth: 'public',
    body: { kind: 'none' },
    responses: { 200: { description: 'alive', schema: healthResponse } },
    handle: () => Promise.resolve({ status: 200, json: { status: 'ok' } }),
  }),
  defineRoute({
    method: 'GET',
    path: '/readyz',
    operationId: 'readyz',
    summary: 'Readiness: the metadata and blob stores answer',
    tag: 'operations',
    auth: 'public',
    body: { kind: 'none' },
    responses: { 200: { description: 'ready', schema: healthResponse }, 503: { description: 'not ready' } },
    handle: async ({ services }) => {
      if (services.isShuttingDown()) throw new CustodyError('SHUTTING_DOWN', 'the server is shutting down');
      try {
        await services.checkReady();
      } catch (error) {
        throw new CustodyError('SERVICE_UNAVAILABLE', 'a storage backend is unavailable', { cause: error });
      }
      return { status: 200, json: { status: 'ready' } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/metrics',
    operationId: 'metrics',
    summary: 'Prometheus metrics',
    tag: 'operations',
    auth: 'public',
    body: { kind: 'none' },
    responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain; version=0.0.4' } },
    handle: ({ services }) => Promise.resolve({ status: 200, text: services.metrics.render(), contentType: 'text/plain; version=0.0.4; charset=utf-8' }),
  }),
];
