/**
 * The registry `bench:ui` renders pages of (issue 8 acceptance: "a model with 200 versions and
 * 50 attestations on a version"), set up over the HTTP API the way an operator and a pipeline
 * would, with the server's default rules in force (SPEC §5, §6, §7):
 * - the principals and signer keys of `bench:policy` (`PromotionSetup`, `AttestationSet`) and the
 *   seed's staging and production policies from `examples/policies/`, so the version page has
 *   real gates to evaluate;
 * - one model, `bench/ui-model`, with `versions - 1` plain versions (a fresh random 256-byte blob
 *   each, registered without provenance: `provenance.requireAtEntry` is off for the benchmark's
 *   server) and then its newest version, registered with the 20 attestations of a `bench:policy`
 *   version plus further signed ones added through `POST …/attestations` up to `attestations`,
 *   promoted into staging and then production (so the model page shows placements and the version
 *   page a promotion history).
 * The registry's own count of the version's attestations is checked before anything is timed.
 */
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { sha256Hex } from '../src/domain/digest.js';
import { manifestDigest, toManifest } from '../src/domain/manifest.js';
import { ATTESTATIONS_PER_VERSION, type AttestationSet } from './attestation-set.js';
import { PromotionSetup, type ActivePolicy } from './promotion-setup.js';
import type { RegistryApi } from './registry-api.js';

/** The benchmark's model. */
export const UI_MODEL = { namespace: 'bench', name: 'ui-model' } as const;
/** How many of a version's bundles `AttestationSet.bundlesFor` seeds from the policy fixture (the same each call). */
const SEEDED_EXTRAS = 3;

export interface UiScenarioOptions {
  /** Versions of the model, the attested one included. */
  readonly versions: number;
  /** Attestations on the newest version (at least the 20 of a `bench:policy` version). */
  readonly attestations: number;
}

/** What was set up: the model, the attested version and the active policies. */
export interface UiScenario {
  readonly namespace: string;
  readonly name: string;
  /** The newest version, the one with `attestations` attestations (`sha256:<hex>`). */
  readonly digest: string;
  readonly versionNumber: number;
  readonly attestations: number;
  readonly policies: readonly ActivePolicy[];
}

/** A version's provenance and further attestations, signed once its digest is known. */
type BundlesFor = (digest: string) => { provenance: string; attestations: readonly string[] };

/** Registers one version of the model holding one fresh random file; returns its digest and number. */
async function registerVersion(api: RegistryApi, adminToken: string, bundlesFor?: BundlesFor): Promise<{ digest: string; number: number }> {
  const bytes = randomBytes(256);
  const sha256 = sha256Hex(bytes);
  await api.expect(201, adminToken, 'PUT', `/api/v1/blobs/sha256:${sha256}`, bytes);
  const file = { path: 'model.safetensors', size: bytes.length, sha256 };
  const digest = manifestDigest(toManifest([file]));
  const bundles = bundlesFor?.(digest);
  const registered = await api.expect(201, adminToken, 'POST', `/api/v1/models/${UI_MODEL.namespace}/${UI_MODEL.name}/versions`, {
    files: [{ path: file.path, size: file.size, digest: `sha256:${sha256}` }],
    ...(bundles === undefined ? {} : { provenance: bundles.provenance, attestations: bundles.attestations }),
  });
  if (registered.json['digest'] !== digest) throw new Error(`the registry computed ${String(registered.json['digest'])}, not ${digest}`);
  return { digest, number: Number(registered.json['number']) };
}

/** The bundles beyond the first 20: the unseeded ones of further `bundlesFor` rounds, each distinct. */
function extraBundles(attestations: AttestationSet, digest: string, count: number): string[] {
  const out: string[] = [];
  for (let round = 1; out.length < count; round++) {
    // The seeded bundles repeat exactly (same key, same statement); the others vary with `n`.
    const fresh = attestations.bundlesFor(digest, 1_000 + round).attestations.slice(SEEDED_EXTRAS);
    out.push(...fresh.slice(0, count - out.length));
  }
  return out;
}

/**
 * Sets the registry up (see the module comment); `progress` hears what is being done. Runs as the
 * bootstrap admin, except promotions (the service principal, as the default rules ask).
 */
export async function setUpUiScenario(api: RegistryApi, adminToken: string, attestations: AttestationSet, policyDir: string, options: UiScenarioOptions, progress: (line: string) => void): Promise<UiScenario> {
  if (options.attestations < ATTESTATIONS_PER_VERSION) throw new Error(`at least ${ATTESTATIONS_PER_VERSION} attestations on the version, not ${options.attestations}`);
  const setup = await PromotionSetup.prepare(api, adminToken, attestations);
  const policies = [await setup.activatePolicy(path.join(policyDir, 'staging.yaml')), await setup.activatePolicy(path.join(policyDir, 'production.yaml'))];
  progress(`${attestations.registrations().length} keys registered; policies ${policies.map((p) => `${p.environment} #${p.number}`).join(', ')} active`);
  // One after another: version numbers are allocated per model, in registration order.
  for (let i = 1; i < options.versions; i++) await registerVersion(api, adminToken);
  const model = `${UI_MODEL.namespace}/${UI_MODEL.name}`;
  // The newest version: the 20 bundles of a `bench:policy` version at registration, the rest added one by one.
  const attested = await registerVersion(api, adminToken, (digest) => attestations.bundlesFor(digest, 0));
  for (const bundle of extraBundles(attestations, attested.digest, options.attestations - ATTESTATIONS_PER_VERSION)) {
    await api.expect(201, adminToken, 'POST', `/api/v1/models/${model}/versions/${attested.digest}/attestations`, { bundle });
  }
  await setup.promote(model, attested.digest, 'staging');
  await setup.promote(model, attested.digest, 'production');
  const listed = await api.expect(200, adminToken, 'GET', `/api/v1/models/${model}/versions/${attested.digest}/attestations`);
  const items = listed.json['items'];
  const count = Array.isArray(items) ? items.length : 0;
  if (count !== options.attestations) throw new Error(`${model}@${attested.digest} holds ${count} attestations, not ${options.attestations}`);
  progress(`${model}: ${options.versions} versions; v${attested.number} ${attested.digest} with ${count} attestations, promoted into staging and production`);
  return { ...UI_MODEL, digest: attested.digest, versionNumber: attested.number, attestations: count, policies };
}
