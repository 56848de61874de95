/**
 * Reading pipeline evidence for the provenance chain (SPEC §4.2 "Exception — pipeline evidence",
 * §6.3): which pipeline step a statement attests, its products and its materials.
 *
 * - in-toto link v0.3 (https://github.com/in-toto/attestation/blob/main/spec/predicates/link.md):
 *   the step is `predicate.name`, the products are the statement's subjects, the materials are
 *   `predicate.materials` (ResourceDescriptors).
 * - SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance) of a data-preparation step: the
 *   step is `predicate.buildDefinition.externalParameters.step` (a string naming it; Custody's
 *   convention, since SLSA has no step field), the products are the subjects, the materials are
 *   `predicate.buildDefinition.resolvedDependencies`.
 *
 * Products and materials are matched by their sha256 digest only; a material's `uri` (else its
 * `name`) is what a `roots` URI prefix is compared with. The predicate is hostile even when its
 * signature verified: a malformed field makes the statement count for nothing (with the reason),
 * never a thrown TypeError. Bounded: at most 1,000 products and 1,000 materials per statement.
 */
import { SLSA_PROVENANCE_V1 } from '../domain/provenance.js';
import type { CandidateAttestation } from './policy-input.js';

export const LINK_PREDICATE_V03 = 'https://in-toto.io/attestation/link/v0.3';
/** The predicate types a statement attached as evidence may have (SPEC §4.2). */
export const EVIDENCE_PREDICATE_TYPES: readonly string[] = [LINK_PREDICATE_V03, SLSA_PROVENANCE_V1];
/** Most evidence statements one evaluation reads. */
export const MAX_EVIDENCE_STATEMENTS = 1_000;
/** Most products, and most materials, one evidence statement may name. */
export const MAX_EVIDENCE_RESOURCES = 1_000;

const HEX64 = /^[0-9a-f]{64}$/;
const MAX_TEXT = 2048;

/** A product or material: its digest (`sha256:<hex>`, null when it names none) and where it lives. */
export interface ChainResource {
  readonly digest: string | null;
  /** The material's `uri`, else its `name` (what roots are matched with and messages show). */
  readonly location: string | null;
}

/** One evidence statement read as a step: what it consumed and what it produced. */
export interface StepEvidence {
  readonly step: string;
  readonly attestation: CandidateAttestation;
  /** Digests of its subjects (`sha256:<hex>`). */
  readonly products: readonly string[];
  readonly materials: readonly ChainResource[];
}

/** What a statement says as evidence: the step it attests, or why it says nothing usable. */
export type EvidenceReading =
  | { readonly kind: 'step'; readonly evidence: StepEvidence }
  | { readonly kind: 'malformed'; readonly step: string; readonly problem: string }
  | { readonly kind: 'none' };

function isObject(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function field(value: unknown, ...path: string[]): unknown {
  let current = value;
  for (const key of path) current = isObject(current) ? current[key] : undefined;
  return current;
}

/** The step a statement names, by its predicate type; undefined when it names none. */
function stepName(a: CandidateAttestation): string | undefined {
  const name =
    a.predicateType === LINK_PREDICATE_V03
      ? field(a.predicate, 'name')
      : a.predicateType === SLSA_PROVENANCE_V1
        ? field(a.predicate, 'buildDefinition', 'externalParameters', 'step')
        : undefined;
  return typeof name === 'string' && name !== '' && name.length <= MAX_TEXT ? name : undefined;
}

class Malformed extends Error {}

function optionalText(value: unknown, where: string): string | null {
  if (value === undefined || value === null || value === '') return null;
  if (typeof value !== 'string' || value.length > MAX_TEXT) throw new Malformed(`${where} must be a string of at most ${MAX_TEXT} characters`);
  return value;
}

/** A ResourceDescriptor as a material: sha256 digest (if any) and uri/name. */
function materialOf(raw: unknown, where: string): ChainResource {
  if (!isObject(raw)) throw new Malformed(`${where} must be an object`);
  const uri = optionalText(raw['uri'], `${where}.uri`);
  const name = optionalText(raw['name'], `${where}.name`);
  const digests = raw['digest'];
  if (digests !== undefined && digests !== null && !isObject(digests)) throw new Malformed(`${where}.digest must be an object`);
  const hex = isObject(digests) ? digests['sha256'] : undefined;
  if (hex !== undefined && (typeof hex !== 'string' || !HEX64.test(hex))) throw new Malformed(`${where}.digest.sha256 must be 64 lowercase hex digits`);
  return { digest: hex === undefined ? null : `sha256:${hex}`, location: uri ?? name };
}

function materialsOf(a: CandidateAttestation): ChainResource[] {
  const [list, where] =
    a.predicateType === LINK_PREDICATE_V03
      ? [field(a.predicate, 'materials'), 'materials']
      : [field(a.predicate, 'buildDefinition', 'resolvedDependencies'), 'buildDefinition.resolvedDependencies'];
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list)) throw new Malformed(`${where} must be a list`);
  if (list.length > MAX_EVIDENCE_RESOURCES) throw new Malformed(`${where} names ${list.length} materials, more than the limit of ${MAX_EVIDENCE_RESOURCES}`);
  return list.map((raw: unknown, i) => materialOf(raw, `${where}[${i}]`));
}

function productsOf(a: CandidateAttestation): string[] {
  const subjects = a.subjects ?? [];
  if (subjects.length > MAX_EVIDENCE_RESOURCES) throw new Malformed(`it names ${subjects.length} subjects, more than the limit of ${MAX_EVIDENCE_RESOURCES}`);
  // A product only ever matches a checked digest (a material, a root, the training data), so a
  // malformed one simply matches nothing; no pattern test is needed here.
  return subjects.flatMap((s) => (typeof s.digest === 'string' && s.digest.startsWith('sha256:') ? [s.digest] : []));
}

/**
 * Reads `a` as pipeline evidence: `none` unless it is evidence (`role: evidence`) of a link or
 * SLSA provenance type naming a step; `malformed` (with the reason) when its materials or
 * subjects cannot be read or exceed the bounds. Its validity is not judged here.
 */
export function readEvidence(a: CandidateAttestation): EvidenceReading {
  if (a.role !== 'evidence') return { kind: 'none' };
  const step = stepName(a);
  if (step === undefined) return { kind: 'none' };
  try {
    return { kind: 'step', evidence: { step, attestation: a, products: productsOf(a), materials: materialsOf(a) } };
  } catch (error) {
    if (error instanceof Malformed) return { kind: 'malformed', step, problem: error.message };
    throw error;
  }
}
