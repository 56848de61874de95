/**
 * The response headers of every UI page (issue 8 §3): a strict Content-Security-Policy — no
 * `unsafe-inline`, no `unsafe-eval`, scripts only by per-response nonce, styles and images only
 * from this server, no framing, forms only to this origin — plus `X-Content-Type-Options`,
 * `Referrer-Policy`, `Cross-Origin-Opener-Policy` and `Cache-Control: no-store` (pages show
 * what a principal may see; nothing is cached).
 */
import { randomBytes } from 'node:crypto';

/** A fresh nonce for one response's scripts (128 bits, base64). */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** The Content-Security-Policy for a page whose scripts carry `nonce`. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "font-src 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
  ].join('; ');
}

/** Every header a UI response carries. */
export function pageSecurityHeaders(nonce: string): Record<string, string> {
  return {
    'content-security-policy': contentSecurityPolicy(nonce),
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
    'cache-control': 'no-store',
  };
}
