/**
 * Builds the OpenAPI 3.1 document from the route table and the very zod schemas that validate
 * requests (SPEC §9), so documentation and validation cannot disagree.
 */
import { z } from 'zod';
import type { AnyRoute } from './route.js';
import { problemSchema } from './schemas.js';

type JsonObject = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonObject {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as JsonObject;
  delete out.$schema;
  return out;
}

function parameters(route: AnyRoute): JsonObject[] {
  const list: JsonObject[] = [];
  const add = (schema: z.ZodType | undefined, where: 'path' | 'query'): void => {
    if (schema === undefined) return;
    const js = jsonSchema(schema, 'input');
    const properties = (js.properties ?? {}) as Record<string, JsonObject>;
    const required = new Set((js.required ?? []) as string[]);
    for (const [name, prop] of Object.entries(properties)) {
      list.push({ name, in: where, required: where === 'path' || required.has(name), schema: prop, ...(typeof prop.description === 'string' ? { description: prop.description } : {}) });
    }
  };
  add(route.params as z.ZodType | undefined, 'path');
  add(route.query as z.ZodType | undefined, 'query');
  return list;
}

export function buildOpenApi(routes: readonly AnyRoute[], version: string): JsonObject {
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const route of routes) {
    if (route.hidden === true) continue;
    const operation: JsonObject = {
      operationId: route.operationId,
      summary: route.summary,
      tags: [route.tag],
      parameters: parameters(route),
      security: route.auth === 'public' ? [] : [{ bearerAuth: [] }],
      ...(typeof route.auth === 'object'
        ? { 'x-custody-permission': route.auth.permission, 'x-custody-scope': typeof route.auth.scope === 'string' ? route.auth.scope : 'request' }
        : {}),
      responses: {
        ...Object.fromEntries(
          Object.entries(route.responses).map(([status, response]) => [
            status,
            {
              description: response.description,
              ...(response.schema !== undefined
                ? { content: { 'application/json': { schema: jsonSchema(response.schema, 'output') } } }
                : response.contentType !== undefined
                  ? { content: { [response.contentType]: { schema: { type: 'string', format: 'binary' } } } }
                  : {}),
            },
          ]),
        ),
        default: { description: 'an error (RFC 9457 problem+json with a stable code)', content: { 'application/problem+json': { schema: jsonSchema(problemSchema, 'output') } } },
      },
    };
    if (route.body.kind === 'json') {
      operation.requestBody = { required: true, content: { 'application/json': { schema: jsonSchema(route.body.schema as z.ZodType, 'input') } } };
    } else if (route.body.kind === 'stream') {
      operation.requestBody = { required: true, description: route.body.description, content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } };
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Custody registry API', version, description: 'A trusted registry for machine-learning models.' },
    components: { securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'an API token' } } },
    paths,
  };
}
