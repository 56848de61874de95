/**
 * Opaque page cursors: a JSON key (the last row's sort key) in base64url, so callers cannot
 * depend on its shape and the store can change it. A cursor comes back from the client, so it is
 * decoded defensively against the schema of the listing that issued it.
 */
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';

const MAX_CURSOR_LENGTH = 2048;

/** The cursor that resumes a listing after the row whose sort key is `key`. */
export function encodeCursor(key: readonly unknown[]): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key `cursor` carries, or VALIDATION_FAILED (field `cursor`) when it is not one `schema` issued. */
export function decodeCursor<S extends z.ZodType>(schema: S, cursor: string): z.output<S> {
  const malformed = (): never => {
    throw new CustodyError('VALIDATION_FAILED', 'malformed page cursor', { details: { field: 'cursor' } });
  };
  if (cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) return malformed();
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    return malformed();
  }
  const result = schema.safeParse(json);
  return result.success ? result.data : malformed();
}
