/**
 * The seed's scenario over real HTTP (SPEC §6, §7, §10; issue 6): the four signer keys
 * (training cluster, security scanner, sandbox, red team), models pushed with signed training
 * provenance, scan / sandbox / red-team attestations carrying the predicates of the shipped policy
 * fixtures (examples/policies/fixtures/), policies pushed with the fixtures their tests name, the
 * CI service, a user and a second policy admin with their tokens, and promotions.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { bundleFromJSON } from '@sigstore/bundle';
import { TrustedRoot } from '@sigstore/protobuf-specs';
import { toSignedEntity, toTrustMaterial, Verifier, type Signer } from '@sigstore/verify';
import { parsePublicKey } from '../../src/crypto/signing-keys.js';
import { verifyCheckpoint, type VerifiedCheckpoint } from '../../src/log/checkpoint.js';
import { parseVerifierKey } from '../../src/log/signed-note.js';
import { parsePolicyDocument, readPolicyFixtures, type PolicyDocument } from '../../src/policy/index.js';
import { REPO_ROOT, type TestRegistry } from './registry.js';
import {
  addKey,
  api,
  makeKey,
  provenancePredicate,
  RED_TEAM,
  register,
  signBundle,
  SLSA,
  TEST_RESULT,
  uploadRandomModel,
  VULNS,
  type JsonReply,
  type TestKey,
} from './trust-fixtures.js';

type Json = Record<string, unknown>;

export const EXAMPLE_POLICIES = path.join(REPO_ROOT, 'examples', 'policies');

/** The seed's four signer keys, named as the shipped policies name them. */
export interface SeedKeys {
  readonly training: TestKey;
  readonly scanner: TestKey;
  readonly sandbox: TestKey;
  readonly redTeam: TestKey;
}

export function makeSeedKeys(): SeedKeys {
  return { training: makeKey('training-cluster'), scanner: makeKey('security-scanner'), sandbox: makeKey('sandbox'), redTeam: makeKey('red-team') };
}

/** Registers the four keys, each for its one predicate type (provenance/v1, vulns/v0.2, test-result/v0.1, red-team/v1). */
export async function addSeedKeys(reg: TestRegistry, keys: SeedKeys): Promise<void> {
  await addKey(reg, keys.training, [SLSA]);
  await addKey(reg, keys.scanner, [VULNS]);
  await addKey(reg, keys.sandbox, [TEST_RESULT]);
  await addKey(reg, keys.redTeam, [RED_TEAM]);
}

/**
 * The seed's four keys plus a second training cluster's key (also trusted for provenance): two
 * valid signers whose provenance can disagree, for the verified-metadata conflict tests.
 */
export async function addSeedKeysAndSecondTrainer(reg: TestRegistry): Promise<{ keys: SeedKeys; second: TestKey }> {
  const keys = makeSeedKeys();
  await addSeedKeys(reg, keys);
  const second = makeKey('training-cluster-2');
  await addKey(reg, second, [SLSA]);
  return { keys, second };
}

interface FixtureFile {
  readonly attestations: readonly { readonly predicateType: string; readonly predicate: Json }[];
}

/** The predicate of `predicateType` in one of the shipped fixtures (a fresh copy). */
export function fixturePredicate(fixture: string, predicateType: string): Json {
  const parsed = JSON.parse(readFileSync(path.join(EXAMPLE_POLICIES, 'fixtures', fixture), 'utf8')) as FixtureFile;
  const found = parsed.attestations.find((a) => a.predicateType === predicateType);
  if (found === undefined) throw new Error(`fixture ${fixture} has no ${predicateType} attestation`);
  return structuredClone(found.predicate);
}

/** A vulns v0.2 predicate: the clean scan, or the one with a CRITICAL finding. */
export function scanPredicate(verdict: 'clean' | 'critical'): Json {
  return fixturePredicate(verdict === 'clean' ? 'clean.json' : 'critical-vuln.json', VULNS);
}

/** A test-result v0.1 predicate saying PASSED or FAILED. */
export function sandboxPredicate(result: 'PASSED' | 'FAILED'): Json {
  return fixturePredicate(result === 'PASSED' ? 'clean.json' : 'sandbox-failed.json', TEST_RESULT);
}

/** A red-team v1 predicate with `status`. */
export function redTeamPredicate(status: 'APPROVED' | 'PENDING' | 'REJECTED'): Json {
  return { ...fixturePredicate('clean.json', RED_TEAM), status };
}

export interface PushedVersion {
  readonly model: string;
  readonly digest: string;
  readonly number: number;
}

