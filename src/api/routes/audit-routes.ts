/** The audit feed (SPEC §8 `custody audit`): log events, newest first, filtered by model, type and time. */
import { z } from 'zod';
import { LOG_EVENT_TYPES } from '../../domain/log-event.js';
import { parseModelName } from '../../domain/model-ref.js';
import { defineRoute } from '../route.js';

const auditQuery = z
  .object({
    model: z.string().max(300).optional().meta({ description: 'NS/NAME' }),
    type: z.enum(LOG_EVENT_TYPES).optional(),
    since: z.iso.datetime({ offset: true }).optional().meta({ description: 'RFC 3339 instant' }),
    before: z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional().meta({ description: 'only entries with a smaller index (paging)' }),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();

const auditResponse = z.object({
  items: z.array(z.object({ index: z.number().int(), leafHash: z.string(), event: z.unknown() })),
  nextBefore: z.number().int().nullable().meta({ description: 'pass as `before` for the next page' }),
});

export const auditRoutes = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/audit',
    operationId: 'audit',
    summary: 'Log events, newest first, filtered by model, type and time',
    tag: 'log',
    auth: { permission: 'audit:read', scope: 'global' },
    query: auditQuery,
    body: { kind: 'none' },
    responses: { 200: { description: 'a page of events', schema: auditResponse } },
    handle: async ({ query, services }) => {
      const model = query.model === undefined ? undefined : parseModelName(query.model);
      const since = query.since === undefined ? undefined : new Date(query.since).toISOString();
      const entries = await services.log.query({
        limit: query.limit,
        ...(query.type === undefined ? {} : { types: [query.type] }),
        ...(model === undefined ? {} : { namespace: model.namespace, name: model.name }),
        ...(since === undefined ? {} : { since }),
        ...(query.before === undefined ? {} : { beforeIndex: query.before }),
      });
      const last = entries[entries.length - 1];
      return {
        status: 200,
        json: {
          items: entries.map((e) => ({ index: e.index, leafHash: e.leafHash, event: JSON.parse(e.leaf) as unknown })),
          nextBefore: entries.length === query.limit && last !== undefined ? last.index : null,
        },
      };
    },
  }),
];
