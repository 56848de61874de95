/**
 * Verifies a model against its OpenSSF Model Signing signature, offline, as `model_signing
 * verify` does, in the stages of reference/oms.md §6.3: parse (the file is JSON), bundle (a
 * Sigstore bundle with one in-toto DSSE signature), material (the key, certificate chain or
 * keyless certificate the method asks for), signature (standard DSSE PAE, then the v0.2 PAE for
 * key and certificate bundles), statement (the OMS predicate and its root digest) and manifest
 * (every signed file present and unchanged, nothing unsigned unless allowed).
 * Every failure is VERIFICATION_FAILED with `details.stage`; the message names the stage and,
 * for the manifest, the files.
 * Spec: ../../shared/reference/oms.md §1, §3, §6; ../../shared/SPEC.md §4.1.
 */
import { open, type FileHandle } from 'node:fs/promises';
import nodePath from 'node:path';
import { IN_TOTO_PAYLOAD_TYPE, verifyEnvelopeSignature, type DsseEnvelope } from '../crypto/dsse.js';
import { parseBundle, type ParsedBundle } from '../crypto/sigstore-bundle.js';
import { keyHints, parsePublicKey, verifyData, type PublicKeyInfo } from '../crypto/signing-keys.js';
import { toDigest, type Digest } from '../domain/digest.js';
import { CustodyError, isCustodyError } from '../domain/errors.js';
import { legacyPae } from './legacy-pae.js';
import { scanOmsModel, type OmsModelFiles } from './oms-model-files.js';
import { compareOmsResources, parseOmsStatement, type OmsStatement } from './oms-statement.js';
import { loadTrustedRoot, verifySigstoreKeyless } from './sigstore-keyless.js';
import { oneLine, parseCertificatesDer, parseCertificatesPem, verifyCertificateChain } from './x509-chain.js';

export type VerificationStage = 'parse' | 'bundle' | 'material' | 'signature' | 'statement' | 'manifest';

/** How the signer is trusted: a public key, X.509 trust anchors, or a Sigstore identity. */
export type OmsVerificationMethod =
  | { readonly kind: 'key'; readonly publicKeyPem: string }
  | { readonly kind: 'certificate'; readonly anchorsPem: readonly string[] }
  | { readonly kind: 'sigstore'; readonly identity: string; readonly issuer: string; readonly trustedRootJson: string };

export interface VerifyModelOptions {
  /** The model directory, or the file of a single-file model. */
  readonly modelPath: string;
  /** The signature bundle (`model.sig`); left out of the model when it lies inside it. */
  readonly signaturePath: string;
  readonly method: OmsVerificationMethod;
  /** More paths (relative to the model) to leave out, besides those the signature records. */
  readonly ignorePaths?: readonly string[];
  /** Tolerate files on disk that were not signed (every signed file must still match). */
  readonly ignoreUnsignedFiles?: boolean;
  /** Leave out `.git`, `.gitattributes`, `.github`, `.gitignore` at the top level (default true). */
  readonly ignoreGitPaths?: boolean;
  /** Verification time for certificate validity (default now). */
  readonly now?: Date;
  readonly onScanned?: (totals: { readonly files: number; readonly bytes: number }) => void;
  readonly onProgress?: (bytesHashed: number) => void;
}

/** A signature that checked out, and who made it. */
export interface VerifiedOmsSignature {
  readonly method: OmsVerificationMethod['kind'];
  /** Human description: the key id, the certificate subject and anchor, or SAN + issuer. */
  readonly signer: string;
  /** Key id (hex SHA-256 of the DER SPKI) of the key that signed, for key and certificate. */
  readonly keyId: string | null;
  /** True when only the v0.2 PAE verified (reference/oms.md §1.6). */
  readonly legacySignature: boolean;
  readonly statement: OmsStatement;
}

/** A model that matches its signature. */
export interface ModelVerification {
  readonly method: OmsVerificationMethod['kind'];
  readonly signer: string;
  readonly keyId: string | null;
  readonly predicateType: string;
  /** `sha256:` root digest; null for the legacy v0.1 predicate, which has none. */
  readonly rootDigest: Digest | null;
  readonly legacySignature: boolean;
  /** The verified files as found on disk. */
  readonly files: readonly { readonly path: string; readonly sha256: string }[];
}

const MAX_BUNDLE_BYTES = 8 * 1024 * 1024;
const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';
const MAX_NAMES_IN_MESSAGE = 20;

function fail(stage: VerificationStage, message: string, extra: { cause?: unknown; details?: Record<string, unknown> } = {}): CustodyError {
  return new CustodyError('VERIFICATION_FAILED', `${stage}: ${message}`, {
    ...(extra.cause === undefined ? {} : { cause: extra.cause }),
    details: { stage, ...extra.details },
  });
}

