/**
 * Policy as code and gated promotion over HTTP (SPEC §6, §9): pushing, approving and rejecting policies,
 * the effective policy and its history per environment, promotions with their decisions and
 * VSAs, `policy eval`, environment status, and the VSA key deployers pin.
 */
import { CustodyError } from '../../domain/errors.js';
import { parseSelector } from '../../domain/model-ref.js';
import type { Evaluation } from '../../policy/index.js';
import type { DecisionRecord, PolicyRecord, QuarantineRecord } from '../../store/metadata-store.js';
import type { Config } from '../../config/config.js';
import { defineRoute, requireActor } from '../route.js';
import {
  decisionResponse,
  decisionsResponse,
  effectivePolicyResponse,
  environmentParams,
  environmentRecordResponse,
  evaluationQuery,
  evaluationResponse,
  modelEnvironmentParams,
  policiesResponse,
  policyIdParams,
  policyResponse,
  promoteBody,
  pushPolicyBody,
  rejectPolicyBody,
  statusResponse,
  vsaKeyResponse,
} from '../promotion-schemas.js';
import { modelParams, versionParams } from '../schemas.js';

const read = { permission: 'model:read', scope: 'any' } as const;
const readModel = { permission: 'model:read', scope: (p: { namespace: string }) => ({ namespace: p.namespace }) } as const;

function policyJson(p: PolicyRecord): Record<string, unknown> {
  return {
    id: p.id,
    environment: p.environment,
    number: p.number,
    digest: p.digest,
    status: p.status,
    proposedBy: p.proposedBy,
    proposedAt: p.proposedAt,
    approvedBy: p.approvedBy,
    approvedAt: p.approvedAt,
    activatedAt: p.activatedAt,
    endedAt: p.endedAt,
    ...(p.rejection === undefined ? {} : { rejection: { by: p.rejection.by, reason: p.rejection.reason, logIndex: p.rejection.logIndex } }),
  };
}

export function decisionJson(d: DecisionRecord): Record<string, unknown> {
  let results: { requirements?: unknown; gates?: unknown };
  try {
    results = JSON.parse(d.results) as { requirements?: unknown; gates?: unknown };
  } catch (error) {
    throw new CustodyError('INTERNAL', 'a stored decision no longer parses', { cause: error, details: { decision: d.id } });
  }
  return {
    id: d.id,
    model: `${d.namespace}/${d.name}`,
    version: d.versionDigest,
    environment: d.environment,
    outcome: d.outcome,
    policyDigest: d.policyDigest,
    effectiveDigest: d.effectiveDigest,
    inputDigest: d.inputDigest,
    requirements: results.requirements ?? [],
    gates: results.gates ?? [],
    principal: d.principal,
    principalKind: d.principalKind,
    decidedAt: d.decidedAt,
    logIndex: d.logIndex,
    vsa: d.vsa,
  };
}

function evaluationJson(e: Evaluation): Record<string, unknown> {
  return { outcome: e.outcome, policyDigest: e.policyDigest, effectiveDigest: e.effectiveDigest, inputDigest: e.inputDigest, requirements: e.requirements, gates: e.gates };
}

function quarantineJson(q: QuarantineRecord): Record<string, unknown> {
  return { environment: q.environment, reason: q.reason, since: q.since, logIndex: q.logIndex };
}

const publicReads = (config: Config): boolean => config.log.publicReads;

