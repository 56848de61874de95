import { describe, expect, it } from 'vitest';
import { parseContentRange, parseRangeHeader } from '../../src/api/byte-ranges.js';

describe('Range header on blob reads', () => {
  it('resolves first, middle, open-ended and suffix ranges', () => {
    expect(parseRangeHeader('bytes=0-0', 10)).toEqual({ start: 0, end: 0 });
    expect(parseRangeHeader('bytes=2-5', 10)).toEqual({ start: 2, end: 5 });
    expect(parseRangeHeader('bytes=7-', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRangeHeader('bytes=-3', 10)).toEqual({ start: 7, end: 9 });
    expect(parseRangeHeader('bytes=-30', 10)).toEqual({ start: 0, end: 9 });
  });

  it('clamps an end past the blob', () => {
    expect(parseRangeHeader('bytes=5-100', 10)).toEqual({ start: 5, end: 9 });
  });

  it('ignores what it does not serve: no header, other units, several ranges, garbage', () => {
    expect(parseRangeHeader(undefined, 10)).toBeUndefined();
    expect(parseRangeHeader('items=0-1', 10)).toBeUndefined();
    expect(parseRangeHeader('bytes=0-1,3-4', 10)).toBeUndefined();
    expect(parseRangeHeader('bytes=5-2', 10)).toBeUndefined();
    expect(parseRangeHeader('bytes=-', 10)).toBeUndefined();
  });

  it('refuses a range that starts past the end', () => {
    expect(() => parseRangeHeader('bytes=10-', 10)).toThrow(expect.objectContaining({ code: 'RANGE_NOT_SATISFIABLE' }));
    expect(() => parseRangeHeader('bytes=-0', 10)).toThrow(expect.objectContaining({ code: 'RANGE_NOT_SATISFIABLE' }));
    expect(() => parseRangeHeader('bytes=0-', 0)).toThrow(expect.objectContaining({ code: 'RANGE_NOT_SATISFIABLE' }));
  });
});

describe('Content-Range on upload chunks', () => {
  it('parses a chunk and an empty final marker', () => {
    expect(parseContentRange('bytes 0-99/1000')).toEqual({ start: 0, end: 99, total: 1000 });
    expect(parseContentRange('bytes */1000')).toEqual({ start: 1000, end: undefined, total: 1000 });
  });

  it.each([undefined, '', 'bytes 0-99', 'bytes 10-5/100', 'bytes 0-100/100', 'items 0-1/2', 'bytes -1-5/10', 'bytes 0-1/2/3', `bytes 0-1/${'9'.repeat(17)}`])(
    'rejects %j with INVALID_CONTENT_RANGE',
    (header) => {
      expect(() => parseContentRange(header)).toThrow(expect.objectContaining({ code: 'INVALID_CONTENT_RANGE' }));
    },
  );
});
