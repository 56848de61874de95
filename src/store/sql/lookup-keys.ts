/**
 * Guards for lookups by caller-supplied keys. A key no stored row can hold must answer "not
 * found" the same way on both dialects instead of reaching the database: PostgreSQL rejects NUL
 * in text and numbers beyond a column's range with an error, where SQLite simply finds nothing.
 * And the one check of text about to be written, for the same reason (`assertStorableText`).
 */
import { CustodyError } from '../../domain/errors.js';

/** False when no stored row can match one of `keys` (a non-string, or text containing NUL). */
export function isLookupKey(...keys: readonly string[]): boolean {
  return keys.every((key) => typeof key === 'string' && !key.includes('\u0000'));
}

/** True for an integer from 0 to `max`: the only values an integer column of that range holds. */
export function isLookupNumber(value: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= max;
}

/** False for text no dialect stores faithfully: PostgreSQL refuses NUL and would replace unpaired surrogates. */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000') && value.isWellFormed();
}

/** Throws VALIDATION_FAILED naming the first text column of `row` that `isStorableText` refuses. */
export function assertStorableText(row: Readonly<Record<string, unknown>>, what: string): void {
  for (const [column, value] of Object.entries(row)) {
    if (typeof value === 'string' && !isStorableText(value)) {
      throw new CustodyError('VALIDATION_FAILED', `${what}: ${column} holds NUL or unpaired surrogates`, { details: { column } });
    }
  }
}
