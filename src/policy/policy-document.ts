/**
 * Promotion policy documents (SPEC §6): parsed from YAML or JSON, validated strictly, normalised
 * (defaults filled, keys in one order), named by the SHA-256 of their RFC 8785 form, and diffed
 * line by line for `policy history` (§6.2).
 */
import { stringify as stringifyYaml } from 'yaml';
import { canonicalJson } from '../crypto/canonical-json.js';
import { sha256Hex } from '../domain/digest.js';
import { unifiedLineDiff } from './line-diff.js';
import { parsePolicyText } from './parse-policy-text.js';
import { policyDocumentSchema, validatePolicyValue, type requirementSchema } from './policy-schema.js';
import type { z } from 'zod';

/** An attestation the version must carry (§6.1): `threshold` distinct keys among `signers`. */
export interface Requirement {
  readonly predicateType: string;
  /** Signer key names. */
  readonly signers: readonly string[];
  /** Distinct valid signer keys needed; 1 when the document leaves it out. */
  readonly threshold: number;
  /** Shown when the requirement does not hold. */
  readonly message?: string;
}
export interface Gate { readonly name: string; readonly expr: string; readonly message: string }
export interface ChainStep { readonly name: string; readonly predicateType: string; readonly signers: readonly string[] }
export interface PolicyTest {
  readonly name: string;
  /** A fixture file relative to the document, or the fixture itself (see `policy-fixture.ts`). */
  readonly input: { readonly fixture: string } | { readonly inline: unknown };
  readonly expect: 'allow' | 'deny';
}
export interface PolicyDocument {
  readonly apiVersion: 'custody.dev/v1';
  readonly kind: 'PromotionPolicy';
  readonly metadata: { readonly name: string; readonly environment: string };
  readonly spec: {
    readonly requireFrom?: string;
    readonly attestations: Readonly<Record<string, Requirement>>;
    readonly gates: readonly Gate[];
    readonly chain?: { readonly steps: readonly ChainStep[]; readonly roots: readonly string[] };
    readonly tests: readonly PolicyTest[];
  };
}

/** A policy document is at most this many bytes of text. */
export const MAX_POLICY_DOCUMENT_BYTES = 512 * 1024;

/**
 * Parses YAML or JSON text (bounded size, aliases capped, one document) and validates it with a
 * strict schema: unknown keys refused, requirement names are CEL identifiers not clashing with
 * the input's reserved names, gate and test names unique. Errors: CustodyError('POLICY_INVALID')
 * naming the path, e.g. `production.yaml: spec.gates.1.expr: must not be empty`.
 */
export function parsePolicyDocument(text: string, source = 'policy'): PolicyDocument {
  const value = parsePolicyText(text, { maxBytes: MAX_POLICY_DOCUMENT_BYTES, source, code: 'POLICY_INVALID' });
  return validatePolicyDocument(value, source);
}

/** Validates an already-parsed value (a stored document, a JSON request body) as `parsePolicyDocument` does. */
export function validatePolicyDocument(value: unknown, source = 'policy'): PolicyDocument {
  const parsed = validatePolicyValue(policyDocumentSchema, value, source, 'POLICY_INVALID');
  const spec = parsed.spec;
  return {
    apiVersion: parsed.apiVersion,
    kind: parsed.kind,
    metadata: { name: parsed.metadata.name, environment: parsed.metadata.environment },
    spec: {
      ...(spec.requireFrom === undefined ? {} : { requireFrom: spec.requireFrom }),
      attestations: normaliseRequirements(spec.attestations),
      gates: spec.gates.map((g) => ({ name: g.name, expr: g.expr, message: g.message })),
      ...(spec.chain === undefined
        ? {}
        : {
            chain: {
              steps: spec.chain.steps.map((s) => ({ name: s.name, predicateType: s.predicateType, signers: [...s.signers] })),
              roots: [...spec.chain.roots],
            },
          }),
      tests: spec.tests.map((t) => ({
        name: t.name,
        input: t.input.fixture === undefined ? { inline: t.input.inline } : { fixture: t.input.fixture },
        expect: t.expect,
      })),
    },
  };
}

/** Requirements in name order with defaults filled, so equal meaning gives equal digests. */
export function normaliseRequirements(record: Readonly<Record<string, z.output<typeof requirementSchema>>>): Readonly<Record<string, Requirement>> {
  const out: Record<string, Requirement> = {};
  for (const name of Object.keys(record).sort()) {
    const r = record[name];
    if (r === undefined) continue;
    out[name] = {
      predicateType: r.predicateType,
      signers: [...r.signers],
      threshold: r.threshold,
      ...(r.message === undefined ? {} : { message: r.message }),
    };
  }
  return out;
}

/** `sha256:<hex>` of the RFC 8785 canonical JSON of the (normalised) document. */
export function policyDigest(doc: PolicyDocument): string {
  return `sha256:${sha256Hex(canonicalJson(doc))}`;
}

/** The document as YAML in its normalised key order: what `policy show` prints and `diffPolicies` compares. */
export function formatPolicyDocument(doc: PolicyDocument): string {
  return stringifyYaml(doc, { lineWidth: 0, aliasDuplicateObjects: false });
}

/**
 * A unified-style line diff from `before` to `after` (their normalised YAML), headed by both
 * digests; `before` null (the first version) shows every line as added; '' when equal.
 */
export function diffPolicies(before: PolicyDocument | null, after: PolicyDocument): string {
  const lines = (doc: PolicyDocument | null): string[] => (doc === null ? [] : formatPolicyDocument(doc).replace(/\n$/, '').split('\n'));
  return unifiedLineDiff(lines(before), lines(after), {
    before: before === null ? '(no policy)' : policyDigest(before),
    after: policyDigest(after),
  });
}
