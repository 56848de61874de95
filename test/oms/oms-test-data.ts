/**
 * Test data for the OMS tests: paths into ../shared/interop/oms, writable copies of the signed
 * vectors, and bundles re-signed with the published upstream test key (public test material,
 * interop/oms/README.md) so that each check after the signature stage can be tested on its own.
 */
import { chmodSync, cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { IN_TOTO_PAYLOAD_TYPE, signEnvelope } from '../../src/crypto/dsse.js';
import { parsePrivateKey, type PrivateKeyInfo } from '../../src/crypto/signing-keys.js';
import { publicKeyBundle } from '../../src/crypto/sigstore-bundle.js';
import { CustodyError } from '../../src/domain/errors.js';

const repoRoot = path.resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const OMS_DIR = path.resolve(repoRoot, '../shared/interop/oms');

export const omsPath = (relative: string): string => path.join(OMS_DIR, relative);
export const omsText = (relative: string): string => readFileSync(omsPath(relative), 'utf8');

/** The upstream P-384 test key (SEC1) that signed the key and certificate vectors. */
export const testKey = (): PrivateKeyInfo => parsePrivateKey(omsText('keys/certificate/signing-key.pem'));

/** A fresh temp directory. */
export function tempDir(prefix: string): string {
  return mkdtempSync(path.join(tmpdir(), `custody-oms-${prefix}-`));
}

/** A writable copy of a vector folder (the shared copy is read-only). */
export function copyVector(relative: string, into: string = tempDir('vector')): string {
  const target = path.join(into, path.basename(relative));
  cpSync(omsPath(relative), target, { recursive: true });
  makeWritable(target);
  return target;
}

function makeWritable(target: string): void {
  const stats = statSync(target);
  chmodSync(target, stats.isDirectory() ? 0o755 : 0o644);
  if (stats.isDirectory()) for (const name of readdirSync(target)) makeWritable(path.join(target, name));
}

/** The decoded statement of a bundle file, as JSON. */
export function statementOf(bundleFile: string): Record<string, unknown> {
  const bundle = JSON.parse(readFileSync(bundleFile, 'utf8')) as { dsseEnvelope: { payload: string } };
  return JSON.parse(Buffer.from(bundle.dsseEnvelope.payload, 'base64').toString('utf8')) as Record<string, unknown>;
}

/** Signs `payload` (object → JSON, or raw text) with `key` into a key-method bundle written to `file`. */
export function writeSignedBundle(file: string, payload: unknown, key: PrivateKeyInfo = testKey(), payloadType: string = IN_TOTO_PAYLOAD_TYPE): string {
  const bytes = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
  const bundle = publicKeyBundle(signEnvelope(payloadType, bytes, key, ''), key.publicKey.omsHint);
  writeFileSync(file, JSON.stringify(bundle, null, 2));
  return file;
}

/** The parts of a bundle's JSON that tests edit. */
export interface BundleJson {
  mediaType: string;
  verificationMaterial: { publicKey?: { hint?: string; rawBytes?: string }; tlogEntries?: unknown[]; [other: string]: unknown };
  dsseEnvelope: { payload: string; payloadType: string; signatures: { sig: string; keyid?: string | null }[] };
}

/** Edits a bundle file's JSON in place. */
export function editBundle(file: string, edit: (bundle: BundleJson) => void): string {
  const bundle = JSON.parse(readFileSync(file, 'utf8')) as BundleJson;
  edit(bundle);
  writeFileSync(file, JSON.stringify(bundle, null, 2));
  return file;
}

/** The CustodyError a promise rejects with (fails the test if it resolves or throws anything else). */
export async function rejectionOf(promise: Promise<unknown>): Promise<CustodyError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof CustodyError)) throw new Error(`expected a CustodyError, got ${error === undefined ? 'success' : error instanceof Error ? error.message : typeof error}`);
  return error;
}
