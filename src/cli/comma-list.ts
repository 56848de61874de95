/**
 * The CLI's comma-separated option values (`--namespaces a,b`, `--permissions p1,p2`; SPEC §8):
 * trimmed, empty items dropped, USAGE when nothing is left.
 */
import { CustodyError } from '../domain/errors.js';

/** `a,b , c` → ['a', 'b', 'c']; USAGE (exit 2) naming `option` when nothing is left. */
export function commaList(value: string, option: string): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  if (items.length === 0) throw new CustodyError('USAGE', `${option} needs at least one value (comma-separated)`);
  return items;
}
