/**
 * X.509 chain checks for the OMS `certificate` method: the bundle carries
 * `x509CertificateChain` = [leaf, intermediates…] and the verifier is given trust anchors (root
 * certificates). The chain must lead from the leaf to an anchor, each link signed by a CA, every
 * certificate on the path valid at verification time, and the leaf fit for code signing with an
 * Ed25519, P-256 or P-384 key. Roots and intermediates may be RSA (the upstream test PKI is).
 *
 * Validity: the spec says the leaf MUST be within its validity period, while the Python reference
 * validates at the leaf's notBefore (reference/oms.md §2.5), so it never notices expiry. Custody
 * follows the spec and checks the path at the verification time.
 * Spec: ../../shared/reference/oms.md §3 (certificate row), §2.5, §6.3.
 */
import { X509Certificate } from 'node:crypto';
import { X509Certificate as Asn1Certificate } from '@sigstore/core';
import { publicKeyInfoFromKeyObject, type PublicKeyInfo } from '../crypto/signing-keys.js';
import { CustodyError } from '../domain/errors.js';

/** A chain that checked out: the path from leaf to anchor and the leaf's signing key. */
export interface VerifiedCertificateChain {
  readonly leaf: X509Certificate;
  readonly leafKey: PublicKeyInfo;
  /** The trust anchor the chain ended at. */
  readonly anchor: X509Certificate;
  /** Leaf first, anchor last. */
  readonly path: readonly X509Certificate[];
}

export interface ChainOptions {
  /** Verification time (default: now). */
  readonly now?: Date;
}

const CODE_SIGNING_EKU = '1.3.6.1.5.5.7.3.3';
const MAX_CHAIN_LENGTH = 10;
const MAX_ANCHOR_FILE_BYTES = 1024 * 1024;
const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

function chainError(message: string, cause?: unknown): CustodyError {
  return new CustodyError('VERIFICATION_FAILED', `material: ${message}`, {
    ...(cause === undefined ? {} : { cause }),
    details: { stage: 'material' },
  });
}

/**
 * Every certificate in PEM text (a file may hold several). Used for trust anchors given on the
 * command line, so a file without a certificate is a USAGE error.
 */
export function parseCertificatesPem(text: string, source = 'the certificate file'): X509Certificate[] {
  if (text.length > MAX_ANCHOR_FILE_BYTES) throw new CustodyError('USAGE', `${source} is larger than ${MAX_ANCHOR_FILE_BYTES} bytes`);
  const blocks = text.match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new CustodyError('USAGE', `${source} holds no "BEGIN CERTIFICATE" PEM block`);
  return blocks.map((block) => {
    try {
      return new X509Certificate(block);
    } catch (error) {
      throw new CustodyError('USAGE', `${source} holds a certificate that cannot be parsed`, { cause: error });
    }
  });
}

/** Parses the DER certificates of a bundle (hostile bytes): a bad one fails the material stage. */
export function parseCertificatesDer(certificates: readonly Uint8Array[]): X509Certificate[] {
  return certificates.map((der, i) => {
    try {
      return new X509Certificate(Buffer.from(der));
    } catch (error) {
      throw chainError(`certificate ${i} of the bundle's chain cannot be parsed`, error);
    }
  });
}

/**
 * Verifies `[leaf, intermediates…]` against `anchors`.
 * @throws CustodyError VERIFICATION_FAILED (details.stage `material`) naming what failed:
 *   no path to an anchor, a broken link, an expired or not yet valid certificate, a leaf not
 *   allowed to sign code, or a leaf key outside Ed25519/P-256/P-384.
 */