export const promotionRoutes = [
  defineRoute({
    method: 'POST',
    path: '/api/v1/policies',
    operationId: 'pushPolicy',
    summary: 'Propose a policy document for its environment; its tests run first (active at once unless the two-person rule applies)',
    tag: 'policies',
    // The environment is inside the document: the service checks policy:propose for it.
    auth: { permission: 'policy:propose', scope: 'any' },
    body: { kind: 'json', schema: pushPolicyBody, limit: 'json' },
    responses: {
      201: { description: 'stored as proposed (or active); logged as policy.proposed (and policy.activated)', schema: policyResponse },
      400: { description: 'POLICY_INVALID: the document or a gate does not compile (named, with its position)' },
      422: { description: 'POLICY_TEST_FAILED: one of its tests failed; nothing is stored' },
    },
    handle: async ({ body, actor, services }) => {
      const { policy, tests, receipt } = await services.policies.push(requireActor({ actor }), { document: body.document, ...(body.fixtures === undefined ? {} : { fixtures: body.fixtures }) });
      return { status: 201, json: { ...policyJson(policy), tests: tests.map((t) => ({ name: t.name, expected: t.expected, outcome: t.outcome, passed: t.passed })), receipt } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/policies/proposed',
    operationId: 'listProposedPolicies',
    summary: 'Policies waiting for approval, oldest first',
    tag: 'policies',
    auth: read,
    body: { kind: 'none' },
    responses: { 200: { description: 'proposed policies', schema: policiesResponse } },
    handle: async ({ services }) => ({ status: 200, json: { items: (await services.policies.listProposed()).map(policyJson) } }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/policies/{id}/approve',
    operationId: 'approvePolicy',
    summary: 'Approve a proposed policy (a principal other than its proposer); its tests run again, then it becomes active',
    tag: 'policies',
    // The environment is the policy's: the service checks policy:approve for it.
    auth: { permission: 'policy:approve', scope: 'any' },
    params: policyIdParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'approved and active; logged as policy.approved and policy.activated', schema: policyResponse } },
    handle: async ({ params, actor, services }) => {
      const { policy, tests, receipt } = await services.policies.approve(requireActor({ actor }), params.id);
      return { status: 200, json: { ...policyJson(policy), tests: tests.map((t) => ({ name: t.name, expected: t.expected, outcome: t.outcome, passed: t.passed })), receipt } };
    },
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/policies/{id}/reject',
    operationId: 'rejectPolicy',
    summary: 'Reject a proposed policy with a reason; it never becomes active (its proposer may withdraw its own)',
    tag: 'policies',
    // The environment is the policy's: the service checks policy:approve for it, as for approving.
    auth: { permission: 'policy:approve', scope: 'any' },
    params: policyIdParams,
    body: { kind: 'json', schema: rejectPolicyBody, limit: 'json' },
    responses: {
      200: { description: 'rejected; logged as policy.rejected with the reason', schema: policyResponse },
      409: { description: 'CONFLICT: the policy is no longer proposed (active, superseded or already rejected)' },
    },
    handle: async ({ params, body, actor, services }) => {
      const { policy, receipt } = await services.policies.reject(requireActor({ actor }), params.id, body.reason);
      return { status: 200, json: { ...policyJson(policy), receipt } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/environments/{environment}/policy',
    operationId: 'showPolicy',
    summary: 'The effective policy of an environment: the baseline, the active document and the effective digest',
    tag: 'policies',
    auth: read,
    params: environmentParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'the effective policy', schema: effectivePolicyResponse } },
    handle: async ({ params, services }) => {
      const shown = await services.policies.show(params.environment);
      return {
        status: 200,
        json: {
          environment: shown.environment,
          active: shown.active === null ? null : { ...policyJson(shown.active), ...(shown.document === null ? {} : { document: shown.document }) },
          baseline: shown.baseline,
          effectiveDigest: shown.compiled.effectiveDigest,
          requirements: shown.compiled.requirements.map((r) => ({ name: r.name, source: r.source, predicateType: r.requirement.predicateType, signers: r.requirement.signers, threshold: r.requirement.threshold })),
          gates: shown.compiled.gates.map((g) => ({ name: g.name, expr: g.expr, message: g.message })),
        },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/environments/{environment}/policy/history',
    operationId: 'policyHistory',
    summary: "An environment's policies, newest first, each with who proposed and approved it and the diff from the one before",
    tag: 'policies',
    auth: read,
    params: environmentParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'policy versions', schema: policiesResponse } },
    handle: async ({ params, services }) => ({
      status: 200,
      json: { items: (await services.policies.history(params.environment)).map(({ policy, diff }) => ({ ...policyJson(policy), diff })) },
    }),
  }),
  defineRoute({
    method: 'POST',
    path: '/api/v1/models/{namespace}/{name}/environments/{environment}/promotions',
    operationId: 'promote',
    summary: 'Promote a version into an environment: evaluate, decide, and on allow move the alias and issue a VSA',
    tag: 'promotion',
    auth: { permission: 'promote:{environment}', scope: (p) => ({ namespace: p.namespace }) },
    params: modelEnvironmentParams,
    body: { kind: 'json', schema: promoteBody, limit: 'json' },
    responses: {
      200: { description: 'the decision (allow or deny), logged as promotion.decided', schema: decisionResponse },
      409: { description: 'ALIAS_MOVED: --expect-current no longer holds' },
    },
    handle: async ({ params, body, actor, services }) => {
      const { decision, receipt } = await services.promotions.promote(requireActor({ actor }), {
        model: { namespace: params.namespace, name: params.name },
        selector: parseSelector(body.version),
        environment: params.environment,
        ...(body.expectCurrent === undefined ? {} : { expectCurrent: body.expectCurrent }),
      });
      return { status: 200, json: { ...decisionJson(decision), receipt } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/environments/{environment}/evaluation',
    operationId: 'evaluatePolicy',
    summary: 'What a promotion of a version into an environment would decide now, without deciding',
    tag: 'promotion',
    auth: readModel,
    params: modelEnvironmentParams,
    query: evaluationQuery,
    body: { kind: 'none' },
    responses: { 200: { description: 'the evaluation', schema: evaluationResponse } },
    handle: async ({ params, query, actor, services }) => {
      const model = { namespace: params.namespace, name: params.name };
      const { version, evaluation } = await services.promotions.evaluate(requireActor({ actor }), model, parseSelector(query.version), params.environment);
      return { status: 200, json: { model: `${model.namespace}/${model.name}`, version: version.digest, number: version.number, environment: params.environment, evaluation: evaluationJson(evaluation) } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/environments',
    operationId: 'modelStatus',
    summary: 'Which version each environment holds, since when, by which decision, and any quarantine',
    tag: 'promotion',
    auth: readModel,
    params: modelParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'the status', schema: statusResponse } },
    handle: async ({ params, services }) => {
      const rows = await services.promotions.status(params);
      const environments = [];
      for (const row of rows) {
        const version = row.alias === undefined ? undefined : (await services.registry.getVersion(params, { kind: 'digest', digest: row.alias.versionDigest as `sha256:${string}` })).version;
        environments.push({
          environment: row.environment,
          version: row.alias?.versionDigest ?? null,
          number: version?.number ?? null,
          since: row.alias?.since ?? null,
          decision: row.alias?.decisionId ?? null,
          logIndex: row.alias?.logIndex ?? null,
          quarantines: row.quarantines.map(quarantineJson),
        });
      }
      return { status: 200, json: { model: `${params.namespace}/${params.name}`, environments } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/environments/{environment}',
    operationId: 'environmentRecord',
    summary: 'The version an environment holds, the decision (with its VSA) that placed it there, and any quarantine',
    tag: 'promotion',
    auth: readModel,
    params: modelEnvironmentParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'the placement', schema: environmentRecordResponse } },
    handle: async ({ params, services }) => {
      const { version, decision, quarantines } = await services.promotions.environmentRecord(params, params.environment);
      return {
        status: 200,
        json: {
          model: `${params.namespace}/${params.name}`,
          environment: params.environment,
          version: version.digest,
          number: version.number,
          decision: decision === null ? null : decisionJson(decision),
          quarantines: quarantines.map(quarantineJson),
        },
      };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/models/{namespace}/{name}/versions/{selector}/decisions',
    operationId: 'listDecisions',
    summary: "A version's promotion decisions, newest first",
    tag: 'promotion',
    auth: readModel,
    params: versionParams,
    body: { kind: 'none' },
    responses: { 200: { description: 'decisions', schema: decisionsResponse } },
    handle: async ({ params, services }) => {
      const { decisions } = await services.promotions.decisions(params, parseSelector(params.selector));
      return { status: 200, json: { items: decisions.map(decisionJson) } };
    },
  }),
  defineRoute({
    method: 'GET',
    path: '/api/v1/vsa/key',
    operationId: 'vsaKey',
    summary: "The registry's VSA public key, for deployers to pin",
    tag: 'promotion',
    auth: { permission: 'model:read', scope: 'any', publicWhen: publicReads },
    body: { kind: 'none' },
    responses: { 200: { description: 'the public key', schema: vsaKeyResponse } },
    handle: ({ services }) => Promise.resolve({ status: 200, json: { keyId: services.vsaKey.keyId, publicKey: services.vsaKey.publicKeyPem } }),
  }),
];
