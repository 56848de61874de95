/**
 * SHA-256 digests as Custody names them: `sha256:<64 lowercase hex>` on the wire, bare hex inside
 * manifests. Every digest that crosses a trust boundary goes through `parseDigest`.
 */
import { createHash } from 'node:crypto';
import { CustodyError } from './errors.js';

const HEX64 = /^[0-9a-f]{64}$/;
const PREFIXED = /^sha256:([0-9a-f]{64})$/;

/** A `sha256:<hex>` string. */
export type Digest = `sha256:${string}`;

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && HEX64.test(value);
}

/** Parses `sha256:<hex>` (lowercase only); throws INVALID_DIGEST otherwise. */
export function parseDigest(value: string): { readonly algorithm: 'sha256'; readonly hex: string } {
  const match = PREFIXED.exec(value);
  if (match?.[1] === undefined) {
    throw new CustodyError('INVALID_DIGEST', 'digest must be "sha256:" followed by 64 lowercase hex digits', {
      details: { digest: value.slice(0, 80) },
    });
  }
  return { algorithm: 'sha256', hex: match[1] };
}

export function toDigest(hex: string): Digest {
  return `sha256:${hex}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of zero bytes, the digest of an empty file. */
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
