/**
 * The provenance-chain requirement (SPEC §6.3, §10 "provenance gap"): the data a model was
 * trained on must be traceable, step by attested step, back to trusted roots.
 *
 * Rules, in the order a gap is looked for (the first one found is the result's message):
 * 1. Each listed step, in order, is attested by VALID evidence (`role: evidence`, status valid)
 *    of the step's predicate type, signed by one of its signers, naming the step (link:
 *    `predicate.name`; SLSA provenance: `buildDefinition.externalParameters.step`, see
 *    `chain-evidence.ts`). Otherwise: `no valid attestation of step ingest signed by data-platform`
 *    (with what was found instead, e.g. a revoked key or another signer).
 * 2. Steps connect by digest: an evidence statement of a step counts (is "connected") when each
 *    of its materials is a product of a connected statement of the step before, or matches a
 *    `roots` entry; the first step's materials must all match roots. A root is an exact
 *    `sha256:<hex>` digest, or a URI prefix of the material's `uri` (else `name`); a location
 *    with `.`/`..` segments (or their percent-encoding) never matches a prefix. A step with
 *    statements but none connected is a gap: `preprocess material sha256:… (s3://datasets/raw/x)
 *    is not the product of an attested ingest step and matches no root`.
 * 3. The last step's connected products include the training provenance's training-data digest
 *    (`provenance.trainingData` of the CEL input): `training data sha256:… is not the product of
 *    an attested preprocess step`.
 * 4. Every preprocessing script digest the training provenance names (`provenance.preprocessing[]
 *    .digest`) is a material of a connected statement of some step.
 *
 * Monotonic (§6.1): a statement that does not connect is simply not used, so more valid evidence
 * can only turn a FAIL into a PASS. Bounded: more than 1,000 evidence statements is an ERROR;
 * each statement names at most 1,000 products and materials (else it is ignored as malformed).
 * Time is linear in the materials and products read (root prefixes are a constant factor).
 */
import type { RequirementResult } from './check-requirement.js';
import { MAX_EVIDENCE_STATEMENTS, readEvidence, type ChainResource, type StepEvidence } from './chain-evidence.js';
import type { ChainStep, PolicyDocument } from './policy-document.js';
import type { CandidateAttestation } from './policy-input.js';

/** The `chain` section of a policy document. */
export type PolicyChain = NonNullable<PolicyDocument['spec']['chain']>;

const PREFIXED_SHA256 = /^sha256:[0-9a-f]{64}$/;
const MAX_PREPROCESSING = 1_000;

