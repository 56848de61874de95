/**
 * API tokens (SPEC §7): 32 random bytes, shown once, stored only as their SHA-256. The prefix
 * `custody_` lets secret scanners recognise a leaked token.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const PREFIX = 'custody_';
// Generated tokens are `custody_` + 43 base64url characters; an operator-chosen bootstrap token
// (CUSTODY_BOOTSTRAP_TOKEN) may be any 32–512 URL-safe characters.
const TOKEN_SHAPE = /^[A-Za-z0-9_\-.~+/=]{32,512}$/;

export function generateApiToken(): string {
  return PREFIX + randomBytes(32).toString('base64url');
}

/** True for strings shaped like a token; anything else is refused before any lookup. */
export function isTokenShaped(value: string): boolean {
  return TOKEN_SHAPE.test(value);
}

export function hashApiToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Constant-time equality of two hex hashes of equal length. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && left.length > 0 && timingSafeEqual(left, right);
}
