/**
 * Signs a model as OpenSSF Model Signing v1.0, in the exact shape `model_signing` (v1.1+) writes
 * and verifies: a Sigstore bundle v0.3 whose DSSE envelope carries the OMS statement, with
 * `publicKey.hint` = hex SHA-256 of the SPKI PEM (key method) or `x509CertificateChain`
 * [leaf, …] (certificate method), `tlogEntries: []` and `keyid: ""`; `files` serialization with
 * sha256, `allow_symlinks: false` and every excluded path recorded in `ignore_paths`.
 * Spec: ../../shared/reference/oms.md §1, §2.4 ("Signers"), §6.4.
 */
import { X509Certificate } from 'node:crypto';
import nodePath from 'node:path';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../crypto/dsse.js';
import { serializeStatement } from '../crypto/in-toto-statement.js';
import { certificateChainBundle, publicKeyBundle } from '../crypto/sigstore-bundle.js';
import { parsePrivateKey } from '../crypto/signing-keys.js';
import { CustodyError } from '../domain/errors.js';
import { relativeIgnorePaths, scanOmsModel } from './oms-model-files.js';
import { buildOmsStatement, OMS_DEFAULT_IGNORE_PATHS } from './oms-statement.js';
import { parseCertificatesPem } from './x509-chain.js';

export interface SignModelOptions {
  /** The model directory, or the file of a single-file model. */
  readonly modelPath: string;
  /** PKCS#8 or SEC1 PEM: Ed25519, P-256 or P-384 (model_signing itself verifies only ECDSA). */
  readonly privateKeyPem: string;
  /** Where the bundle will be written; left out of the model (and recorded) when inside it. */
  readonly signaturePath?: string;
  /** More paths (relative to the model, or absolute) to leave out and record. */
  readonly ignorePaths?: readonly string[];
  /** Certificate method: PEM text of [leaf, intermediates…]; the leaf must hold the signing key. */
  readonly certificateChainPem?: string;
  readonly onScanned?: (totals: { readonly files: number; readonly bytes: number }) => void;
  readonly onProgress?: (bytesHashed: number) => void;
}

/** A written signature: the bundle text and what it signs. */
export interface SignedModel {
  /** The bundle JSON, 2-space indented, no trailing newline. */
  readonly bundleJson: string;
  /** `sha256:` root digest (the statement subject). */
  readonly rootDigest: `sha256:${string}`;
  readonly files: number;
  /** Key id (hex SHA-256 of the DER SPKI) of the signing key. */
  readonly keyId: string;
  readonly ignorePaths: readonly string[];
}

/**
 * Hashes the model and returns its OMS signature bundle text (2-space indented JSON).
 * @throws CustodyError for an unusable key (INVALID_PUBLIC_KEY, UNSUPPORTED_ALGORITHM, USAGE),
 *   a leaf certificate that does not hold the key (USAGE), or a model `scanModel` refuses.
 */
export async function signModel(options: SignModelOptions): Promise<string> {
  return (await createModelSignature(options)).bundleJson;
}

/** `signModel` with what was signed: the root digest, file count, key id and recorded ignores. */
export async function createModelSignature(options: SignModelOptions): Promise<SignedModel> {
  const key = parsePrivateKey(options.privateKeyPem);
  const chain = options.certificateChainPem === undefined ? null : parseCertificatesPem(options.certificateChainPem, 'the certificate chain file');
  const leaf = chain?.[0];
  if (leaf !== undefined && !leaf.publicKey.export({ type: 'spki', format: 'der' }).equals(key.publicKey.key.export({ type: 'spki', format: 'der' }))) {
    throw new CustodyError('USAGE', 'the first certificate of the chain (the leaf) does not hold the signing key');
  }

  const excluded = [...(options.ignorePaths ?? []), ...(options.signaturePath === undefined ? [] : [nodePath.resolve(options.signaturePath)])];
  const model = await scanOmsModel(options.modelPath, {
    ignorePaths: excluded,
    ...(options.onScanned === undefined ? {} : { onScanned: options.onScanned }),
    ...(options.onProgress === undefined ? {} : { onProgress: options.onProgress }),
  });
  // Code-point order of the full name (the spec's order; the scanner's UTF-8 byte order is the
  // same). A single-file model's resource is named "." — what the Python reference signer
  // writes and its verifier expects (it builds its own manifest with "."); the spec would use
  // the file name, and Custody's verifier accepts both.
  const resources = model.singleFile ? model.files.map((f) => ({ name: '.', digest: f.sha256 })) : model.files.map((f) => ({ name: f.path, digest: f.sha256 }));
  const ignorePaths = [...new Set([...OMS_DEFAULT_IGNORE_PATHS, ...relativeIgnorePaths(model.root, model.singleFile, excluded)])];
  const statement = buildOmsStatement({ modelName: nodePath.basename(model.root), resources, ignorePaths });
  const envelope = signEnvelope(IN_TOTO_PAYLOAD_TYPE, serializeStatement(statement), key, '');
  const bundle =
    chain === null ? publicKeyBundle(envelope, key.publicKey.omsHint) : certificateChainBundle(envelope, chain.map((c: X509Certificate) => c.raw));
  const root = statement.subject[0]?.digest.sha256 ?? '';
  return {
    bundleJson: JSON.stringify(bundle, null, 2),
    rootDigest: `sha256:${root}`,
    files: resources.length,
    keyId: key.publicKey.keyId,
    ignorePaths,
  };
}
