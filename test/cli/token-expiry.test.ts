/**
 * `custody tokens create --expires` parsing (SPEC §7, §8): lifetimes from a fixed instant,
 * `never`, RFC 3339 times passed through, and every other spelling refused as USAGE.
 */
import { describe, expect, it } from 'vitest';
import { parseExpires } from '../../src/cli/token-expiry.js';
import { CustodyError } from '../../src/domain/errors.js';

const NOW = new Date('2026-03-01T10:00:00.000Z');

function usageOf(value: string): unknown {
  try {
    parseExpires(value, NOW);
  } catch (error) {
    return error instanceof CustodyError ? error.code : error;
  }
  return 'accepted';
}

describe('parseExpires', () => {
  it('counts days, hours and minutes from now', () => {
    expect(parseExpires('30d', NOW)).toBe('2026-03-31T10:00:00.000Z');
    expect(parseExpires('1d', NOW)).toBe('2026-03-02T10:00:00.000Z');
    expect(parseExpires('12h', NOW)).toBe('2026-03-01T22:00:00.000Z');
    expect(parseExpires('90m', NOW)).toBe('2026-03-01T11:30:00.000Z');
  });

  it('maps never to null (a token that does not expire)', () => {
    expect(parseExpires('never', NOW)).toBeNull();
  });

  it('passes RFC 3339 times with a zone through unchanged', () => {
    for (const time of ['2026-12-31T23:59:59Z', '2026-12-31T23:59:59.123456789Z', '2027-01-01t00:00:00+02:00', '2028-02-29T12:00:00-05:30']) {
      expect(parseExpires(time, NOW)).toBe(time);
    }
  });

  it('refuses every other spelling as USAGE', () => {
    for (const bad of [
      '', 'bogus', 'Never', 'NEVER', '0d', '00d', '01d', '-1d', '+1d', '1.5d', '1w', '1s', '1D', '30', 'd', ' 30d', '30d ', '1 d', '1e3d',
      '9999999999d', '999999999d',
      '2026-12-31', '2026-12-31T23:59:59', '2026-12-31 23:59:59Z', '2026-02-30T00:00:00Z', '2027-02-29T00:00:00Z', '2026-13-01T00:00:00Z',
      '2026-00-10T00:00:00Z', '2026-12-31T24:00:00Z', '2026-12-31T23:60:00Z', '2026-12-31T23:59:60Z', '2026-12-31T23:59:59+24:00',
      '2026-12-31T23:59:59.Z', '2026-12-31T23:59:59.1234567890Z', '2026-12-31T23:59:59z\n',
    ]) {
      expect(usageOf(bad), JSON.stringify(bad)).toBe('USAGE');
    }
  });
});
