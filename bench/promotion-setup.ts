/**
 * Prepares a fresh registry for `bench:policy` the way an operator would, over its HTTP API and
 * with the server's default rules in force (SPEC §6.2, §7): a `service` principal `ci-release`
 * that promotes (only services may promote into the last environment), a second policy admin who
 * approves the production policy (two-person rule on the last environment), the signer keys of
 * `attestation-set.ts`, the seed's staging and production policies from `examples/policies/`
 * (pushed with their fixtures, so their own tests run at push and at activation), and then
 * versions — one blob, a registration carrying 20 attestations, and a promotion into staging.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { sha256Hex } from '../src/domain/digest.js';
import { manifestDigest, toManifest } from '../src/domain/manifest.js';
import { parsePolicyDocument, readPolicyFixtures } from '../src/policy/index.js';
import type { AttestationSet } from './attestation-set.js';
import type { RegistryApi } from './registry-api.js';

/** The principal that promotes, and the policy admin who approves what the admin proposes. */
export const PROMOTER = 'ci-release';
const APPROVER = 'policy-approver';

export interface ActivePolicy {
  readonly environment: string;
  readonly number: number;
  readonly digest: string;
  /** Who proposed and who approved it (null where one principal sufficed). */
  readonly proposedBy: string;
  readonly approvedBy: string | null;
}

export interface StagedVersion {
  /** `namespace/name`. */
  readonly model: string;
  readonly digest: string;
}

/** A decision that did not allow: its failed requirements and gates, for the error message. */
export function describeDenial(json: Record<string, unknown>): string {
  const checks = [...asArray(json['requirements']), ...asArray(json['gates'])];
  const failed = checks.filter((c) => c['result'] !== 'PASS').map((c) => `${String(c['name'])}: ${String(c['result'])} ${String(c['message'])}`);
  return `${String(json['outcome'])} — ${failed.join('; ') || 'no failed check reported'}`;
}

function asArray(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? (value as Record<string, unknown>[]) : [];
}

function stringField(json: Record<string, unknown>, field: string, what: string): string {
  const value = json[field];
  if (typeof value !== 'string') throw new Error(`${what}: the reply has no ${field}`);
  return value;
}

export class PromotionSetup {
  private constructor(
    private readonly api: RegistryApi,
    private readonly adminToken: string,
    /** The service principal's API token. */
    readonly promoterToken: string,
    private readonly approverToken: string,
    private readonly attestations: AttestationSet,
  ) {}

  /** Creates the principals and registers the signer keys. */
  static async prepare(api: RegistryApi, adminToken: string, attestations: AttestationSet): Promise<PromotionSetup> {
    const promoterToken = await createPrincipal(api, adminToken, PROMOTER, 'service', { role: 'promoter', environments: ['development', 'staging', 'production'] });
    const approverToken = await createPrincipal(api, adminToken, APPROVER, 'user', { role: 'policy-admin' });
    for (const key of attestations.registrations()) await api.expect(201, adminToken, 'POST', '/api/v1/keys', key);
    return new PromotionSetup(api, adminToken, promoterToken, approverToken, attestations);
  }

  /**
   * Pushes a policy document as the admin (with the fixtures its tests name); where it stays
   * proposed (two-person rule), the second policy admin approves it. Returns it once active.
   */
  async activatePolicy(file: string): Promise<ActivePolicy> {
    const text = await readFile(file, 'utf8');
    const fixtures = await readPolicyFixtures(parsePolicyDocument(text, file), path.dirname(file));
    const pushed = await this.api.expect(201, this.adminToken, 'POST', '/api/v1/policies', { document: text, fixtures });
    let json = pushed.json;
    if (json['status'] === 'proposed') {
      const id = stringField(json, 'id', `pushing ${file}`);
      json = (await this.api.expect(200, this.approverToken, 'POST', `/api/v1/policies/${id}/approve`)).json;
    }
    if (json['status'] !== 'active') throw new Error(`${file} is ${String(json['status'])}, not active, after push and approval`);
    return {
      environment: stringField(json, 'environment', file),
      number: Number(json['number']),
      digest: stringField(json, 'digest', file),
      proposedBy: stringField(json, 'proposedBy', file),
      approvedBy: typeof json['approvedBy'] === 'string' ? json['approvedBy'] : null,
    };
  }

  /**
   * Registers a one-file version of `model` (a fresh random blob) carrying the 20 attestations
   * and promotes it into staging as the service principal; every step must succeed and the
   * staging decision must allow.
   */
  async stageVersion(model: string, n: number): Promise<StagedVersion> {
    const bytes = randomBytes(256);
    const sha256 = sha256Hex(bytes);
    await this.api.expect(201, this.adminToken, 'PUT', `/api/v1/blobs/sha256:${sha256}`, bytes);
    const file = { path: 'model.safetensors', size: bytes.length, sha256 };
    const digest = manifestDigest(toManifest([file]));
    const bundles = this.attestations.bundlesFor(digest, n);
    const registered = await this.api.expect(201, this.adminToken, 'POST', `/api/v1/models/${model}/versions`, {
      files: [{ path: file.path, size: file.size, digest: `sha256:${sha256}` }],
      provenance: bundles.provenance,
      attestations: bundles.attestations,
    });
    if (registered.json['digest'] !== digest) throw new Error(`${model}: the registry computed ${String(registered.json['digest'])}, not ${digest}`);
    await this.promote(model, digest, 'staging');
    return { model, digest };
  }

  /** One promotion as the service principal; throws unless the decision allows. */
  async promote(model: string, digest: string, environment: string): Promise<{ ms: number }> {
    const reply = await this.api.expect(200, this.promoterToken, 'POST', `/api/v1/models/${model}/environments/${environment}/promotions`, { version: digest });
    if (reply.json['outcome'] !== 'allow') throw new Error(`promoting ${model}@${digest} into ${environment} was not allowed: ${describeDenial(reply.json)}`);
    if (typeof reply.json['vsa'] !== 'string') throw new Error(`promoting ${model}@${digest} into ${environment}: an allowed decision without a VSA`);
    return { ms: reply.ms };
  }
}

async function createPrincipal(api: RegistryApi, adminToken: string, name: string, kind: 'user' | 'service', binding: { role: string; environments?: readonly string[] }): Promise<string> {
  await api.expect(201, adminToken, 'POST', '/api/v1/principals', { name, kind });
  await api.expect(201, adminToken, 'POST', '/api/v1/bindings', { principal: name, ...binding });
  const token = await api.expect(201, adminToken, 'POST', '/api/v1/tokens', { principal: name, name: 'bench-policy' });
  return stringField(token.json, 'token', `a token for ${name}`);
}
