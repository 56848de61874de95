/** Random identifiers for records and upload sessions: 128 bits, URL-safe. */
import { randomBytes } from 'node:crypto';

export function newId(): string {
  return randomBytes(16).toString('base64url');
}
