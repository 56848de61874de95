/**
 * The policy engine (SPEC §6): policy documents, the effective policy compiled with the server
 * baseline, evaluation under bounds, and the embedded tests. Pure: no store, no HTTP.
 */
export {
  diffPolicies,
  formatPolicyDocument,
  MAX_POLICY_DOCUMENT_BYTES,
  parsePolicyDocument,
  policyDigest,
  validatePolicyDocument,
  type ChainStep,
  type Gate,
  type PolicyDocument,
  type PolicyTest,
  type Requirement,
} from './policy-document.js';
export { parseBaseline, parseBaselineText } from './parse-baseline.js';
export { compilePolicy, NO_POLICY_DIGEST, type Baseline, type CompiledGate, type CompiledPolicy, type EffectiveRequirement } from './compile-policy.js';
export {
  closePolicyEvaluator,
  DEFAULT_POLICY_TIME_LIMIT_MS,
  evaluatePolicy,
  type AttestationStatus,
  type CandidateAttestation,
  type CandidateRole,
  type CandidateSubject,
  type CheckResult,
  type Evaluation,
  type GateResult,
  type PolicyInput,
  type RequirementResult,
} from './evaluate-policy.js';
export { MAX_INPUT_ATTESTATIONS, MAX_INPUT_BYTES, MAX_PREDICATE_BYTES } from './policy-input.js';
export { loadPolicyFixture, MAX_FIXTURE_BYTES, readPolicyFixtures, runPolicyTests, type PolicyFixture, type PolicyTestOptions, type PolicyTestResult } from './policy-tests.js';
export { fixtureToPolicyInput, policyFixtureSchema } from './policy-fixture.js';
export { checkChain, type PolicyChain } from './chain.js';
export { EVIDENCE_PREDICATE_TYPES, LINK_PREDICATE_V03, MAX_EVIDENCE_RESOURCES, MAX_EVIDENCE_STATEMENTS } from './chain-evidence.js';
export { requirementsSchema as baselineSchema, RESERVED_INPUT_NAMES } from './policy-schema.js';
