/**
 * The zod schemas of the identity routes (principals, tokens, role bindings, whoami; SPEC §7).
 * Requests are validated with them and the OpenAPI document is generated from them.
 */
import { z } from 'zod';
import { BUILT_IN_ROLES } from '../auth/permissions.js';
import { nameSchema, receiptSchema } from './schemas.js';

const instant = z.string().meta({ description: 'RFC 3339 time', example: '2026-01-31T12:00:00.000Z' });
const idSchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'not an id');
const namespaces = z.array(nameSchema).min(1).max(1000).nullable().optional().meta({ description: 'omit or null for every namespace' });
const environments = z
  .array(z.string().min(1).max(63))
  .min(1)
  .max(16)
  .nullable()
  .optional()
  .meta({ description: 'configured environments; omit or null for every environment' });
const condition = z.string().min(1).max(2000).nullable().optional().meta({ description: 'CEL over the OIDC token claims, e.g. claims.ref == "refs/heads/main"' });

export const idParams = z.object({ id: idSchema });
export const principalParams = z.object({ name: nameSchema });
export const principalFilter = z.object({ principal: nameSchema.optional() }).strict();

const oidcIdentity = z.object({ issuer: z.string(), subject: z.string(), condition: z.string().nullable() });

export const createPrincipalBody = z
  .object({
    name: nameSchema,
    kind: z.enum(['user', 'service']),
    oidc: z
      .object({ issuer: z.string().min(1).max(2048), subject: z.string().min(1).max(1024), condition })
      .strict()
      .nullable()
      .optional()
      .meta({ description: 'services only: the workload identity (issuer + subject) this principal acts for' }),
  })
  .strict();
export const principalResponse = z.object({
  name: z.string(),
  kind: z.enum(['user', 'service']),
  createdAt: z.string(),
  disabledAt: z.string().nullable(),
  oidc: oidcIdentity.nullable(),
  receipt: receiptSchema.optional(),
});
export const principalsResponse = z.object({ items: z.array(principalResponse) });

export const createTokenBody = z
  .object({
    principal: nameSchema,
    name: z.string().min(1).max(128).optional(),
    expiresAt: instant.nullable().optional().meta({ description: 'omit for 90 days; null for a token that never expires' }),
    permissions: z.array(z.string().min(1).max(80)).min(1).max(64).nullable().optional().meta({ description: 'narrow the token to these permissions' }),
  })
  .strict();
export const tokenResponse = z.object({
  id: z.string(),
  principal: z.string(),
  name: z.string(),
  createdAt: z.string(),
  expiresAt: z.string().nullable(),
  revokedAt: z.string().nullable(),
  permissions: z.array(z.string()).nullable(),
  status: z.enum(['active', 'expired', 'revoked']),
  receipt: receiptSchema.optional(),
});
export const createdTokenResponse = tokenResponse.extend({ token: z.string().meta({ description: 'the secret, shown once' }) });
export const tokensResponse = z.object({ items: z.array(tokenResponse) });

export const grantBody = z
  .object({
    principal: nameSchema,
    role: z.string().min(1).max(64).meta({ description: `one of ${BUILT_IN_ROLES.join(', ')}` }),
    namespaces,
    environments,
    condition,
  })
  .strict();
export const bindingResponse = z.object({
  id: z.string(),
  principal: z.string(),
  role: z.string(),
  namespaces: z.array(z.string()).nullable(),
  environments: z.array(z.string()).nullable(),
  condition: z.string().nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  receipt: receiptSchema.optional(),
});
export const bindingsResponse = z.object({ items: z.array(bindingResponse) });

export const whoamiResponse = z.object({
  name: z.string(),
  kind: z.string(),
  via: z.enum(['token', 'oidc']),
  roles: z.array(z.string()).meta({ description: 'roles of the bindings that apply to this request' }),
  bindings: z.array(
    z.object({
      id: z.string(),
      role: z.string(),
      namespaces: z.array(z.string()).nullable(),
      environments: z.array(z.string()).nullable(),
      condition: z.string().nullable(),
      applies: z.boolean().meta({ description: 'false when the binding condition does not hold for this request' }),
    }),
  ),
  permissions: z.array(z.string()).meta({ description: 'permissions this request may use somewhere (scopes in bindings)' }),
  tokenPermissions: z.array(z.string()).nullable().meta({ description: 'what the token is narrowed to, or null' }),
});
