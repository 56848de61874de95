/**
 * Checks for fields that several management requests share (names, namespaces, instants): one
 * wording for each mistake, always VALIDATION_FAILED naming the field.
 */
import { CustodyError } from '../domain/errors.js';
import { isValidName } from '../domain/model-ref.js';

const MAX_NAMESPACES = 1000;

export function usage(message: string, field: string): CustodyError {
  return new CustodyError('VALIDATION_FAILED', message, { details: { field } });
}

/** An RFC 3339 instant with a zone, normalised to UTC with milliseconds. */
export function parseInstant(value: string, field: string): string {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i.test(value)) {
    throw usage(`${field} must be an RFC 3339 time with a zone, e.g. 2026-01-31T12:00:00Z`, field);
  }
  const time = new Date(value);
  if (Number.isNaN(time.getTime())) throw usage(`${field} is not a valid time`, field);
  return time.toISOString();
}

/** A list of 1–1,000 valid namespaces, sorted and without repeats; null/undefined = every namespace. */
export function checkNamespaces(namespaces: readonly string[] | null | undefined): string[] | null {
  if (namespaces === undefined || namespaces === null) return null;
  if (namespaces.length === 0 || namespaces.length > MAX_NAMESPACES) throw usage(`namespaces: 1 to ${MAX_NAMESPACES}, or omit for every namespace`, 'namespaces');
  for (const ns of namespaces) if (!isValidName(ns)) throw usage(`invalid namespace: ${ns.slice(0, 130)}`, 'namespaces');
  return [...new Set(namespaces)].sort();
}