/** Runs one stage: a VERIFICATION_FAILED passes through, a bundle or statement error gets the stage. */
function inStage<T>(stage: VerificationStage, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isCustodyError(error) && error.code === 'VERIFICATION_FAILED') throw error;
    if (isCustodyError(error) && (error.code === 'INVALID_BUNDLE' || error.code === 'INVALID_STATEMENT' || error.code === 'INVALID_PUBLIC_KEY' || error.code === 'UNSUPPORTED_ALGORITHM')) {
      throw fail(stage, error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * Verifies the bundle bytes alone (stages parse to statement), without looking at model files.
 * @throws CustodyError VERIFICATION_FAILED with details.stage; USAGE, INVALID_PUBLIC_KEY,
 *   UNSUPPORTED_ALGORITHM or VALIDATION_FAILED when the trust input itself is bad.
 */
export function verifyOmsBundle(bundleBytes: Uint8Array, method: OmsVerificationMethod, options: { readonly now?: Date } = {}): VerifiedOmsSignature {
  if (bundleBytes.length === 0) throw fail('parse', 'the signature file is empty');
  if (bundleBytes.length > MAX_BUNDLE_BYTES) throw fail('parse', `the signature file is larger than ${MAX_BUNDLE_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bundleBytes));
  } catch (error) {
    throw fail('parse', 'the signature file is not JSON', { cause: error });
  }
  const bundle = inStage('bundle', () => parseBundle(bundleBytes, { maxBytes: MAX_BUNDLE_BYTES }));
  inStage('bundle', () => {
    checkEnvelope(bundle);
  });
  const envelope = bundle.envelope;

  let signer: string;
  let key: PublicKeyInfo | null = null;
  if (method.kind === 'sigstore') {
    if (bundle.material.kind === 'publicKey') throw fail('material', 'the bundle is signed with a plain key, not Sigstore keyless; verify it with --key');
    // A keyless bundle always has its Rekor entry; a chain without one is the certificate method.
    if (bundle.material.kind === 'x509CertificateChain' && bundle.tlogEntries.length === 0) {
      throw fail('material', `the bundle carries ${describeMaterial(bundle)} and no transparency log entry, not Sigstore keyless material`);
    }
    const trust = loadTrustedRoot(method.trustedRootJson);
    const verified = verifySigstoreKeyless(json, trust, { identity: method.identity, issuer: method.issuer });
    signer = `${verified.identity} (issuer ${verified.issuer})`;
  } else if (method.kind === 'key') {
    const given = parsePublicKey(method.publicKeyPem);
    key = inStage('material', () => checkKeyMaterial(bundle, given));
    signer = `public key ${key.keyId}`;
  } else {
    const anchors = method.anchorsPem.flatMap((pem, i) => parseCertificatesPem(pem, `trust anchor file ${i + 1}`));
    const chain = inStage('material', () => {
      if (bundle.material.kind !== 'x509CertificateChain') throw fail('material', `the bundle carries ${describeMaterial(bundle)}, not an X.509 certificate chain`);
      return verifyCertificateChain(parseCertificatesDer(bundle.material.certificates), anchors, options.now === undefined ? {} : { now: options.now });
    });
    key = chain.leafKey;
    signer = `certificate "${oneLine(chain.leaf.subject)}" under trust anchor "${oneLine(chain.anchor.subject)}"`;
  }

  let legacySignature = false;
  if (key !== null) {
    if (!verifyEnvelopeSignature(envelope, key)) {
      legacySignature = verifiesLegacy(envelope, key);
      if (!legacySignature) throw fail('signature', 'the DSSE signature does not verify with the signer\'s key (the bundle was altered or signed by another key)');
    }
  }
  const statement = inStage('statement', () => parseOmsStatement(envelope.payload));
  return { method: method.kind, signer, keyId: key?.keyId ?? null, legacySignature, statement };
}

/**
 * Verifies a model against its signature file, all stages.
 * @throws CustodyError VERIFICATION_FAILED (details.stage, and for the manifest `missing`,
 *   `extra`, `changed`), USAGE when a path does not exist, or a trust-input error.
 */
export async function verifyModel(options: VerifyModelOptions): Promise<ModelVerification> {
  const signaturePath = nodePath.resolve(options.signaturePath);
  const bytes = await readSignatureFile(signaturePath, options.signaturePath);
  const verified = verifyOmsBundle(bytes, options.method, options.now === undefined ? {} : { now: options.now });
  const { statement } = verified;

  let model: OmsModelFiles;
  try {
    model = await scanOmsModel(options.modelPath, {
      ignorePaths: [...(options.ignorePaths ?? []), ...statement.ignorePaths, signaturePath],
      ignoreGitPaths: options.ignoreGitPaths ?? true,
      allowEmpty: true,
      ...(options.onScanned === undefined ? {} : { onScanned: options.onScanned }),
      ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
    });
  } catch (error) {
    if (isCustodyError(error) && (error.code === 'SYMLINK_NOT_ALLOWED' || error.code === 'INVALID_PATH')) {
      throw fail('manifest', error.message, { cause: error });
    }
    throw error;
  }
  const comparison = compareOmsResources(statement.resources, model.files, {
    singleFile: model.singleFile,
    ...(options.ignoreUnsignedFiles === undefined ? {} : { ignoreUnsignedFiles: options.ignoreUnsignedFiles }),
  });
  const problems = [
    describeNames('changed', comparison.changed),
    describeNames('missing', comparison.missing),
    describeNames('not signed', comparison.extra),
  ].filter((p) => p !== '');
  if (problems.length > 0) {
    throw fail('manifest', `the model does not match its signature: ${problems.join('; ')}`, {
      details: { missing: comparison.missing, extra: comparison.extra, changed: comparison.changed },
    });
  }
  return {
    method: verified.method,
    signer: verified.signer,
    keyId: verified.keyId,
    predicateType: statement.predicateType,
    rootDigest: statement.rootDigest === null ? null : toDigest(statement.rootDigest),
    legacySignature: verified.legacySignature,
    files: model.files.map((f) => ({ path: f.path, sha256: f.sha256 })),
  };
}

/** Reads the bundle, refusing a huge file before reading it (parse stage) and a missing one (USAGE). */
async function readSignatureFile(absolute: string, given: string): Promise<Buffer> {
  let handle: FileHandle;
  try {
    handle = await open(absolute, 'r');
  } catch (error) {
    throw new CustodyError('USAGE', `cannot read the signature file ${given}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { cause: error });
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new CustodyError('USAGE', `the signature ${given} is not a regular file`);
    if (stats.size > MAX_BUNDLE_BYTES) throw fail('parse', `the signature file is larger than ${MAX_BUNDLE_BYTES} bytes`);
    return await handle.readFile();
  } finally {
    await handle.close();
  }
}

/** The bundle-stage checks the generic parser leaves to us (reference/oms.md §6.3 "bundle"). */
function checkEnvelope(bundle: ParsedBundle): void {
  if (!bundle.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) throw fail('bundle', `mediaType ${JSON.stringify(bundle.mediaType).slice(0, 100)} is not a Sigstore bundle`);
  if (bundle.envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    throw fail('bundle', `payloadType ${JSON.stringify(bundle.envelope.payloadType).slice(0, 100)} is not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  if (bundle.envelope.signatures.length !== 1) throw fail('bundle', `the envelope must hold exactly one signature, not ${bundle.envelope.signatures.length}`);
}

/** Key method: the bundle names a public key, and it is the given one (hint and/or raw bytes). */
function checkKeyMaterial(bundle: ParsedBundle, given: PublicKeyInfo): PublicKeyInfo {
  const material = bundle.material;
  if (material.kind !== 'publicKey') throw fail('material', `the bundle carries ${describeMaterial(bundle)}, not a public key`);
  if (material.hint !== '' && !keyHints(given).includes(material.hint)) {
    throw fail('material', `the bundle names key ${JSON.stringify(material.hint).slice(0, 100)}, which is not the given key ${given.keyId} (hint ${given.omsHint})`);
  }
  if (material.rawBytes !== null) {
    // model_signing ≤ 1.0 put the PEM text itself in rawBytes; it must be the same key.
    const embedded = parsePublicKey(material.rawBytes);
    if (embedded.keyId !== given.keyId) throw fail('material', `the bundle carries public key ${embedded.keyId}, not the given key ${given.keyId}`);
  }
  return given;
}

/** v0.2 bundles signed "DSSEV1 … repr(payload)" with SHA-256 whatever the curve (ECDSA only). */
function verifiesLegacy(envelope: DsseEnvelope, key: PublicKeyInfo): boolean {
  const signature = envelope.signatures[0];
  if (signature === undefined || key.algorithm === 'ed25519') return false;
  return verifyData(key, legacyPae(envelope.payloadType, envelope.payload), signature.sig, { hash: 'sha256' });
}

function describeMaterial(bundle: ParsedBundle): string {
  switch (bundle.material.kind) {
    case 'publicKey':
      return 'a public key (verify with --key)';
    case 'x509CertificateChain':
      return 'an X.509 certificate chain (verify with --cert-chain)';
    case 'certificate':
      return 'a Sigstore keyless certificate (verify with --identity, --issuer and --trusted-root)';
  }
}

function describeNames(label: string, names: readonly string[]): string {
  if (names.length === 0) return '';
  const shown = names.slice(0, MAX_NAMES_IN_MESSAGE).join(', ');
  const more = names.length > MAX_NAMES_IN_MESSAGE ? ` and ${names.length - MAX_NAMES_IN_MESSAGE} more` : '';
  return `${names.length} ${label}: ${shown}${more}`;
}
