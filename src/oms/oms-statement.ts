/**
 * The in-toto statement inside an OpenSSF Model Signing (OMS) signature: building it for a scanned
 * model, parsing and checking it (v1.0 `https://model_signing/signature/v1.0` and the legacy
 * `https://model_signing/Digests/v0.1` with one subject per file), and comparing its resources
 * with the files of a model. `compareOmsResources` is pure: the registry uses it too, to match an
 * OMS signature to a stored version by its full resources list (SPEC §4.1).
 * Spec: ../../shared/reference/oms.md §1.3–§1.5, §2; ../../shared/SPEC.md §4.1.
 */
import { parseStatement, type Statement } from '../crypto/in-toto-statement.js';
import { isSha256Hex } from '../domain/digest.js';
import { CustodyError } from '../domain/errors.js';
import { assertSafePath, omsRootDigest } from '../domain/manifest.js';

export const OMS_PREDICATE_TYPE = 'https://model_signing/signature/v1.0';
export const OMS_LEGACY_PREDICATE_TYPE = 'https://model_signing/Digests/v0.1';
/** Paths `model_signing` leaves out by default, at the model's top level (reference/oms.md §2.1). */
export const OMS_DEFAULT_IGNORE_PATHS: readonly string[] = ['.git', '.gitattributes', '.github', '.gitignore'];

/** One signed file: `name` is the relative POSIX path, or `"."` for a single-file model. */
export interface OmsResource {
  readonly name: string;
  readonly algorithm: string;
  /** Lowercase hex digest of the file's bytes. */
  readonly digest: string;
}

/** A checked OMS statement. */
export interface OmsStatement {
  readonly predicateType: string;
  /** True for the v0.1 `Digests` predicate (no root digest, no recorded ignore paths). */
  readonly legacy: boolean;
  /** Informational model name (never relied on: renaming a model keeps its signature valid). */
  readonly subjectName: string | null;
  /** Hex root digest, already checked against `resources`; null for the legacy predicate. */
  readonly rootDigest: string | null;
  /** In the order written (the order the root digest is computed in). */
  readonly resources: readonly OmsResource[];
  readonly allowSymlinks: boolean;
  /** `serialization.ignore_paths` as recorded (v1.1+), else empty. */
  readonly ignorePaths: readonly string[];
}

/** What `compareOmsResources` found; all empty means the model is exactly what was signed. */
export interface OmsComparison {
  /** Signed resources with no file on disk. */
  readonly missing: string[];
  /** Files on disk that were not signed (always empty with `ignoreUnsignedFiles`). */
  readonly extra: string[];
  /** Signed resources whose file has other bytes. */
  readonly changed: string[];
}

/**
 * The OMS v1.0 statement for a model (`files` method, sha256, no symlinks). `resources` must be
 * in the order to sign (the subject digest is computed over them in that order); `ignorePaths`
 * is what the signer left out, recorded so verifiers leave out the same (v1.1+ behaviour).
 */
export function buildOmsStatement(input: {
  readonly modelName: string;
  readonly resources: readonly { readonly name: string; readonly digest: string }[];
  readonly ignorePaths: readonly string[];
}): Statement {
  const root = omsRootDigest(input.resources.map((r) => r.digest)).slice('sha256:'.length);
  return {
    subject: [{ name: input.modelName, digest: { sha256: root } }],
    predicateType: OMS_PREDICATE_TYPE,
    predicate: {
      resources: input.resources.map((r) => ({ name: r.name, algorithm: 'sha256', digest: r.digest })),
      serialization: { method: 'files', hash_type: 'sha256', allow_symlinks: false, ignore_paths: [...input.ignorePaths] },
    },
  };
}

