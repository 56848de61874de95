/**
 * Sigstore bundles carrying a DSSE envelope (sigstore/protobuf-specs `sigstore_bundle.proto`,
 * proto3 JSON mapping; reference/attestations.md §4, reference/oms.md §1.1): a defensive parser
 * for untrusted bundle bytes and builders for the v0.3 bundles Custody writes.
 *
 * The parser checks shape only: which key signed, and whether the signature verifies, is for the
 * caller. Transparency-log entries are passed through untouched — they are Rekor's data, never
 * Custody's own log.
 */
import { CustodyError } from '../domain/errors.js';
import { decodeBase64Field, parseEnvelope, type DsseEnvelope, type DsseEnvelopeJson } from './dsse.js';
import { parseUntrustedJson } from './in-toto-statement.js';

export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';

/** Every media type a bundle may declare (v0.1, v0.2 and both v0.3 spellings). */
export const ACCEPTED_BUNDLE_MEDIA_TYPES: readonly string[] = Object.freeze([
  'application/vnd.dev.sigstore.bundle+json;version=0.1',
  'application/vnd.dev.sigstore.bundle+json;version=0.2',
  'application/vnd.dev.sigstore.bundle+json;version=0.3',
  BUNDLE_MEDIA_TYPE,
]);

/** Default cap on bundle bytes (SPEC §3.1 `limits.maxJsonBytes`). */
export const DEFAULT_MAX_BUNDLE_BYTES = 1024 * 1024;

export type VerificationMaterial =
  /** `hint` is '' when absent; old OMS bundles carry `rawBytes` = base64 of the PEM text instead. */
  | { readonly kind: 'publicKey'; readonly hint: string; readonly rawBytes: Buffer | null }
  /** DER certificates, leaf first. */
  | { readonly kind: 'x509CertificateChain'; readonly certificates: readonly Buffer[] }
  /** DER leaf certificate (keyless v0.3). */
  | { readonly kind: 'certificate'; readonly certificate: Buffer };

export interface ParsedBundle {
  readonly mediaType: string;
  readonly material: VerificationMaterial;
  /** Passed through untouched (Rekor data; Custody never interprets it as its own log). */
  readonly tlogEntries: readonly unknown[];
  readonly envelope: DsseEnvelope;
  /** The parsed bundle JSON as given (for @sigstore/verify). */
  readonly json: Readonly<Record<string, unknown>>;
}

const MATERIAL_KINDS = ['publicKey', 'x509CertificateChain', 'certificate'] as const;