/** The `roots` entries: exact digests and URI prefixes (at most 64, so a prefix scan is a constant factor). */
class Roots {
  readonly #digests = new Set<string>();
  readonly #prefixes: string[] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) {
      if (PREFIXED_SHA256.test(entry)) this.#digests.add(entry);
      else this.#prefixes.push(entry);
    }
  }

  matches(material: ChainResource): boolean {
    if (material.digest !== null && this.#digests.has(material.digest)) return true;
    const location = material.location;
    if (location === null || this.#prefixes.length === 0) return false;
    return this.#prefixes.some((prefix) => location.startsWith(prefix)) && !hasDotSegment(location);
  }
}

const DOT_SEGMENT = /(?:^|[/\\])(?:\.|%2e){1,2}(?:$|[/\\?#])/i;

/** True when a `.` or `..` path segment (plain or percent-encoded) could walk out from under a prefix. */
function hasDotSegment(location: string): boolean {
  return DOT_SEGMENT.test(location);
}

function appendTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** A material as messages show it: its digest and (shortened) location. */
function label(material: ChainResource): string {
  const location = material.location === null ? null : material.location.length > 200 ? `${material.location.slice(0, 200)}…` : material.location;
  if (material.digest === null) return `${location ?? '(unnamed)'} (no sha256 digest)`;
  return location === null ? material.digest : `${material.digest} (${location})`;
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}

interface TrainingFacts {
  readonly trainingData: string;
  readonly preprocessing: readonly { readonly name: string; readonly digest: string }[];
}

/** The training data and preprocessing digests of the CEL input's `provenance`, or why they cannot be read. */
function trainingFacts(provenance: Readonly<Record<string, unknown>> | null): TrainingFacts | string {
  if (provenance === null) return 'the version carries no valid training provenance, so the chain has no training data to end at';
  const trainingData = provenance['trainingData'];
  if (typeof trainingData !== 'string' || !PREFIXED_SHA256.test(trainingData)) return 'the training provenance names no training-data sha256 digest, so the chain has nothing to end at';
  const raw = provenance['preprocessing'] ?? [];
  if (!Array.isArray(raw) || raw.length > MAX_PREPROCESSING) return `the training provenance's preprocessing must be a list of at most ${MAX_PREPROCESSING} scripts`;
  const preprocessing: { name: string; digest: string }[] = [];
  for (const entry of raw as unknown[]) {
    const digest = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)['digest'] : undefined;
    const name = typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>)['name'] : undefined;
    if (typeof digest !== 'string' || !PREFIXED_SHA256.test(digest)) return "a preprocessing script of the training provenance has no sha256 digest";
    preprocessing.push({ name: typeof name === 'string' ? name.slice(0, 200) : '(unnamed)', digest });
  }
  return { trainingData, preprocessing };
}

/** Why no valid evidence attests `step`: what was found for it instead, if anything. */
function missingStep(step: ChainStep, evidence: readonly CandidateAttestation[], malformed: readonly string[]): string {
  const found: string[] = [];
  let revoked = 0;
  let invalid = 0;
  let reason: string | undefined;
  const otherSigners = new Set<string>();
  let otherType = 0;
  for (const a of evidence) {
    const reading = readEvidence(a);
    const named = reading.kind === 'step' ? reading.evidence.step : reading.kind === 'malformed' ? reading.step : undefined;
    if (named !== step.name) continue;
    if (a.predicateType !== step.predicateType) otherType++;
    else if (a.status === 'revoked') revoked++;
    else if (a.status !== 'valid') {
      invalid++;
      reason ??= a.reason;
    } else if (!step.signers.includes(a.signer.name)) otherSigners.add(a.signer.name);
  }
  if (revoked > 0) found.push(`${plural(revoked, 'statement')} signed by a revoked key`);
  if (invalid > 0) found.push(`${plural(invalid, 'statement')} not valid${reason === undefined ? '' : ` (${reason.slice(0, 200)})`}`);
  if (otherSigners.size > 0) found.push(`signed only by ${[...otherSigners].slice(0, 5).join(', ')}, not a signer of this step`);
  if (otherType > 0) found.push(`${plural(otherType, 'statement')} of another predicate type than ${step.predicateType}`);
  if (malformed.length > 0) found.push(`${plural(malformed.length, 'statement')} unreadable: ${malformed[0] ?? ''}`);
  const base = `no valid attestation of step ${step.name} signed by ${step.signers.join(' or ')}`;
  return found.length === 0 ? base : `${base} (found ${found.join('; ')})`;
}

/** The first material of `evidence` that neither the step before produced nor a root covers. */
function firstGap(evidence: StepEvidence, produced: ReadonlySet<string> | null, roots: Roots): ChainResource | undefined {
  return evidence.materials.find((m) => !((m.digest !== null && produced?.has(m.digest) === true) || roots.matches(m)));
}

function gapMessage(step: string, previous: string | null, material: ChainResource): string {
  return previous === null
    ? `${step} material ${label(material)} matches no root (the first step, ${step}, must consume only roots)`
    : `${step} material ${label(material)} is not the product of an attested ${previous} step and matches no root`;
}

/**
 * Checks `chain` against the candidates' evidence and the training provenance (the CEL input's
 * `provenance`). PASS lists the connected evidence in `satisfiedBy`; FAIL names the first gap and
 * its step; ERROR when there is more evidence than the bound.
 */
export function checkChain(chain: PolicyChain, attestations: readonly CandidateAttestation[], provenance: Readonly<Record<string, unknown>> | null): RequirementResult {
  const result = (outcome: 'PASS' | 'FAIL' | 'ERROR', message: string, satisfiedBy: readonly string[] = []): RequirementResult => ({
    name: 'chain',
    source: 'policy',
    result: outcome,
    message,
    satisfiedBy,
  });
  const evidence = attestations.filter((a) => a.role === 'evidence');
  if (evidence.length > MAX_EVIDENCE_STATEMENTS) {
    return result('ERROR', `${evidence.length} evidence statements is more than the limit of ${MAX_EVIDENCE_STATEMENTS}`);
  }

  // Valid evidence by step, for the steps' own predicate type and signers.
  const byStep = new Map<string, StepEvidence[]>();
  const malformedByStep = new Map<string, string[]>();
  const wanted = new Map(chain.steps.map((s) => [s.name, s]));
  for (const a of evidence) {
    if (a.status !== 'valid') continue;
    const reading = readEvidence(a);
    if (reading.kind === 'none') continue;
    const stepName = reading.kind === 'step' ? reading.evidence.step : reading.step;
    const step = wanted.get(stepName);
    if (step === undefined || a.predicateType !== step.predicateType || !step.signers.includes(a.signer.name)) continue;
    if (reading.kind === 'malformed') appendTo(malformedByStep, stepName, reading.problem);
    else appendTo(byStep, stepName, reading.evidence);
  }

  const roots = new Roots(chain.roots);
  const connected: StepEvidence[] = [];
  let previous: { name: string; products: Set<string>; unconnected: { evidence: StepEvidence; gap: ChainResource }[] } | null = null;
  for (const step of chain.steps) {
    const candidates = byStep.get(step.name) ?? [];
    if (candidates.length === 0) return result('FAIL', missingStep(step, evidence, malformedByStep.get(step.name) ?? []));
    const here: StepEvidence[] = [];
    const unconnected: { evidence: StepEvidence; gap: ChainResource }[] = [];
    for (const candidate of candidates) {
      const gap = firstGap(candidate, previous?.products ?? null, roots);
      if (gap === undefined) here.push(candidate);
      else unconnected.push({ evidence: candidate, gap });
    }
    const first = unconnected[0];
    if (here.length === 0 && first !== undefined) return result('FAIL', gapMessage(step.name, previous?.name ?? null, first.gap));
    connected.push(...here);
    previous = { name: step.name, products: new Set(here.flatMap((e) => e.products)), unconnected };
  }
  if (previous === null) return result('ERROR', 'the chain lists no steps');

  const facts = trainingFacts(provenance);
  if (typeof facts === 'string') return result('FAIL', facts);
  if (!previous.products.has(facts.trainingData)) {
    // A statement that would have produced it but does not connect: name its gap, which is the real cause.
    const via = previous.unconnected.find((u) => u.evidence.products.includes(facts.trainingData));
    const before = chain.steps.at(-2)?.name ?? null;
    return result(
      'FAIL',
      via === undefined
        ? `training data ${facts.trainingData} is not the product of an attested ${previous.name} step`
        : `training data ${facts.trainingData} is not the product of an attested ${previous.name} step: ${gapMessage(previous.name, before, via.gap)}`,
    );
  }
  const unconsumed = new Set(facts.preprocessing.map((script) => script.digest));
  for (const e of connected) for (const m of e.materials) if (m.digest !== null) unconsumed.delete(m.digest);
  for (const script of facts.preprocessing) {
    if (unconsumed.has(script.digest)) {
      return result('FAIL', `preprocessing script ${script.name} ${script.digest} named by the training provenance is not a material of an attested step`);
    }
  }

  const digests = [...new Set(connected.map((e) => e.attestation.digest))];
  const steps = chain.steps.map((s) => s.name).join(' → ');
  return result(
    'PASS',
    `training data ${facts.trainingData} traced through ${steps} (${plural(digests.length, 'evidence statement')}) to roots; ${plural(facts.preprocessing.length, 'preprocessing script')} attested`,
    digests,
  );
}