function invalid(message: string): CustodyError {
  return new CustodyError('INVALID_STATEMENT', message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses and checks the statement bytes of an OMS bundle (exactly the signed bytes).
 * v1.0: one subject whose sha256 is the root over the resources in listed order, `files` +
 * `sha256` serialization, at least one resource with a safe, unique name. Legacy v0.1: one
 * subject per file. Unknown predicate fields are ignored, as `model_signing` does.
 * @throws CustodyError INVALID_STATEMENT naming the first problem.
 */
export function parseOmsStatement(payload: Uint8Array): OmsStatement {
  // The generic parser refuses duplicate keys and deep nesting, and checks _type and subjects.
  const statement = parseStatement(payload);
  if (statement.predicateType === OMS_PREDICATE_TYPE) return parseV1(statement);
  if (statement.predicateType === OMS_LEGACY_PREDICATE_TYPE) return parseLegacy(statement);
  throw invalid(`the predicateType is ${JSON.stringify(statement.predicateType).slice(0, 200)}, not ${OMS_PREDICATE_TYPE}`);
}

function parseV1(statement: Statement): OmsStatement {
  const subject = statement.subject[0];
  if (subject === undefined || statement.subject.length !== 1) throw invalid('an OMS statement must have exactly one subject');
  const subjectRoot = subject.digest.sha256;
  if (!isSha256Hex(subjectRoot)) throw invalid('the subject must carry a sha256 digest');
  const predicate = statement.predicate;
  const serialization = predicate.serialization;
  if (!isRecord(serialization)) throw invalid('the predicate has no serialization object');
  if (serialization.method !== 'files') {
    throw invalid(`serialization method ${JSON.stringify(String(serialization.method)).slice(0, 80)} is not supported (only "files")`);
  }
  if (serialization.hash_type !== 'sha256') {
    throw invalid(`hash_type ${JSON.stringify(String(serialization.hash_type)).slice(0, 80)} is not supported (only "sha256")`);
  }
  const allowSymlinks = serialization.allow_symlinks ?? false;
  if (typeof allowSymlinks !== 'boolean') throw invalid('serialization.allow_symlinks must be a boolean');
  const ignorePaths = serialization.ignore_paths ?? [];
  if (!Array.isArray(ignorePaths) || !ignorePaths.every((p): p is string => typeof p === 'string')) {
    throw invalid('serialization.ignore_paths must be an array of strings');
  }
  if (!Array.isArray(predicate.resources) || predicate.resources.length === 0) throw invalid('the predicate lists no resources');
  const resources = checkResources(
    predicate.resources.map((r: unknown) => {
      if (!isRecord(r)) throw invalid('a resource is not an object');
      if (r.algorithm !== 'sha256') throw invalid(`resource algorithm ${JSON.stringify(String(r.algorithm)).slice(0, 80)} is not "sha256"`);
      return { name: r.name, algorithm: 'sha256', digest: r.digest };
    }),
  );
  const root = omsRootDigest(resources.map((r) => r.digest)).slice('sha256:'.length);
  if (root !== subjectRoot) {
    throw invalid(`the subject digest ${subjectRoot} is not the root digest of the resources (${root})`);
  }
  return {
    predicateType: OMS_PREDICATE_TYPE,
    legacy: false,
    subjectName: subject.name ?? null,
    rootDigest: root,
    resources,
    allowSymlinks,
    ignorePaths,
  };
}

/** v0.1 `Digests`: each subject is a file `{name, digest: {sha256}}`; there is no root. */
function parseLegacy(statement: Statement): OmsStatement {
  const resources = checkResources(statement.subject.map((s) => ({ name: s.name, algorithm: 'sha256', digest: s.digest.sha256 })));
  return { predicateType: OMS_LEGACY_PREDICATE_TYPE, legacy: true, subjectName: null, rootDigest: null, resources, allowSymlinks: false, ignorePaths: [] };
}

function checkResources(entries: readonly { name: unknown; algorithm: string; digest: unknown }[]): OmsResource[] {
  const seen = new Set<string>();
  return entries.map(({ name, algorithm, digest }) => {
    if (typeof name !== 'string') throw invalid('a resource has no name');
    if (name === '.') {
      if (entries.length !== 1) throw invalid('resource "." (a single-file model) must be the only resource');
    } else {
      try {
        assertSafePath(name);
      } catch (error) {
        throw invalid(`resource name ${JSON.stringify(name).slice(0, 200)} is not a safe relative path: ${error instanceof Error ? error.message : ''}`);
      }
    }
    if (seen.has(name)) throw invalid(`resource ${JSON.stringify(name).slice(0, 200)} is listed twice`);
    seen.add(name);
    if (!isSha256Hex(digest)) throw invalid(`resource ${JSON.stringify(name).slice(0, 200)} has no lowercase hex sha256 digest`);
    return { name, algorithm, digest };
  });
}

/**
 * Compares signed resources with the files of a model (pure; SPEC §4.1). For a single-file model
 * the one file matches resource `"."` (the Python reference signer) or its own name (the spec).
 * Names in the result are as signed (missing, changed) or as on disk (extra), in input order.
 */
export function compareOmsResources(
  resources: readonly { readonly name: string; readonly digest: string }[],
  files: readonly { readonly path: string; readonly sha256: string }[],
  options: { readonly singleFile: boolean; readonly ignoreUnsignedFiles?: boolean },
): OmsComparison {
  const single = options.singleFile ? files[0] : undefined;
  const keyOf = (name: string): string => (single !== undefined && name === '.' ? single.path : name);
  const onDisk = new Map(files.map((f) => [f.path, f.sha256]));
  const signed = new Set<string>();
  const missing: string[] = [];
  const changed: string[] = [];
  for (const resource of resources) {
    const key = keyOf(resource.name);
    signed.add(key);
    const digest = onDisk.get(key);
    if (digest === undefined) missing.push(resource.name);
    else if (digest !== resource.digest) changed.push(resource.name);
  }
  const extra = options.ignoreUnsignedFiles === true ? [] : files.filter((f) => !signed.has(f.path)).map((f) => f.path);
  return { missing, extra, changed };
}
