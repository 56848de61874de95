/**
 * Models and versions (SPEC §2, §9): list, show, register. No route changes or deletes a
 * version: immutability is also the absence of routes.
 */
import { toDigest } from '../../domain/digest.js';
import { parseSelector } from '../../domain/model-ref.js';
import type { ManifestFile } from '../../domain/manifest.js';
import type { ModelSummary, VersionRecord } from '../../store/metadata-store.js';
import { defineRoute, requireActor } from '../route.js';
import { modelParams, modelsQuery, modelsResponse, pageQuery, registerBody, versionParams, versionResponse, versionsResponse } from '../schemas.js';

export function versionJson(v: VersionRecord): Record<string, unknown> {
  return {
    namespace: v.namespace,
    name: v.name,
    number: v.number,
    digest: v.digest,
    omsRootDigest: v.omsRootDigest,
    singleFile: v.singleFile,
    fileCount: v.fileCount,
    totalSize: v.totalSize,
    registeredAt: v.registeredAt,
    registeredBy: v.registeredBy,
    annotations: v.annotations,
  };
}

function filesJson(files: readonly ManifestFile[]): { path: string; size: number; digest: string }[] {
  return files.map((f) => ({ path: f.path, size: f.size, digest: toDigest(f.sha256) }));
}

function modelJson(m: ModelSummary): Record<string, unknown> {
  return {
    namespace: m.namespace,
    name: m.name,
    createdAt: m.createdAt,
    versionCount: m.versionCount,
    latest: m.latestNumber === null ? null : { number: m.latestNumber, digest: m.latestDigest, registeredAt: m.latestRegisteredAt },
  };
}

const scopeOf = (p: { namespace: string }): { namespace: string } => ({ namespace: p.namespace });

export const modelRoutes = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/models',
    operationId: 'listModels',
    summary: 'List models with their latest version',
    tag: 'models',
    auth: { permission: 'model:read', scope: 'any' },
    query: modelsQuery,
    body: { kind: 'none' },
    responses: { 200: { description: 'a page of models', schema: modelsResponse } },
    handle: async ({ query, services, actor }) => {
      // A namespace-limited reader lists only its namespaces.
      const readable = services.auth.namespacesWith(requireActor({ actor }), 'model:read');
      const page = await services.registry.listModels({
        limit: query.limit,
        ...(readable === null ? {} : { namespaces: readable }),
        ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
        ...(query.namespace === undefined ? {} : { namespace: query.namespace }),
      });
      return { status: 200, json: { items: page.items.map(modelJson), nextCursor: page.nextCursor } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/versions',
    operationId: 'listVersions',
    summary: 'List the versions of a model, newest first',
    tag: 'models',
    auth: { permission: 'model:read', scope: scopeOf },
    params: modelParams,
    query: pageQuery,
    body: { kind: 'none' },
    responses: { 200: { description: 'a page of versions', schema: versionsResponse } },
    handle: async ({ params, query, services }) => {
      const page = await services.registry.listVersions(params, { limit: query.limit, ...(query.cursor === undefined ? {} : { cursor: query.cursor }) });
      return { status: 200, json: { items: page.items.map(versionJson), nextCursor: page.nextCursor } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/models/{namespace}/{name}/versions',
    operationId: 'registerVersion',
    summary: 'Register a version from a manifest whose blobs are all uploaded (idempotent)',
    tag: 'models',
    auth: { permission: 'model:push', scope: (p, config) => ({ namespace: p.namespace, environment: config.environments[0] ?? '' }) },
    params: modelParams,
    body: { kind: 'json', schema: registerBody, limit: 'manifest' },
    responses: {
      200: { description: 'the same content was already registered: the existing version', schema: versionResponse },
      201: { description: 'registered', schema: versionResponse },
      422: { description: 'a blob is missing or its size differs (BLOB_MISSING, SIZE_MISMATCH)' },
    },
    handle: async ({ params, body, actor, services }) => {
      const { version, files, created, receipt } = await services.registry.register(requireActor({ actor }), {
        model: params,
        files: body.files,
        ...(body.annotations === undefined ? {} : { annotations: body.annotations }),
        ...(body.singleFile === undefined ? {} : { singleFile: body.singleFile }),
        ...(body.provenance === undefined ? {} : { provenance: body.provenance }),
        ...(body.attestations === undefined ? {} : { attestations: body.attestations }),
      });
      return { status: created ? 201 : 200, json: { ...versionJson(version), files: filesJson(files), created, receipt } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/versions/{selector}',
    operationId: 'getVersion',
    summary: 'Show one version (by vN or sha256:<hex>) with its files',
    tag: 'models',
    auth: { permission: 'model:read', scope: scopeOf },
    params: versionParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'the version', schema: versionResponse } },
    handle: async ({ params, services }) => {
      const { version, files } = await services.registry.getVersion(params, parseSelector(params.selector));
      const logIndex = await services.log.findRegistration(version.namespace, version.name, version.digest);
      return { status: 200, json: { ...versionJson(version), files: filesJson(files), registration: logIndex === null ? null : { logIndex } } };
    },
  }),
];
