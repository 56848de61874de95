/**
 * Guards for lookups by caller-supplied keys. A key no stored row can hold must answer "not
 * found" the same way on both dialects instead of reaching the database: PostgreSQL rejects NUL
 * in text and numbers beyond a column's range with an error, where SQLite simply finds nothing.
 */

/** False when no stored row can match one of `keys` (a non-string, or text containing NUL). */
export function isLookupKey(...keys: readonly string[]): boolean {
  return keys.every((key) => typeof key === 'string' && !key.includes('\u0000'));
}

/** True for an integer from 0 to `max`: the only values an integer column of that range holds. */
export function isLookupNumber(value: number, max: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= max;
}