/** Uploads a fresh one-file model and registers it as `model` (NS/NAME), with provenance signed by `trainer` unless null. */
export async function pushModel(reg: TestRegistry, model: string, trainer: TestKey | null): Promise<PushedVersion> {
  const uploaded = await uploadRandomModel(reg);
  const bundles = trainer === null ? {} : { provenance: signBundle(trainer, uploaded.digest, SLSA, provenancePredicate()) };
  const reply = await register(reg, model, uploaded, bundles);
  if (reply.status !== 201) throw new Error(`registering ${model}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return { model, digest: uploaded.digest, number: Number(reply.json['number']) };
}

/** Submits an attestation signed by `key` about `version` (as the admin); throws unless it is stored. Returns the stored attestation. */
export async function attest(reg: TestRegistry, version: PushedVersion, key: TestKey, predicateType: string, predicate: Json): Promise<Json> {
  const reply = await api(reg, 'POST', `/api/v1/models/${version.model}/versions/${version.digest}/attestations`, {
    bundle: signBundle(key, version.digest, predicateType, predicate),
  });
  if (reply.status !== 201) throw new Error(`attesting ${predicateType} by ${key.name}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply.json;
}

export interface SeedAttestations {
  /** Default clean; null leaves the scan out. */
  readonly scan?: 'clean' | 'critical' | null;
  /** Default PASSED; null leaves it out. */
  readonly sandbox?: 'PASSED' | 'FAILED' | null;
  /** Default APPROVED; null leaves it out. */
  readonly redteam?: 'APPROVED' | 'PENDING' | 'REJECTED' | null;
  /** Keys to sign with instead of the seed's (a wrong key, a key about to be revoked). */
  readonly signers?: Partial<Pick<SeedKeys, 'scanner' | 'sandbox' | 'redTeam'>>;
}

/** Attests scan, sandbox and red team for `version` as `options` say; returns the bundle digests by requirement name. */
export async function attestSeed(reg: TestRegistry, version: PushedVersion, keys: SeedKeys, options: SeedAttestations = {}): Promise<Record<string, string>> {
  const digests: Record<string, string> = {};
  const scan = options.scan === undefined ? 'clean' : options.scan;
  const sandbox = options.sandbox === undefined ? 'PASSED' : options.sandbox;
  const redteam = options.redteam === undefined ? 'APPROVED' : options.redteam;
  if (scan !== null) digests['scan'] = String((await attest(reg, version, options.signers?.scanner ?? keys.scanner, VULNS, scanPredicate(scan)))['bundleDigest']);
  if (sandbox !== null) digests['sandbox'] = String((await attest(reg, version, options.signers?.sandbox ?? keys.sandbox, TEST_RESULT, sandboxPredicate(sandbox)))['bundleDigest']);
  if (redteam !== null) digests['redteam'] = String((await attest(reg, version, options.signers?.redTeam ?? keys.redTeam, RED_TEAM, redTeamPredicate(redteam)))['bundleDigest']);
  return digests;
}

export interface ExamplePolicy {
  readonly document: PolicyDocument;
  /** The contents of the fixtures its tests name, keyed as the document writes them (what a client sends). */
  readonly fixtures: Record<string, unknown>;
}

/** One of the shipped policies (examples/policies/NAME.yaml) with its fixtures. */
export async function examplePolicy(name: 'production' | 'staging'): Promise<ExamplePolicy> {
  const document = parsePolicyDocument(readFileSync(path.join(EXAMPLE_POLICIES, `${name}.yaml`), 'utf8'), `${name}.yaml`);
  return { document, fixtures: await readPolicyFixtures(document, EXAMPLE_POLICIES) };
}

/** A mutable copy of a policy document, for tests that derive a weaker or hostile one. */
export type EditablePolicy = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; environment: string };
  spec: {
    requireFrom?: string;
    attestations: Record<string, { predicateType: string; signers: string[]; threshold?: number; message?: string }>;
    gates: { name: string; expr: string; message: string }[];
    tests: { name: string; input: { fixture: string } | { inline: unknown }; expect: 'allow' | 'deny' }[];
  };
};

export function editablePolicy(document: PolicyDocument): EditablePolicy {
  return structuredClone(document) as unknown as EditablePolicy;
}

/** POST /api/v1/policies with the document as JSON text (or YAML/JSON text as given). */
export function pushPolicy(reg: TestRegistry, document: string | PolicyDocument | EditablePolicy, fixtures: Record<string, unknown> = {}, token = reg.token): Promise<JsonReply> {
  const text = typeof document === 'string' ? document : JSON.stringify(document);
  return api(reg, 'POST', '/api/v1/policies', { document: text, fixtures }, token);
}

export function approvePolicy(reg: TestRegistry, id: string, token: string): Promise<JsonReply> {
  return api(reg, 'POST', `/api/v1/policies/${id}/approve`, undefined, token);
}

