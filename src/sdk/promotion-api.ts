/**
 * `PromotionApi`, the SDK's calls for policy as code and gated promotion (SPEC §6, §2, §8):
 * pushing, approving and rejecting policies, the effective policy and its history per environment, `policy
 * eval`, promotions with their decisions and VSAs, which version each environment holds, and the
 * registry's VSA key. Every answer is checked against the schemas the server documents in its
 * OpenAPI (`api/promotion-schemas.ts`): a registry, or something pretending to be one, is not
 * trusted to send well-formed data. The VSA key it returns is what the server *says*: pin it
 * (see `cli/vsa-trust.ts`), then verify VSAs against the pin, not against a fresh answer.
 */
import type { z } from 'zod';
import { CustodyError } from '../domain/errors.js';
import { formatSelector, parseModelName, parseModelRef, type ModelName, type ModelRef } from '../domain/model-ref.js';
import {
  decisionResponse,
  decisionsResponse,
  effectivePolicyResponse,
  environmentRecordResponse,
  evaluationResponse,
  policiesResponse,
  policyResponse,
  statusResponse,
  vsaKeyResponse,
} from '../api/promotion-schemas.js';
import type { HttpTransport } from './http-transport.js';

/** A policy version (SPEC §6.2), with its test results and receipt when it was just pushed or approved. */
export type PolicyBody = z.infer<typeof policyResponse>;
export type PoliciesPage = z.infer<typeof policiesResponse>;
/** An environment's effective policy: baseline, active document and the effective digest (SPEC §6.1). */
export type EffectivePolicyBody = z.infer<typeof effectivePolicyResponse>;
/** What a promotion would decide now, without deciding (`policy eval`). */
export type EvaluationBody = z.infer<typeof evaluationResponse>;
/** A promotion decision: every requirement and gate, the principal, the outcome, and on allow the VSA. */
export type DecisionBody = z.infer<typeof decisionResponse>;
export type DecisionsPage = z.infer<typeof decisionsResponse>;
/** Which version each environment of a model holds, since when, and any quarantine. */
export type ModelStatusBody = z.infer<typeof statusResponse>;
export type EnvironmentStatusBody = ModelStatusBody['environments'][number];
/** The version one environment holds, the decision that placed it there (null: registration) and its quarantines. */
export type EnvironmentRecordBody = z.infer<typeof environmentRecordResponse>;
export type QuarantineBody = EnvironmentRecordBody['quarantines'][number];
/** The registry's VSA public key as the server states it. */
export type VsaKeyBody = z.infer<typeof vsaKeyResponse>;
/** One requirement's or gate's result in an evaluation or decision. */
export type RequirementResultBody = DecisionBody['requirements'][number];
export type GateResultBody = DecisionBody['gates'][number];

/** SPEC §8 `policy push`: the document's text and the contents of the fixtures its tests name. */
export interface PushPolicyRequest {
  /** The policy document as YAML or JSON text, sent as written. */
  readonly document: string;
  /** Parsed fixture contents keyed by the path the document writes (`readPolicyFixtures`). */
  readonly fixtures?: Readonly<Record<string, unknown>>;
}

/** SPEC §8 `promote … --expect-current`: the digest the environment must hold now, or `none`. */
export interface PromoteOptions {
  readonly expectCurrent?: string;
}

export class PromotionApi {
  constructor(private readonly transport: HttpTransport) {}

  /** Proposes a policy (needs `policy:propose` for its environment); its tests run first. Active at once unless the two-person rule applies. */
  async pushPolicy(request: PushPolicyRequest): Promise<PolicyBody> {
    const json = { document: request.document, ...(request.fixtures === undefined ? {} : { fixtures: request.fixtures }) };
    return this.#request(policyResponse, 'POST', '/api/v1/policies', json);
  }

  /** Approves a proposed policy (a principal other than its proposer, with `policy:approve`); it becomes active. */
  async approvePolicy(id: string): Promise<PolicyBody> {
    return this.#request(policyResponse, 'POST', `/api/v1/policies/${encodeURIComponent(id)}/approve`);
  }

