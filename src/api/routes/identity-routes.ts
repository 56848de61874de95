/**
 * Identity and access (SPEC §7): `whoami`, principals, API tokens and role bindings. Managing
 * them needs `principal:manage` registry-wide; whoever grants a binding or creates a token must
 * also hold everything it confers (checked in the services).
 */
import { defineRoute, requireActor } from '../route.js';
import {
  bindingResponse,
  bindingsResponse,
  createPrincipalBody,
  createTokenBody,
  createdTokenResponse,
  grantBody,
  idParams,
  principalFilter,
  principalParams,
  principalResponse,
  principalsResponse,
  tokenResponse,
  tokensResponse,
  whoamiResponse,
} from '../identity-schemas.js';

const manage = { permission: 'principal:manage', scope: 'global' } as const;

export const identityRoutes = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/whoami',
    operationId: 'whoami',
    summary: 'The authenticated principal, its bindings and effective permissions',
    tag: 'identity',
    auth: 'authenticated',
    body: { kind: 'none' },
    responses: { 200: { description: 'the caller', schema: whoamiResponse } },
    handle: ({ actor, services }) => Promise.resolve({ status: 200, json: services.auth.describe(requireActor({ actor })) }),
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/principals',
    operationId: 'listPrincipals',
    summary: 'List principals, disabled ones included',
    tag: 'identity',
    auth: manage,
    body: { kind: 'none' },
    responses: { 200: { description: 'every principal, by name', schema: principalsResponse } },
    handle: async ({ services }) => ({ status: 200, json: { items: await services.identity.listPrincipals() } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/principals',
    operationId: 'createPrincipal',
    summary: 'Create a user or service principal (a service may act for an OIDC workload identity)',
    tag: 'identity',
    auth: manage,
    body: { kind: 'json', schema: createPrincipalBody, limit: 'json' },
    responses: { 201: { description: 'created and logged as principal.created', schema: principalResponse }, 409: { description: 'PRINCIPAL_EXISTS' } },
    handle: async ({ body, actor, services }) => {
      const { value, receipt } = await services.identity.createPrincipal(requireActor({ actor }), {
        name: body.name,
        kind: body.kind,
        oidc: body.oidc == null ? null : { issuer: body.oidc.issuer, subject: body.oidc.subject, condition: body.oidc.condition ?? null },
      });
      return { status: 201, json: { ...value, receipt } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/principals/{name}/disable',
    operationId: 'disablePrincipal',
    summary: 'Disable a principal: its tokens and workload identity stop working',
    tag: 'identity',
    auth: manage,
    params: principalParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'disabled and logged as principal.disabled', schema: principalResponse }, 409: { description: 'already disabled, or LAST_ADMIN' } },
    handle: async ({ params, actor, services }) => {
      const { value, receipt } = await services.identity.disablePrincipal(requireActor({ actor }), params.name);
      return { status: 200, json: { ...value, receipt } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/tokens',
    operationId: 'listTokens',
    summary: 'List API tokens (never their secrets), newest first',
    tag: 'identity',
    auth: manage,
    query: principalFilter,
    body: { kind: 'none' },
    responses: { 200: { description: 'tokens', schema: tokensResponse } },
    handle: async ({ query, services }) => ({ status: 200, json: { items: await services.tokens.list(query.principal) } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/tokens',
    operationId: 'createToken',
    summary: 'Create an API token for a principal; the secret is in this response only',
    tag: 'identity',
    auth: manage,
    body: { kind: 'json', schema: createTokenBody, limit: 'json' },
    responses: { 201: { description: 'created and logged as token.created (without the secret)', schema: createdTokenResponse } },
    handle: async ({ body, actor, services }) => {
      const { value, receipt, secret } = await services.tokens.create(requireActor({ actor }), {
        principal: body.principal,
        ...(body.name === undefined ? {} : { name: body.name }),
        ...(body.expiresAt === undefined ? {} : { expiresAt: body.expiresAt }),
        permissions: body.permissions ?? null,
      });
      return { status: 201, json: { ...value, token: secret, receipt } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/tokens/{id}/revoke',
    operationId: 'revokeToken',
    summary: 'Revoke an API token',
    tag: 'identity',
    auth: manage,
    params: idParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'revoked and logged as token.revoked', schema: tokenResponse } },
    handle: async ({ params, actor, services }) => {
      const { value, receipt } = await services.tokens.revoke(requireActor({ actor }), params.id);
      return { status: 200, json: { ...value, receipt } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/bindings',
    operationId: 'listBindings',
    summary: 'List role bindings in force',
    tag: 'identity',
    auth: manage,
    query: principalFilter,
    body: { kind: 'none' },
    responses: { 200: { description: 'bindings, oldest first', schema: bindingsResponse } },
    handle: async ({ query, services }) => ({ status: 200, json: { items: await services.identity.listBindings(query.principal) } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/bindings',
    operationId: 'grantRole',
    summary: 'Grant a role to a principal, optionally limited to namespaces, environments and a claim condition',
    tag: 'identity',
    auth: manage,
    body: { kind: 'json', schema: grantBody, limit: 'json' },
    responses: { 201: { description: 'granted and logged as binding.granted', schema: bindingResponse } },
    handle: async ({ body, actor, services }) => {
      const { value, receipt } = await services.identity.grant(requireActor({ actor }), {
        principal: body.principal,
        role: body.role,
        namespaces: body.namespaces ?? null,
        environments: body.environments ?? null,
        condition: body.condition ?? null,
      });
      return { status: 201, json: { ...value, receipt } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/bindings/{id}/revoke',
    operationId: 'revokeBinding',
    summary: 'Revoke a role binding',
    tag: 'identity',
    auth: manage,
    params: idParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'revoked and logged as binding.revoked', schema: bindingResponse }, 409: { description: 'already revoked, or LAST_ADMIN' } },
    handle: async ({ params, actor, services }) => {
      const { value, receipt } = await services.identity.revokeBinding(requireActor({ actor }), params.id);
      return { status: 200, json: { ...value, receipt } };
    },
  }),
];
