/**
 * Shared material for the policy tests: the shipped seed policy (examples/policies/) and the
 * inputs built from its fixtures, plus small edits of those inputs.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fixtureToPolicyInput, policyFixtureSchema } from '../../src/policy/policy-fixture.js';
import { parsePolicyDocument, type PolicyDocument } from '../../src/policy/policy-document.js';
import type { CandidateAttestation, PolicyInput } from '../../src/policy/policy-input.js';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const EXAMPLES = path.join(REPO, 'examples', 'policies');

export const TRAINING = 'https://slsa.dev/provenance/v1';
export const SCAN = 'https://in-toto.io/attestation/vulns/v0.2';
export const SANDBOX = 'https://in-toto.io/attestation/test-result/v0.1';
export const REDTEAM = 'https://custody.dev/attestation/red-team/v1';

export function exampleDocument(name: 'production' | 'staging'): PolicyDocument {
  return parsePolicyDocument(readFileSync(path.join(EXAMPLES, `${name}.yaml`), 'utf8'), `${name}.yaml`);
}

/** The PolicyInput of one of the shipped fixtures. */
export function fixtureInput(file: string, environment = 'production'): PolicyInput {
  const raw: unknown = JSON.parse(readFileSync(path.join(EXAMPLES, 'fixtures', file), 'utf8'));
  return fixtureToPolicyInput(policyFixtureSchema.parse(raw), environment);
}

/** `input` with every attestation of `predicateType` replaced by what `edit` returns (null drops it). */
export function editAttestations(
  input: PolicyInput,
  predicateType: string,
  edit: (a: CandidateAttestation) => CandidateAttestation | null,
): PolicyInput {
  const attestations = input.attestations.flatMap((a) => {
    if (a.predicateType !== predicateType) return [a];
    const edited = edit(a);
    return edited === null ? [] : [edited];
  });
  return { ...input, attestations };
}

/** `input` with one more attestation. */
export function addAttestation(input: PolicyInput, attestation: CandidateAttestation): PolicyInput {
  return { ...input, attestations: [...input.attestations, attestation] };
}

let counter = 0;
/** A valid candidate attestation with a fresh digest. */
export function attestation(predicateType: string, signer: string, keyId: string, predicate: unknown = {}): CandidateAttestation {
  counter += 1;
  return {
    predicateType,
    predicate,
    signer: { name: signer, keyId },
    loggedAt: '2026-11-26T00:00:00Z',
    logIndex: 1000 + counter,
    digest: `sha256:${counter.toString(16).padStart(64, '0')}`,
    status: 'valid',
  };
}
