/**
 * The public SDK entry (`import { CustodyClient } from 'custody'`). Named exports only; nothing
 * else of the package is public API.
 */
export {
  CustodyClient,
  type AddKeyRequest,
  type AttestationBody,
  type AttestationsPage,
  type KeyBody,
  type KeysPage,
  type LineageBody,
  type LineageDirection,
  type LineageNodeBody,
  type MetadataRowBody,
  type ModelsPage,
  type PushOptions,
  type PushResult,
  type VerifiedMetadataBody,
  type VersionBody,
  type VersionsPage,
  type Whoami,
} from './custody-client.js';
export type { PullOptions, PullResult } from './pull-version.js';
export {
  IdentityApi,
  type BindingBody,
  type BindingsPage,
  type CreatePrincipalRequest,
  type CreateTokenRequest,
  type CreatedTokenBody,
  type GrantRoleRequest,
  type PrincipalBody,
  type PrincipalKind,
  type PrincipalsPage,
  type TokenBody,
  type TokensPage,
} from './identity-api.js';
export {
  PromotionApi,
  type DecisionBody,
  type DecisionsPage,
  type EffectivePolicyBody,
  type EnvironmentRecordBody,
  type EnvironmentStatusBody,
  type EvaluationBody,
  type GateResultBody,
  type ModelStatusBody,
  type PoliciesPage,
  type PolicyBody,
  type PromoteOptions,
  type PushPolicyRequest,
  type QuarantineBody,
  type RequirementResultBody,
  type VsaKeyBody,
} from './promotion-api.js';
export { checkEnvironmentPlacement, type EnvironmentPlacement, type VsaKeySource } from './environment-check.js';
export { LogWitness } from './log-witness.js';
export { checkAttestations, type AttestationReport, type AttestationVerdict, type InvalidAttestationCode } from './attestation-check.js';
export { scanModel, omsResourcesFor, type LocalModel, type LocalFile, type ScanOptions } from './local-model.js';
export { CustodyError, type ErrorCode } from '../domain/errors.js';
export { parseModelRef, parseModelName, type ModelRef, type ModelName } from '../domain/model-ref.js';