function invalid(message: string, field?: string): CustodyError {
  return new CustodyError('INVALID_BUNDLE', `Sigstore bundle: ${message}`, field === undefined ? {} : { details: { field } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** proto3 JSON: an unset field may be absent or null. */
function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function parseMaterial(value: unknown): VerificationMaterial {
  if (!isRecord(value)) throw invalid('verificationMaterial must be an object', 'verificationMaterial');
  const present = MATERIAL_KINDS.filter((kind) => isSet(value[kind]));
  if (present.length === 0) throw invalid('verificationMaterial has no publicKey, x509CertificateChain or certificate', 'verificationMaterial');
  if (present.length > 1) throw invalid(`verificationMaterial is ambiguous: it has ${present.join(' and ')}`, 'verificationMaterial');
  const kind = present[0] ?? 'publicKey'; // exactly one is present
  const content = value[kind];
  const where = `verificationMaterial.${kind}`;
  if (!isRecord(content)) throw invalid(`${where} must be an object`, where);
  switch (kind) {
    case 'x509CertificateChain': {
      const certificates = content['certificates'];
      if (!Array.isArray(certificates) || certificates.length === 0) throw invalid(`${where}.certificates must be a non-empty array`, `${where}.certificates`);
      return Object.freeze({
        kind,
        certificates: Object.freeze(certificates.map((cert: unknown, i) => certificateBytes(cert, `${where}.certificates[${i}]`))),
      });
    }
    case 'certificate':
      return Object.freeze({ kind, certificate: certificateBytes(content, where) });
    case 'publicKey': {
      const hint = content['hint'];
      if (isSet(hint) && typeof hint !== 'string') throw invalid(`${where}.hint must be a string`, `${where}.hint`);
      const rawBytes = isSet(content['rawBytes']) ? decodeBase64Field(content['rawBytes'], `${where}.rawBytes`) : null;
      return Object.freeze({ kind, hint: typeof hint === 'string' ? hint : '', rawBytes });
    }
  }
}

function certificateBytes(value: unknown, where: string): Buffer {
  if (!isRecord(value)) throw invalid(`${where} must be an object`, where);
  const der = decodeBase64Field(value['rawBytes'], `${where}.rawBytes`);
  if (der.length === 0) throw invalid(`${where}.rawBytes is empty`, `${where}.rawBytes`);
  return der;
}

/**
 * Parses untrusted bundle bytes. Accepts the v0.1/v0.2/v0.3 media types
 * (reference/attestations.md §4). Throws INVALID_BUNDLE naming the problem for input that is
 * not UTF-8 JSON, not an object, larger than `maxBytes` (default 1 MiB), nested deeper than 64
 * or with duplicate keys; a wrong mediaType; missing or ambiguous verificationMaterial; a
 * messageSignature bundle (not DSSE); a missing or malformed dsseEnvelope. Several DSSE
 * signatures are NOT rejected here (callers decide).
 */
export function parseBundle(bytes: Uint8Array | string, options: { maxBytes?: number } = {}): ParsedBundle {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  if (typeof bytes !== 'string' && !(bytes instanceof Uint8Array)) throw invalid('input must be bytes or text');
  const size = typeof bytes === 'string' ? Buffer.byteLength(bytes, 'utf8') : bytes.length;
  if (size > maxBytes) throw new CustodyError('INVALID_BUNDLE', `Sigstore bundle: larger than ${maxBytes} bytes`, { details: { size, limit: maxBytes } });
  const json = parseUntrustedJson(bytes, 'Sigstore bundle', 'INVALID_BUNDLE');
  if (!isRecord(json)) throw invalid('must be a JSON object');
  const mediaType = json['mediaType'];
  if (typeof mediaType !== 'string' || !ACCEPTED_BUNDLE_MEDIA_TYPES.includes(mediaType)) {
    throw new CustodyError('INVALID_BUNDLE', `Sigstore bundle: unsupported mediaType (expected ${BUNDLE_MEDIA_TYPE})`, {
      details: { field: 'mediaType', mediaType: typeof mediaType === 'string' ? mediaType.slice(0, 100) : typeof mediaType },
    });
  }
  const materialJson = json['verificationMaterial'];
  if (!isSet(materialJson)) throw invalid('verificationMaterial is missing', 'verificationMaterial');
  const material = parseMaterial(materialJson);
  const tlogEntries = isRecord(materialJson) ? (materialJson['tlogEntries'] ?? []) : [];
  if (!Array.isArray(tlogEntries)) throw invalid('verificationMaterial.tlogEntries must be an array', 'verificationMaterial.tlogEntries');
  const hasMessageSignature = isSet(json['messageSignature']);
  const hasEnvelope = isSet(json['dsseEnvelope']);
  if (hasMessageSignature && hasEnvelope) throw invalid('has both messageSignature and dsseEnvelope', 'messageSignature');
  if (hasMessageSignature) throw invalid('messageSignature bundles are not supported: only DSSE envelopes are', 'messageSignature');
  if (!hasEnvelope) throw invalid('dsseEnvelope is missing', 'dsseEnvelope');
  const envelope = parseEnvelope(json['dsseEnvelope']);
  return Object.freeze({ mediaType, material, tlogEntries: Object.freeze((tlogEntries as unknown[]).slice()), envelope, json });
}

/** A v0.3 bundle naming its key by `hint`: `{mediaType, verificationMaterial: {publicKey: {hint}, tlogEntries: []}, dsseEnvelope}`. */
export function publicKeyBundle(envelope: DsseEnvelopeJson, hint: string): Record<string, unknown> {
  return { mediaType: BUNDLE_MEDIA_TYPE, verificationMaterial: { publicKey: { hint }, tlogEntries: [] }, dsseEnvelope: envelope };
}

/**
 * A v0.3 bundle carrying an X.509 chain (DER, leaf first) as model_signing writes it for
 * certificate signing. Note: sigstore-js's strict v0.3 check wants `certificate` instead.
 */
export function certificateChainBundle(envelope: DsseEnvelopeJson, certificatesDer: readonly Uint8Array[]): Record<string, unknown> {
  const certificates = certificatesDer.map((der) => ({ rawBytes: Buffer.from(der).toString('base64') }));
  return { mediaType: BUNDLE_MEDIA_TYPE, verificationMaterial: { x509CertificateChain: { certificates }, tlogEntries: [] }, dsseEnvelope: envelope };
}