  /** Rejects a proposed policy with a reason (needs `policy:approve` for its environment; its proposer may withdraw its own). */
  async rejectPolicy(id: string, reason: string): Promise<PolicyBody> {
    return this.#request(policyResponse, 'POST', `/api/v1/policies/${encodeURIComponent(id)}/reject`, { reason });
  }

  /** Policies waiting for approval, oldest first. */
  async listProposedPolicies(): Promise<PoliciesPage> {
    return this.#request(policiesResponse, 'GET', '/api/v1/policies/proposed');
  }

  /** The effective policy of `environment`: baseline, active document (as YAML) and effective digest. */
  async showPolicy(environment: string): Promise<EffectivePolicyBody> {
    return this.#request(effectivePolicyResponse, 'GET', `/api/v1/environments/${encodeURIComponent(environment)}/policy`);
  }

  /** `environment`'s policies, newest first, each with who proposed and approved it and the diff from the one before. */
  async policyHistory(environment: string): Promise<PoliciesPage> {
    return this.#request(policiesResponse, 'GET', `/api/v1/environments/${encodeURIComponent(environment)}/policy/history`);
  }

  /** What promoting `ref` into `environment` would decide now; nothing is decided or logged. */
  async evaluate(ref: ModelRef | string, environment: string): Promise<EvaluationBody> {
    const r = toModelRef(ref);
    const qs = new URLSearchParams({ version: formatSelector(r.selector) }).toString();
    return this.#request(evaluationResponse, 'GET', `${environmentPath(r, environment)}/evaluation?${qs}`);
  }

  /**
   * Promotes `ref` into `environment` (needs `promote:<environment>`). The answer is the decision
   * either way — check `outcome`; a deny is not an error. ALIAS_MOVED when `expectCurrent` no
   * longer holds (its details name what the environment holds now).
   */
  async promote(ref: ModelRef | string, environment: string, options: PromoteOptions = {}): Promise<DecisionBody> {
    const r = toModelRef(ref);
    const json = { version: formatSelector(r.selector), ...(options.expectCurrent === undefined ? {} : { expectCurrent: options.expectCurrent }) };
    return this.#request(decisionResponse, 'POST', `${environmentPath(r, environment)}/promotions`, json);
  }

  /** Which version each environment holds, since when, by which decision, and any quarantine. */
  async status(model: ModelName | string): Promise<ModelStatusBody> {
    return this.#request(statusResponse, 'GET', `${modelPath(toModelName(model))}/environments`);
  }

  /** The version `environment` holds, the decision (with its VSA) that placed it there, and its quarantines. */
  async environmentRecord(model: ModelName | string, environment: string): Promise<EnvironmentRecordBody> {
    return this.#request(environmentRecordResponse, 'GET', environmentPath(toModelName(model), environment));
  }

  /** A version's promotion decisions, newest first. */
  async decisions(ref: ModelRef | string): Promise<DecisionsPage> {
    const r = toModelRef(ref);
    return this.#request(decisionsResponse, 'GET', `${modelPath(r)}/versions/${encodeURIComponent(formatSelector(r.selector))}/decisions`);
  }

  /** The VSA public key the registry states (pin it; do not trust a fresh answer blindly). */
  async vsaKey(): Promise<VsaKeyBody> {
    return this.#request(vsaKeyResponse, 'GET', '/api/v1/vsa/key');
  }

  async #request<T>(schema: z.ZodType<T>, method: 'GET' | 'POST', path: string, json?: unknown): Promise<T> {
    return parse(schema, (await this.transport.json({ method, path, ...(json === undefined ? {} : { json }) })).body);
  }
}

function toModelName(model: ModelName | string): ModelName {
  return typeof model === 'string' ? parseModelName(model) : model;
}

function toModelRef(ref: ModelRef | string): ModelRef {
  return typeof ref === 'string' ? parseModelRef(ref) : ref;
}

function modelPath(m: ModelName): string {
  return `/api/v1/models/${encodeURIComponent(m.namespace)}/${encodeURIComponent(m.name)}`;
}

function environmentPath(m: ModelName, environment: string): string {
  return `${modelPath(m)}/environments/${encodeURIComponent(environment)}`;
}

/** Validates a server response: the SDK trusts nothing it did not check. */
function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new CustodyError('SERVER_ERROR', 'the server sent an unexpected response');
  return result.data;
}
