/**
 * Signer keys, attestations, verified metadata and lineage (SPEC §2, §4.2, §4.3, §9). Keys are
 * public facts: anyone who may read models may read them (clients re-verify attestations with
 * them); only `key:manage` adds or revokes. Adding an attestation needs `attestation:write` in
 * the version's namespace.
 */
import { parseSelector } from '../../domain/model-ref.js';
import type { AttestationView } from '../../service/attestation-service.js';
import type { Receipt } from '../../service/transparency-log.js';
import type { SignerKeyRecord } from '../../store/metadata-store.js';
import { defineRoute, requireActor } from '../route.js';
import {
  addAttestationBody,
  addKeyBody,
  attestationResponse,
  attestationsQuery,
  attestationsResponse,
  keyParams,
  keyResponse,
  keysResponse,
  lineageQuery,
  lineageResponse,
  metadataResponse,
  revokeKeyBody,
  versionParams,
} from '../schemas.js';

export function keyJson(key: SignerKeyRecord): Record<string, unknown> {
  const r = key.revocation;
  return {
    name: key.name,
    keyId: key.keyId,
    omsHint: key.omsHint,
    algorithm: key.algorithm,
    publicKey: key.publicKeyPem,
    predicateTypes: key.predicateTypes,
    namespaces: key.namespaces,
    notBefore: key.notBefore,
    notAfter: key.notAfter,
    addedAt: key.addedAt,
    addedBy: key.addedBy,
    addedLogIndex: key.addedLogIndex,
    status: r === null ? 'active' : 'revoked',
    revocation:
      r === null
        ? null
        : { revokedAt: r.revokedAt, revokedBy: r.revokedBy, reason: r.reason, compromisedSince: r.compromisedSince, invalidFrom: r.compromisedSince ?? r.revokedAt, logIndex: r.logIndex },
  };
}

function attestationJson(view: AttestationView, withBundle: boolean): Record<string, unknown> {
  const { record, status, statement } = view;
  return {
    id: record.id,
    version: record.versionDigest,
    predicateType: record.predicateType,
    role: record.role,
    key: record.keyName,
    keyId: record.keyId,
    bundleDigest: `sha256:${record.bundleDigest}`,
    paeDigest: `sha256:${record.paeDigest}`,
    loggedAt: record.loggedAt,
    logIndex: record.logIndex,
    addedBy: record.addedBy,
    status: status.valid ? { valid: true } : { valid: false, code: status.code, message: status.message },
    statement: { _type: 'https://in-toto.io/Statement/v1', subject: statement.subject, predicateType: statement.predicateType, predicate: statement.predicate },
    ...(withBundle ? { bundle: record.bundle } : {}),
  };
}

const scopeOf = (p: { namespace: string }): { namespace: string } => ({ namespace: p.namespace });

function withReceipt(json: Record<string, unknown>, receipt: Receipt): Record<string, unknown> {
  return { ...json, receipt };
}

