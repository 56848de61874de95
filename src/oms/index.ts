/**
 * OpenSSF Model Signing (OMS) in Custody: sign a model, verify a model against its signature
 * (key, X.509 chain or Sigstore keyless), and match signed resources to a model's files.
 * Spec: ../../shared/reference/oms.md, ../../shared/SPEC.md §4.1.
 */
export { legacyPae, pythonBytesRepr } from './legacy-pae.js';
export { relativeIgnorePaths, scanOmsModel, type OmsModelFiles, type OmsScanOptions } from './oms-model-files.js';
export {
  buildOmsStatement,
  compareOmsResources,
  OMS_DEFAULT_IGNORE_PATHS,
  OMS_LEGACY_PREDICATE_TYPE,
  OMS_PREDICATE_TYPE,
  parseOmsStatement,
  type OmsComparison,
  type OmsResource,
  type OmsStatement,
} from './oms-statement.js';
export { createModelSignature, signModel, type SignedModel, type SignModelOptions } from './sign-model.js';
export { loadTrustedRoot, verifySigstoreKeyless, type KeylessPolicy, type KeylessSigner } from './sigstore-keyless.js';
export {
  verifyModel,
  verifyOmsBundle,
  type ModelVerification,
  type OmsVerificationMethod,
  type VerificationStage,
  type VerifiedOmsSignature,
  type VerifyModelOptions,
} from './verify-model.js';
export { parseCertificatesDer, parseCertificatesPem, verifyCertificateChain, type ChainOptions, type VerifiedCertificateChain } from './x509-chain.js';
