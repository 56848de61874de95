/**
 * Random identifiers for records and upload sessions: 128 bits, URL-safe (base64url, 22
 * characters). An id never starts with `-` or `_`: one that began with `-` would read as an option
 * on a command line (`custody token revoke -3fHO…` fails as "unknown option"), so such a draw is
 * simply drawn again (the alphabet of the first character shrinks from 64 to 62; ~127.9 bits).
 */
import { randomBytes } from 'node:crypto';

export function newId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (/^[A-Za-z0-9]/.test(id)) return id;
  }
}
