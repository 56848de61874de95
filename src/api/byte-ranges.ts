/**
 * HTTP byte ranges: `Range: bytes=…` on blob reads (RFC 9110 §14.2) and `Content-Range` on
 * upload chunks. Only single ranges are served; anything else in `Range` is ignored as RFC 9110
 * allows, while a malformed `Content-Range` on a write is an error.
 */
import { CustodyError } from '../domain/errors.js';
import type { ByteRange } from '../store/blob-store.js';

const DIGITS = /^[0-9]{1,16}$/;

/**
 * Resolves a `Range` header against a blob size. Returns undefined to serve the whole blob,
 * or throws RANGE_NOT_SATISFIABLE.
 */
export function parseRangeHeader(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const match = /^bytes=([0-9]*)-([0-9]*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if ((first !== '' && !DIGITS.test(first)) || (last !== '' && !DIGITS.test(last))) return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) throw unsatisfiable(size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? size - 1 : Math.min(Number(last), size - 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) throw unsatisfiable(size);
  return { start, end };
}

function unsatisfiable(size: number): CustodyError {
  return new CustodyError('RANGE_NOT_SATISFIABLE', `the blob has ${size} bytes`, { details: { size } });
}

export interface ContentRange {
  readonly start: number;
  /** Inclusive; undefined for an empty final chunk (`bytes *\/TOTAL`). */
  readonly end: number | undefined;
  readonly total: number;
}

/** Parses `Content-Range: bytes start-end/total` (or `bytes *\/total`) on an upload chunk. */
export function parseContentRange(header: string | undefined): ContentRange {
  const bad = (): never => {
    throw new CustodyError('INVALID_CONTENT_RANGE', 'Content-Range must be "bytes START-END/TOTAL"');
  };
  if (header === undefined) return bad();
  const star = /^bytes \*\/([0-9]{1,16})$/.exec(header.trim());
  if (star?.[1] !== undefined) return { start: Number(star[1]), end: undefined, total: Number(star[1]) };
  const match = /^bytes ([0-9]{1,16})-([0-9]{1,16})\/([0-9]{1,16})$/.exec(header.trim());
  if (match === null) return bad();
  const [start, end, total] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (end < start || end >= total) return bad();
  return { start, end, total };
}
