/**
 * How commands print: human text, or with --json exactly one JSON document on stdout. Errors go
 * to stderr (and, with --json, also as `{"error": …}` on stdout so scripts get one document).
 */
import { CustodyError } from '../domain/errors.js';

export interface GlobalOptions {
  readonly server?: string;
  readonly token?: string;
  readonly json?: boolean;
  readonly quiet?: boolean;
}

export class Output {
  constructor(
    readonly json: boolean,
    readonly quiet: boolean,
  ) {}

  /** Prints `data` as JSON, or `human()` as text. */
  result(data: unknown, human: () => string): void {
    if (this.json) process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    else {
      const text = human();
      if (text !== '') process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
    }
  }

  /** Informational line on stderr (suppressed by --quiet). */
  note(text: string): void {
    if (!this.quiet) process.stderr.write(`${text}\n`);
  }

  error(error: unknown): void {
    const code = error instanceof CustodyError ? error.code : 'INTERNAL';
    const message = error instanceof Error ? error.message : String(error);
    const details = error instanceof CustodyError ? error.details : undefined;
    if (this.json) process.stdout.write(`${JSON.stringify({ error: { code, message, ...(details === undefined ? {} : { details }) } }, null, 2)}\n`);
    process.stderr.write(`custody: ${message} (${code})\n`);
    const paths = details?.paths;
    if (!this.json && Array.isArray(paths)) for (const p of paths.slice(0, 20)) process.stderr.write(`  ${String(p)}\n`);
  }
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit] ?? ''}`;
}

/** Renders rows as aligned columns. */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}
