/**
 * `custody tokens create --expires …` (SPEC §7, §8): a lifetime (`30d`, `12h`, `90m`), `never`, or
 * an RFC 3339 time, parsed strictly. Anything else is a USAGE error (exit 2) before any request:
 * a typo must not silently mint a token that lives longer than meant.
 */
import { CustodyError } from '../domain/errors.js';

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/;

function usage(value: string, why = 'use a positive whole number of days, hours or minutes (30d, 12h, 90m), never, or an RFC 3339 time such as 2026-12-31T23:59:59Z'): CustodyError {
  return new CustodyError('USAGE', `--expires ${JSON.stringify(value.slice(0, 80))}: ${why}`);
}

/** True when the date and time fields name a real instant (no 30 February, no hour 24). */
function realCalendarTime(match: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const offset = match[8] ?? 'Z';
  if (!/^[Zz]$/.test(offset)) {
    const [h, m] = offset.slice(1).split(':').map(Number) as [number, number];
    if (h > 23 || m > 59) return false;
  }
  const t = new Date(Date.UTC(year, month - 1, day, hour, minute, second));
  return (
    month >= 1 &&
    t.getUTCFullYear() === year &&
    t.getUTCMonth() === month - 1 &&
    t.getUTCDate() === day &&
    t.getUTCHours() === hour &&
    t.getUTCMinutes() === minute &&
    t.getUTCSeconds() === second
  );
}

/**
 * The token's `expiresAt` for an `--expires` value: an RFC 3339 time (relative lifetimes counted
 * from `now`), or null for `never`. Whether the time lies in the future is the server's check.
 */
export function parseExpires(value: string, now: Date = new Date()): string | null {
  if (value === 'never') return null;
  const lifetime = /^([1-9][0-9]{0,8})([dhm])$/.exec(value);
  if (lifetime !== null) {
    const unit = lifetime[2] as keyof typeof UNIT_MS;
    const at = new Date(now.getTime() + Number(lifetime[1]) * UNIT_MS[unit]);
    if (Number.isNaN(at.getTime()) || at.getUTCFullYear() > 9999) throw usage(value, 'that lifetime ends after the year 9999');
    return at.toISOString();
  }
  const time = RFC3339.exec(value);
  if (time === null) throw usage(value);
  if (!realCalendarTime(time) || Number.isNaN(Date.parse(value))) throw usage(value, 'not a real date and time');
  return value;
}