export const trustRoutes = [
  defineRoute({
    method: 'GET',
    path: '/api/v1/keys',
    operationId: 'listKeys',
    summary: 'List the trusted signer keys, revoked ones included',
    tag: 'keys',
    auth: { permission: 'model:read', scope: 'any' },
    body: { kind: 'none' },
    responses: { 200: { description: 'every key, by name, with the attestations it signed in namespaces the caller may read', schema: keysResponse } },
    handle: async ({ actor, services }) => {
      const keys = await services.keys.listWithUsage(services.auth.namespacesWith(requireActor({ actor }), 'model:read'));
      return { status: 200, json: { items: keys.map(({ key, attestationCount, lastSignedAt }) => ({ ...keyJson(key), attestationCount, lastSignedAt })) } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/keys',
    operationId: 'addKey',
    summary: 'Register a trusted signer key (Ed25519, P-256 or P-384) for predicate types and namespaces',
    tag: 'keys',
    auth: { permission: 'key:manage', scope: 'global' },
    body: { kind: 'json', schema: addKeyBody, limit: 'json' },
    responses: { 201: { description: 'registered and logged as key.added', schema: keyResponse }, 409: { description: 'the name or public key is taken (KEY_EXISTS)' } },
    handle: async ({ body, actor, services }) => {
      const { key, receipt } = await services.keys.add(requireActor({ actor }), {
        name: body.name,
        publicKeyPem: body.publicKey,
        predicateTypes: body.predicateTypes,
        namespaces: body.namespaces ?? null,
        notBefore: body.notBefore ?? null,
        notAfter: body.notAfter ?? null,
      });
      return { status: 201, json: withReceipt(keyJson(key), receipt) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/keys/{name}',
    operationId: 'getKey',
    summary: 'Show one signer key',
    tag: 'keys',
    auth: { permission: 'model:read', scope: 'any' },
    params: keyParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'the key', schema: keyResponse } },
    handle: async ({ params, services }) => ({ status: 200, json: keyJson(await services.keys.get(params.name)) }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/keys/{name}/revoke',
    operationId: 'revokeKey',
    summary: 'Revoke a signer key; with compromisedSince, attestations logged from then on become invalid',
    tag: 'keys',
    auth: { permission: 'key:manage', scope: 'global' },
    params: keyParams,
    body: { kind: 'json', schema: revokeKeyBody, limit: 'json' },
    responses: { 200: { description: 'revoked and logged as key.revoked', schema: keyResponse } },
    handle: async ({ params, body, actor, services }) => {
      const { key, receipt } = await services.keys.revoke(requireActor({ actor }), params.name, { reason: body.reason, compromisedSince: body.compromisedSince ?? null });
      return { status: 200, json: withReceipt(keyJson(key), receipt) };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/versions/{selector}/attestations',
    operationId: 'listAttestations',
    summary: 'A version\'s attestations in log order, each judged against the key records now',
    tag: 'attestations',
    auth: { permission: 'model:read', scope: scopeOf },
    params: versionParams,
    query: attestationsQuery,
    body: { kind: 'none' },
    responses: { 200: { description: 'the attestations', schema: attestationsResponse } },
    handle: async ({ params, query, services }) => {
      const { version, attestations } = await services.attestations.list(params, parseSelector(params.selector));
      return { status: 200, json: { version: version.digest, items: attestations.map((a) => attestationJson(a, query.bundles === 'true')) } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/models/{namespace}/{name}/versions/{selector}/attestations',
    operationId: 'addAttestation',
    summary: 'Submit a signed attestation about a version, or pipeline evidence for it (verified, stored whole, logged by digest; idempotent)',
    tag: 'attestations',
    auth: { permission: 'attestation:write', scope: scopeOf },
    params: versionParams,
    body: { kind: 'json', schema: addAttestationBody, limit: 'json' },
    responses: {
      200: { description: 'the same signed statement was already stored', schema: attestationResponse },
      201: { description: 'verified, stored and logged as attestation.added', schema: attestationResponse },
      422: { description: 'refused and logged as attestation.rejected (SIGNATURE_INVALID, UNKNOWN_SIGNER, KEY_REVOKED, SUBJECT_MISMATCH, PREDICATE_TYPE_MISMATCH for evidence, …)' },
    },
    handle: async ({ params, body, actor, services }) => {
      const { attestation, created, receipt } = await services.attestations.add(requireActor({ actor }), params, parseSelector(params.selector), body.bundle, { role: body.role });
      return { status: created ? 201 : 200, json: { ...attestationJson(attestation, false), created, receipt } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/versions/{selector}/metadata',
    operationId: 'getVerifiedMetadata',
    summary: 'The verified metadata table: each value from a verified attestation, naming its key',
    tag: 'attestations',
    auth: { permission: 'model:read', scope: scopeOf },
    params: versionParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'verified metadata and unverified annotations', schema: metadataResponse } },
    handle: async ({ params, services }) => {
      const { version, metadata } = await services.attestations.metadata(params, parseSelector(params.selector));
      return { status: 200, json: { version: version.digest, ...metadata } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/versions/{selector}/lineage',
    operationId: 'getLineage',
    summary: 'Ancestors and descendants through verified training provenance, as a graph',
    tag: 'attestations',
    auth: { permission: 'model:read', scope: scopeOf },
    params: versionParams,
    query: lineageQuery,
    body: { kind: 'none' },
    responses: { 200: { description: 'the lineage graph', schema: lineageResponse } },
    handle: async ({ params, query, services }) => ({
      status: 200,
      json: await services.lineage.lineage(params, parseSelector(params.selector), { depth: query.depth, direction: query.direction }),
    }),
  }),
];
