/**
 * in-toto Statement v1 (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md;
 * reference/attestations.md §2): parsing the exact signed payload bytes of a DSSE envelope,
 * and serialising the statements Custody signs.
 *
 * Parsing is defensive: the bytes must be UTF-8 JSON with no duplicate keys (two parsers must
 * never see two different statements in one payload) and bounded nesting; unknown fields are
 * kept but never interpreted. Subjects match by digest only, so DigestSets are checked strictly.
 */
import { CustodyError, type ErrorCode } from '../domain/errors.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';

/** A ResourceDescriptor naming an artifact the statement is about (extra fields kept as given). */
export interface StatementSubject {
  readonly name?: string;
  readonly digest: Readonly<Record<string, string>>;
  readonly [extra: string]: unknown;
}

export interface Statement {
  readonly subject: readonly StatementSubject[];
  readonly predicateType: string;
  readonly predicate: Readonly<Record<string, unknown>>;
}

/** JSON containers may nest at most this deep (the top level is depth 1). */
export const MAX_JSON_DEPTH = 64;

/** Hex lengths of the digests whose shape we know (DigestSet: lowercase hex). */
const HEX_DIGEST_LENGTHS: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
const LOWER_HEX = /^[0-9a-f]+$/;
/** RFC 3986 absolute URI: a scheme, ':', and no whitespace or control characters. */
const ABSOLUTE_URI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s\p{Cc}]+$/u;

/**
 * Parses untrusted JSON text or UTF-8 bytes: invalid UTF-8, invalid JSON, a duplicate object key
 * or nesting deeper than `maxDepth` throws `code` with a message starting with `what`.
 */
export function parseUntrustedJson(input: Uint8Array | string, what: string, code: ErrorCode, maxDepth = MAX_JSON_DEPTH): unknown {
  let text: string;
  if (typeof input === 'string') {
    text = input;
  } else {
    try {
      text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch (error) {
      throw new CustodyError(code, `${what} is not valid UTF-8`, { cause: error });
    }
  }
  checkJsonStructure(text, maxDepth, (problem) => new CustodyError(code, `${what} ${problem}`));
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CustodyError(code, `${what} is not valid JSON`, { cause: error });
  }
}

/**
 * One linear pass over the text, before JSON.parse: rejects nesting deeper than `maxDepth` early
 * and duplicate keys in an object (JSON.parse would silently keep the last one). Text that is not
 * JSON at all is left for JSON.parse to reject.
 */
function checkJsonStructure(text: string, maxDepth: number, fail: (problem: string) => CustodyError): void {
  const stack: (Set<string> | null)[] = []; // a Set of seen keys per object, null per array
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      const keys = stack.at(-1);
      if (expectKey && keys instanceof Set) {
        const key = decodeJsonString(text.slice(i, end + 1));
        if (key !== undefined && keys.has(key)) throw fail(`has a duplicate key ${JSON.stringify(key.slice(0, 100))}`);
        if (key !== undefined) keys.add(key);
      }
      expectKey = false;
      i = end;
    } else if (c === '{' || c === '[') {
      stack.push(c === '{' ? new Set<string>() : null);
      if (stack.length > maxDepth) throw fail(`is nested deeper than ${maxDepth} levels`);
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      stack.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = stack.at(-1) instanceof Set;
    }
  }
}

function decodeJsonString(literal: string): string | undefined {
  try {
    const value: unknown = JSON.parse(literal);
    return typeof value === 'string' ? value : undefined;
  } catch {
    return undefined;
  }
}

function invalid(field: string, problem: string): CustodyError {
  return new CustodyError('INVALID_STATEMENT', `in-toto statement: ${field} ${problem}`, { details: { field } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseSubject(value: unknown, where: string, strictDigests: boolean): StatementSubject {
  if (!isRecord(value)) throw invalid(where, 'must be an object');
  const name = value['name'];
  if (name !== undefined && typeof name !== 'string') throw invalid(`${where}.name`, 'must be a string');
  const digest = value['digest'];
  if (!isRecord(digest)) throw invalid(`${where}.digest`, 'must be an object');
  const entries = Object.entries(digest);
  if (entries.length === 0) throw invalid(`${where}.digest`, 'must name at least one digest');
  for (const [algorithm, hex] of entries) {
    const field = `${where}.digest.${algorithm}`;
    if (typeof hex !== 'string') throw invalid(field, 'must be a string');
    const length = HEX_DIGEST_LENGTHS[algorithm];
    if (strictDigests && length !== undefined && (hex.length !== length || !LOWER_HEX.test(hex))) {
      throw invalid(field, `must be ${length} lowercase hex digits`);
    }
  }
  return Object.freeze({ ...value, digest: Object.freeze({ ...digest }) }) as StatementSubject;
}

/**
 * Parses the exact payload bytes of an envelope (UTF-8 JSON object, nesting ≤ 64, no duplicate
 * keys): `_type` must be STATEMENT_TYPE, `subject` a non-empty array whose items have a
 * non-empty `digest` object of string values, `predicateType` a non-empty absolute URI,
 * `predicate` an object when present (missing or null → {}). With `strictDigests` (default
 * true) every sha256/sha384/sha512 value must be lowercase hex of the right length.
 * @throws CustodyError INVALID_STATEMENT naming the field.
 */
export function parseStatement(payload: Uint8Array, options: { strictDigests?: boolean } = {}): Statement {
  const strictDigests = options.strictDigests ?? true;
  const value = parseUntrustedJson(payload, 'in-toto statement', 'INVALID_STATEMENT');
  if (!isRecord(value)) throw invalid('statement', 'must be a JSON object');
  if (value['_type'] !== STATEMENT_TYPE) throw invalid('_type', `must be "${STATEMENT_TYPE}"`);
  const subjects = value['subject'];
  if (!Array.isArray(subjects) || subjects.length === 0) throw invalid('subject', 'must be a non-empty array');
  const subject = subjects.map((item: unknown, i) => parseSubject(item, `subject[${i}]`, strictDigests));
  const predicateType = value['predicateType'];
  if (typeof predicateType !== 'string' || predicateType.length === 0) throw invalid('predicateType', 'must be a non-empty string');
  if (!isAbsoluteUri(predicateType)) throw invalid('predicateType', 'must be an absolute URI');
  const predicate = value['predicate'] ?? {};
  if (!isRecord(predicate)) throw invalid('predicate', 'must be an object');
  return Object.freeze({ subject: Object.freeze(subject), predicateType, predicate });
}

function isAbsoluteUri(text: string): boolean {
  if (!ABSOLUTE_URI.test(text)) return false;
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * The bytes that get signed: compact JSON with `_type` first, then subject, predicateType and
 * predicate (members inside keep the order given). Throws INVALID_STATEMENT for values JSON
 * cannot represent.
 */
export function serializeStatement(statement: Statement): Buffer {
  let text: string | undefined;
  try {
    text = JSON.stringify({
      _type: STATEMENT_TYPE,
      subject: statement.subject,
      predicateType: statement.predicateType,
      predicate: statement.predicate,
    });
  } catch (error) {
    throw new CustodyError('INVALID_STATEMENT', 'in-toto statement cannot be serialised as JSON', { cause: error });
  }
  return Buffer.from(text, 'utf8');
}

/** The sha256 hex values among the subjects' digests, in subject order. */
export function subjectSha256s(statement: Statement): string[] {
  return statement.subject.flatMap((s) => (typeof s.digest['sha256'] === 'string' ? [s.digest['sha256']] : []));
}