export function verifyCertificateChain(
  chain: readonly X509Certificate[],
  anchors: readonly X509Certificate[],
  options: ChainOptions = {},
): VerifiedCertificateChain {
  const now = options.now ?? new Date();
  const leaf = chain[0];
  if (leaf === undefined) throw chainError('the bundle\'s certificate chain is empty');
  if (chain.length > MAX_CHAIN_LENGTH) throw chainError(`the certificate chain is longer than ${MAX_CHAIN_LENGTH}`);
  if (anchors.length === 0) throw chainError('no trust anchors were given');

  const leafAsn1 = parseAsn1(leaf, 'leaf');
  checkValidity(leafAsn1, 'leaf', leaf.subject, now);
  checkLeafUsage(leaf, leafAsn1);
  let leafKey: PublicKeyInfo;
  try {
    leafKey = publicKeyInfoFromKeyObject(leaf.publicKey);
  } catch (error) {
    throw chainError(`the leaf certificate's key is not usable: ${error instanceof Error ? error.message : String(error)}`, error);
  }

  const path: X509Certificate[] = [leaf];
  const unused = chain.slice(1);
  let current = leaf;
  for (let depth = 0; depth <= MAX_CHAIN_LENGTH; depth++) {
    const anchor = anchors.find((a) => (current !== leaf && a.raw.equals(current.raw)) || issues(a, current));
    if (anchor !== undefined) {
      checkValidity(parseAsn1(anchor, 'trust anchor'), 'trust anchor', anchor.subject, now);
      if (!anchor.raw.equals(current.raw)) path.push(anchor);
      return { leaf, leafKey, anchor, path };
    }
    const index = unused.findIndex((candidate) => issues(candidate, current));
    const issuer = unused[index];
    if (issuer === undefined) {
      throw chainError(`the certificate chain does not lead to a trusted root: no trusted issuer for "${oneLine(current.subject)}" (issuer "${oneLine(current.issuer)}")`);
    }
    unused.splice(index, 1);
    checkValidity(parseAsn1(issuer, 'intermediate'), 'intermediate', issuer.subject, now);
    path.push(issuer);
    current = issuer;
  }
  throw chainError('the certificate chain is too long');
}

/** `issuer` is a CA whose name and key identifier match `child`'s issuer and whose key signed it. */
function issues(issuer: X509Certificate, child: X509Certificate): boolean {
  try {
    // `ca` is OpenSSL's X509_check_ca (basic constraints CA and, if present, keyCertSign);
    // `child.checkIssued(issuer)` (X509_check_issued) compares names and key identifiers;
    // `verify` checks the signature.
    return issuer.ca && child.checkIssued(issuer) && child.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function parseAsn1(cert: X509Certificate, role: string): Asn1Certificate {
  try {
    return Asn1Certificate.parse(cert.raw);
  } catch (error) {
    throw chainError(`the ${role} certificate cannot be parsed`, error);
  }
}

function checkValidity(cert: Asn1Certificate, role: string, subject: string, now: Date): void {
  let notBefore: Date;
  let notAfter: Date;
  try {
    notBefore = cert.notBefore;
    notAfter = cert.notAfter;
  } catch (error) {
    throw chainError(`the ${role} certificate has no readable validity period`, error);
  }
  if (now.getTime() > notAfter.getTime()) {
    throw chainError(`the ${role} certificate "${oneLine(subject)}" expired on ${notAfter.toISOString()} (checked at ${now.toISOString()})`);
  }
  if (now.getTime() < notBefore.getTime()) {
    throw chainError(`the ${role} certificate "${oneLine(subject)}" is not valid before ${notBefore.toISOString()} (checked at ${now.toISOString()})`);
  }
}

/** model_signing's rule: KeyUsage digitalSignature OR ExtendedKeyUsage codeSigning. */
function checkLeafUsage(leaf: X509Certificate, asn1: Asn1Certificate): void {
  let digitalSignature: boolean;
  try {
    digitalSignature = asn1.extKeyUsage?.digitalSignature === true;
  } catch {
    digitalSignature = false;
  }
  const codeSigning = (leaf.keyUsage ?? []).includes(CODE_SIGNING_EKU);
  if (!digitalSignature && !codeSigning) {
    throw chainError(`the leaf certificate "${oneLine(leaf.subject)}" allows neither digitalSignature (KeyUsage) nor codeSigning (ExtendedKeyUsage)`);
  }
}

/** Node prints distinguished names one attribute per line. */
export function oneLine(name: string): string {
  return name.split('\n').join(', ');
}
