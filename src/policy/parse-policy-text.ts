/**
 * The one reader of policy-shaped text (SPEC §6): a policy document, a test fixture or a baseline
 * file, written as YAML or JSON. Every byte is hostile: the text is size-bounded before parsing,
 * a single YAML 1.2 document with the core schema only (no `!!binary`, `!!timestamp` or custom
 * tags), duplicate keys are errors, aliases are capped (a "billion laughs" document expands in
 * `toJS`, so the cap is what stops it), and the result must be plain JSON (finite numbers, no
 * lone surrogates, bounded depth), which is what the canonical digest hashes later.
 * YAML: https://yaml.org/spec/1.2.2/ — JSON is a subset, so one parser reads both.
 */
import { parseDocument } from 'yaml';
import { canonicalJson } from '../crypto/canonical-json.js';
import { CustodyError, type ErrorCode } from '../domain/errors.js';

/** Aliases a document may dereference in total; policies need few, bombs need many. */
export const MAX_YAML_ALIASES = 16;

export interface PolicyTextOptions {
  /** Refuse text longer than this many UTF-8 bytes. */
  readonly maxBytes: number;
  /** Names the text in error messages (a file name, `fixture fixtures/clean.json`). */
  readonly source: string;
  /** The code of every error (POLICY_INVALID for documents, VALIDATION_FAILED for fixtures, …). */
  readonly code: ErrorCode;
}

/** Parses YAML or JSON `text` into a plain JSON value; any problem → CustodyError(options.code) naming the line. */
export function parsePolicyText(text: string, options: PolicyTextOptions): unknown {
  const { code, source } = options;
  if (typeof text !== 'string') throw new CustodyError(code, `${source}: not text`);
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > options.maxBytes) {
    throw new CustodyError(code, `${source}: ${bytes} bytes is more than the limit of ${options.maxBytes}`, {
      details: { size: bytes, limit: options.maxBytes },
    });
  }
  if (text.trim() === '') throw new CustodyError(code, `${source}: empty document`);
  let doc: ReturnType<typeof parseDocument>;
  try {
    doc = parseDocument(text, {
      schema: 'core',
      resolveKnownTags: false,
      uniqueKeys: true,
      strict: true,
      prettyErrors: true,
      merge: false,
      intAsBigInt: false,
    });
  } catch (error) {
    // The parser is not expected to throw, but a pathological text must still be a typed error.
    throw new CustodyError(code, `${source}: ${error instanceof Error ? firstLine(error.message) : 'cannot be parsed'}`);
  }
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem !== undefined) {
    const line = problem.linePos?.[0];
    const where = line === undefined ? '' : ` (line ${line.line}, column ${line.col})`;
    throw new CustodyError(code, `${source}: ${firstLine(problem.message)}${where}`, {
      details: line === undefined ? {} : { position: { line: line.line, column: line.col } },
    });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (error) {
    throw new CustodyError(code, `${source}: ${error instanceof Error ? firstLine(error.message) : 'cannot be read'}`);
  }
  try {
    canonicalJson(value);
  } catch (error) {
    // canonicalJson names the JSON path ($.spec.gates[0]…) of the first non-JSON value.
    throw new CustodyError(code, `${source}: ${error instanceof Error ? error.message : 'not JSON'}`);
  }
  return value;
}

function firstLine(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/:$/, '');
}
