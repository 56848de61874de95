/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte encoding Custody hashes and signs
 * JSON with — every transparency-log leaf (SPEC §4.4) is the JCS of its event.
 * Spec: https://www.rfc-editor.org/rfc/rfc8785
 *
 * JCS is ECMAScript's own JSON serialisation with sorted keys, so primitives go through
 * `JSON.stringify` / `String(number)`; what this module adds is the I-JSON domain check (no
 * lone surrogates, finite numbers only) and refusing every value JSON.stringify would silently
 * drop or rewrite (undefined, functions, symbols, bigint, Dates, Maps, class instances), because
 * a canonical form that quietly loses data is not canonical.
 */
import { CustodyError } from '../domain/errors.js';

/** Containers (objects and arrays) may nest at most this deep; the top level is depth 1. */
export const MAX_CANONICAL_JSON_DEPTH = 64;

/**
 * The RFC 8785 canonical JSON text of `value`: object members sorted by the UTF-16 code units of
 * their names, numbers in ECMAScript `Number.prototype.toString` form, strings escaped as
 * `JSON.stringify` does, no whitespace. Only plain objects, arrays, strings, finite numbers,
 * booleans and null are accepted; anything else throws VALIDATION_FAILED naming the JSON path.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  serialise(value, '$', 1, new Set<object>(), parts);
  return parts.join('');
}

function serialise(value: unknown, where: string, depth: number, ancestors: Set<object>, out: string[]): void {
  switch (typeof value) {
    case 'string':
      out.push(serialiseString(value, where));
      return;
    case 'number':
      if (!Number.isFinite(value)) fail(where, `${String(value)} is not a JSON number`);
      // ECMAScript Number::toString is exactly RFC 8785 §3.2.2.3; String(-0) is already "0".
      out.push(String(value));
      return;
    case 'boolean':
      out.push(value ? 'true' : 'false');
      return;
    case 'object':
      break;
    default:
      // undefined, bigint, symbol, function: JSON has no such value.
      fail(where, `a ${typeof value} is not a JSON value`);
  }
  if (value === null) {
    out.push('null');
    return;
  }
  if (depth > MAX_CANONICAL_JSON_DEPTH) fail(where, `nested deeper than ${MAX_CANONICAL_JSON_DEPTH} levels`);
  if (ancestors.has(value)) fail(where, 'a cycle is not a JSON value');
  ancestors.add(value);
  if (Array.isArray(value)) {
    out.push('[');
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out.push(',');
      // A hole reads as undefined and is rejected like one.
      serialise(value[i], `${where}[${i}]`, depth + 1, ancestors, out);
    }
    out.push(']');
  } else {
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) fail(where, 'only plain objects and arrays are JSON containers');
    const record = value as Record<string, unknown>;
    // Default sort compares UTF-16 code units, which is what RFC 8785 §3.2.3 prescribes.
    const keys = Object.keys(record).sort();
    out.push('{');
    keys.forEach((key, i) => {
      if (i > 0) out.push(',');
      out.push(serialiseString(key, `${where} key`), ':');
      serialise(record[key], `${where}.${key}`, depth + 1, ancestors, out);
    });
    out.push('}');
  }
  ancestors.delete(value);
}

function serialiseString(value: string, where: string): string {
  // I-JSON (RFC 7493 §2.1): strings must be valid Unicode, so a lone surrogate is an error.
  if (!value.isWellFormed()) fail(where, 'string contains a lone UTF-16 surrogate');
  return JSON.stringify(value);
}

function fail(where: string, why: string): never {
  throw new CustodyError('VALIDATION_FAILED', `canonical JSON: ${where}: ${why}`, { details: { path: where } });
}