/**
 * Proposes the shipped production policy changed by `edit` (e.g. a gate's message, so each
 * proposal differs) as `token`; asserts it was stored as a proposal (the two-person rule) and
 * returns the API's record.
 */
export async function proposeProduction(reg: TestRegistry, edit: (document: EditablePolicy) => void, token = reg.token): Promise<Json> {
  const example = await examplePolicy('production');
  const document = editablePolicy(example.document);
  edit(document);
  const pushed = await pushPolicy(reg, document, example.fixtures, token);
  if (pushed.status !== 201 || pushed.json['status'] !== 'proposed') throw new Error(`proposing a production policy: ${pushed.status} ${JSON.stringify(pushed.json)}`);
  return pushed.json;
}

/** An edit for {@link proposeProduction}: the first gate's message becomes `message`. */
export function withFirstGateMessage(message: string): (document: EditablePolicy) => void {
  return (document) => {
    const gate = document.spec.gates[0];
    if (gate === undefined) throw new Error('the production example has no gate');
    gate.message = message;
  };
}

/** Pushes a policy and, when it stays proposed, has `approverToken` approve it; throws unless it ends active. Returns the active record. */
export async function activatePolicy(reg: TestRegistry, document: PolicyDocument | EditablePolicy, fixtures: Record<string, unknown>, approverToken: string): Promise<Json> {
  const pushed = await pushPolicy(reg, document, fixtures);
  if (pushed.status !== 201) throw new Error(`pushing a policy: ${pushed.status} ${JSON.stringify(pushed.json)}`);
  if (pushed.json['status'] === 'active') return pushed.json;
  const approved = await approvePolicy(reg, String(pushed.json['id']), approverToken);
  if (approved.status !== 200 || approved.json['status'] !== 'active') throw new Error(`approving a policy: ${approved.status} ${JSON.stringify(approved.json)}`);
  return approved.json;
}

export interface BindingSpec {
  readonly role: string;
  readonly namespaces?: readonly string[];
  readonly environments?: readonly string[];
}

/** Creates a principal with `bindings` (as the admin) and returns a fresh API token for it. */
export async function createPrincipal(reg: TestRegistry, name: string, kind: 'user' | 'service', bindings: readonly BindingSpec[]): Promise<string> {
  const created = await api(reg, 'POST', '/api/v1/principals', { name, kind });
  if (created.status !== 201) throw new Error(`creating ${name}: ${created.status} ${JSON.stringify(created.json)}`);
  for (const binding of bindings) {
    const granted = await api(reg, 'POST', '/api/v1/bindings', { principal: name, ...binding });
    if (granted.status !== 201) throw new Error(`binding ${name} to ${binding.role}: ${granted.status} ${JSON.stringify(granted.json)}`);
  }
  const token = await api(reg, 'POST', '/api/v1/tokens', { principal: name });
  if (token.status !== 201 || typeof token.json['token'] !== 'string') throw new Error(`token for ${name}: ${token.status}`);
  return token.json['token'];
}

/** Tokens of the seed's principals. */
export interface SeedPrincipals {
  /** `ci-release`, a service, promoter for staging and production. */
  readonly ci: string;
  /** `dana`, a user with the same promoter binding. */
  readonly user: string;
  /** `second-admin`, a user with policy-admin (policy:propose and policy:approve) everywhere. */
  readonly approver: string;
}

const PROMOTER = { role: 'promoter', environments: ['staging', 'production'] } as const;

export async function createSeedPrincipals(reg: TestRegistry): Promise<SeedPrincipals> {
  return {
    ci: await createPrincipal(reg, 'ci-release', 'service', [PROMOTER]),
    user: await createPrincipal(reg, 'dana', 'user', [PROMOTER]),
    approver: await createPrincipal(reg, 'second-admin', 'user', [{ role: 'policy-admin' }]),
  };
}

export interface Seed {
  readonly keys: SeedKeys;
  readonly principals: SeedPrincipals;
  /** The active policy records by environment, as the push or approval returned them. */
  readonly policies: Readonly<Record<string, Json>>;
}

/**
 * The seed's registry state: the four keys, the three principals, and the shipped policies named
 * by `policies` (default both) active — production pushed by the admin and approved by the second
 * admin. A suite that leaves staging without a policy can place any version there, so each
 * production requirement can be taken away on its own.
 */
