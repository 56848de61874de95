/**
 * Test material for signatures and attestations: signer keys made in the test, SLSA training
 * provenance statements (SPEC §4.3), bundles signed with `createAttestation`, small models
 * uploaded over real HTTP, and a JSON call helper for the API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createAttestation } from '../../src/crypto/attestation.js';
import { generateSigningKey, parsePrivateKey, type KeyType } from '../../src/crypto/signing-keys.js';
import { scanModel } from '../../src/sdk/local-model.js';
import type { TestRegistry } from './registry.js';

export const SLSA = 'https://slsa.dev/provenance/v1';
export const VULNS = 'https://in-toto.io/attestation/vulns/v0.2';
export const TEST_RESULT = 'https://in-toto.io/attestation/test-result/v0.1';
export const RED_TEAM = 'https://custody.dev/attestation/red-team/v1';

export interface TestKey {
  readonly name: string;
  readonly privateKeyPem: string;
  readonly publicKeyPem: string;
  readonly keyId: string;
}

export function makeKey(name: string, type: KeyType = 'ed25519'): TestKey {
  const k = generateSigningKey(type);
  return { name, privateKeyPem: k.privateKeyPem, publicKeyPem: k.publicKeyPem, keyId: k.keyId };
}

export interface ProvenanceOptions {
  readonly trainingData?: string | null;
  readonly commit?: string | null;
  readonly builderId?: string | null;
  readonly parents?: readonly { namespace: string; name: string; digest: string }[];
}

/** A §4.3 training provenance predicate; `null` leaves a field out. */
export function provenancePredicate(options: ProvenanceOptions = {}): Record<string, unknown> {
  const deps: Record<string, unknown>[] = [];
  const commit = options.commit === undefined ? 'a'.repeat(40) : options.commit;
  if (commit !== null) deps.push({ uri: 'git+https://git.example.com/acme/fraud', digest: { gitCommit: commit } });
  const data = options.trainingData === undefined ? 'd'.repeat(64) : options.trainingData;
  if (data !== null) deps.push({ name: 'training-data', digest: { sha256: data } });
  deps.push({ name: 'preprocess:clean', digest: { sha256: 'c'.repeat(64) } });
  for (const p of options.parents ?? []) deps.push({ uri: `custody:${p.namespace}/${p.name}`, digest: { sha256: p.digest.replace(/^sha256:/, '') } });
  const builderId = options.builderId === undefined ? 'https://ci.example.com/training-cluster' : options.builderId;
  return {
    buildDefinition: {
      buildType: 'https://custody.dev/ml-training/v1',
      externalParameters: { hyperparameters: { lr: 0.001, epochs: 3 }, entryPoint: 'train.py', sourceRepository: 'https://git.example.com/acme/fraud' },
      resolvedDependencies: deps,
    },
    runDetails: { ...(builderId === null ? {} : { builder: { id: builderId } }), metadata: { invocationId: 'run-1', startedOn: '2026-01-01T00:00:00Z', finishedOn: '2026-01-01T01:00:00Z' } },
  };
}

/** A bundle signed by `key` about `digest` (`sha256:<hex>`). */
export function signBundle(key: TestKey, digest: string, predicateType: string, predicate: Record<string, unknown>): string {
  return createAttestation({ subjects: [{ name: 'model', digest: { sha256: digest.replace(/^sha256:/, '') } }], predicateType, predicate, privateKey: parsePrivateKey(key.privateKeyPem) }).bundleJson;
}

export interface JsonReply {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** One JSON call to the registry's API as the admin (or `token`). */
export async function api(reg: TestRegistry, method: string, route: string, body?: unknown, token = reg.token): Promise<JsonReply> {
  const response = await fetch(`${reg.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, json: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

export async function addKey(reg: TestRegistry, key: TestKey, predicateTypes: readonly string[], extra: Record<string, unknown> = {}): Promise<JsonReply> {
  const reply = await api(reg, 'POST', '/api/v1/keys', { name: key.name, publicKey: key.publicKeyPem, predicateTypes, ...extra });
  if (reply.status !== 201) throw new Error(`adding key ${key.name}: ${reply.status} ${JSON.stringify(reply.json)}`);
  return reply;
}

export interface UploadedModel {
  readonly files: { path: string; size: number; digest: string }[];
  readonly digest: string;
}

/** Writes a one-file model with random content, uploads its blob, and returns its manifest. */
export async function uploadRandomModel(reg: TestRegistry): Promise<UploadedModel> {
  const dir = await mkdtemp(path.join(tmpdir(), 'custody-trust-model-'));
  try {
    await writeFile(path.join(dir, 'weights.bin'), randomBytes(64));
    const model = await scanModel(dir);
    for (const f of model.files) await reg.client().putBlob(f);
    return { files: model.files.map((f) => ({ path: f.path, size: f.size, digest: `sha256:${f.sha256}` })), digest: model.digest };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export function register(reg: TestRegistry, model: string, uploaded: UploadedModel, bundles: { provenance?: string; attestations?: string[] } = {}, token?: string): Promise<JsonReply> {
  return api(reg, 'POST', `/api/v1/models/${model}/versions`, { files: uploaded.files, ...bundles }, token);
}

/** The `type` events of the log's audit feed, newest first. */
export async function auditEvents(reg: TestRegistry, type: string): Promise<Record<string, unknown>[]> {
  const reply = await api(reg, 'GET', `/api/v1/audit?type=${encodeURIComponent(type)}&limit=100`);
  const items = reply.json['items'] as { event: Record<string, unknown> }[];
  return items.map((i) => i.event);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