export async function setUpSeed(reg: TestRegistry, policies: readonly ('staging' | 'production')[] = ['staging', 'production']): Promise<Seed> {
  const keys = makeSeedKeys();
  await addSeedKeys(reg, keys);
  const principals = await createSeedPrincipals(reg);
  const active: Record<string, Json> = {};
  for (const name of policies) {
    const example = await examplePolicy(name);
    active[name] = await activatePolicy(reg, example.document, example.fixtures, principals.approver);
  }
  return { keys, principals, policies: active };
}

/** POST …/environments/{env}/promotions with `{version, expectCurrent?}` as `token`. */
export function promote(reg: TestRegistry, version: PushedVersion, environment: string, token: string, options: { expectCurrent?: string; selector?: string } = {}): Promise<JsonReply> {
  return api(
    reg,
    'POST',
    `/api/v1/models/${version.model}/environments/${environment}/promotions`,
    { version: options.selector ?? version.digest, ...(options.expectCurrent === undefined ? {} : { expectCurrent: options.expectCurrent }) },
    token,
  );
}

/** Promotes and throws unless a decision with `outcome` comes back; returns the decision. */
export async function promoteExpecting(reg: TestRegistry, version: PushedVersion, environment: string, token: string, outcome: 'allow' | 'deny'): Promise<Json> {
  const reply = await promote(reg, version, environment, token);
  if (reply.status !== 200 || reply.json['outcome'] !== outcome) {
    throw new Error(`promoting ${version.model}@${version.digest} to ${environment}: expected ${outcome}, got ${reply.status} ${JSON.stringify(reply.json)}`);
  }
  return reply.json;
}

/** The model's environments (GET …/environments), by environment name. */
export async function environmentsOf(reg: TestRegistry, model: string): Promise<Record<string, Json>> {
  const reply = await api(reg, 'GET', `/api/v1/models/${model}/environments`);
  if (reply.status !== 200) throw new Error(`status of ${model}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return Object.fromEntries((reply.json['environments'] as Json[]).map((e) => [String(e['environment']), e]));
}

/** A version's decisions, newest first. */
export async function decisionsOf(reg: TestRegistry, version: PushedVersion): Promise<Json[]> {
  const reply = await api(reg, 'GET', `/api/v1/models/${version.model}/versions/${version.digest}/decisions`);
  if (reply.status !== 200) throw new Error(`decisions of ${version.digest}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply.json['items'] as Json[];
}

/** The log's `type` events (newest first, up to 1,000), of one model when given, each with its log index. */
export async function loggedEvents(reg: TestRegistry, type: string, model?: string): Promise<(Json & { index: number })[]> {
  const query = `type=${encodeURIComponent(type)}&limit=1000${model === undefined ? '' : `&model=${encodeURIComponent(model)}`}`;
  const reply = await api(reg, 'GET', `/api/v1/audit?${query}`);
  if (reply.status !== 200) throw new Error(`audit: ${reply.status} ${JSON.stringify(reply.json)}`);
  return (reply.json['items'] as { index: number; event: Json }[]).map((i) => ({ ...i.event, index: i.index }));
}

/** The registry's VSA public key (GET /api/v1/vsa/key): id and SPKI PEM. */
export async function vsaKeyOf(reg: TestRegistry): Promise<{ keyId: string; publicKey: string }> {
  const reply = await api(reg, 'GET', '/api/v1/vsa/key');
  if (reply.status !== 200) throw new Error(`VSA key: ${reply.status}`);
  return { keyId: String(reply.json['keyId']), publicKey: String(reply.json['publicKey']) };
}

/**
 * Verifies a VSA bundle with @sigstore/verify as an independent verifier that trusts exactly
 * `publicKeyPem`, found by its key-id hint (no transparency log, SCT or timestamp needed).
 * Throws when it does not verify.
 */
export function verifyWithSigstore(bundleJson: string, publicKeyPem: string): Signer {
  const publicKey = parsePublicKey(publicKeyPem);
  const trust = toTrustMaterial(TrustedRoot.fromJSON({}), (hint: string) => {
    if (hint !== publicKey.keyId) throw new Error(`unknown key hint ${hint}`);
    return { publicKey: publicKey.key, validFor: () => true };
  });
  const verifier = new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 });
  return verifier.verify(toSignedEntity(bundleFromJSON(JSON.parse(bundleJson))));
}

/** The log's newest checkpoint, its signature verified with the log's verifier key. */
export async function checkpointOf(reg: TestRegistry): Promise<VerifiedCheckpoint> {
  const key = await api(reg, 'GET', '/api/v1/log/key');
  const note = await fetch(`${reg.url}/log/checkpoint`, { headers: { authorization: `Bearer ${reg.token}` } });
  if (note.status !== 200) throw new Error(`checkpoint: ${note.status}`);
  return verifyCheckpoint(await note.text(), parseVerifierKey(String(key.json['verifierKey'])));
}
