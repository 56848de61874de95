/**
 * Decoders that turn rows read back from the metadata store into domain records. A row is
 * hostile until decoded: the drivers return integers as numbers, strings or bigints, and a
 * corrupt row becomes CustodyError INTERNAL naming the table and column, never the content.
 */
import { MAX_LEAF_BYTES } from '../../domain/log-event.js';
import { z } from 'zod';
import { CustodyError } from '../../domain/errors.js';
import { assertSafePath } from '../../domain/manifest.js';

/**
 * A 64-bit integer from either driver as a JS number, or undefined when it is not an integer or
 * would lose precision (beyond Number.MAX_SAFE_INTEGER).
 */
export function toSafeInteger(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'bigint') {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : undefined;
  }
  if (typeof value === 'string' && /^-?[0-9]{1,16}$/.test(value)) {
    const number = Number(value);
    return Number.isSafeInteger(number) ? number : undefined;
  }
  return undefined;
}

export const integer = z.unknown().transform((value, ctx) => {
  const number = toSafeInteger(value);
  if (number === undefined) {
    ctx.addIssue({ code: 'custom', message: 'not a safe integer' });
    return z.NEVER;
  }
  return number;
});
export const nonNegative = integer.refine((n) => n >= 0, 'negative');
const flag = z.union([z.literal(0), z.literal(1), z.boolean()]).transform((v) => v === 1 || v === true);
export const jsonText = z.string().transform((text, ctx): unknown => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not JSON' });
    return z.NEVER;
  }
});
export const stringList = z.array(z.string()).readonly();
export const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
export const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/);
const safePath = z.string().refine((path) => {
  try {
    assertSafePath(path);
    return true;
  } catch {
    return false;
  }
}, 'unsafe path');

const principalRow = z
  .object({
    id: z.string(),
    name: z.string(),
    kind: z.enum(['user', 'service']),
    created_at: z.string(),
    disabled_at: z.string().nullable(),
    oidc_issuer: z.string().nullable(),
    oidc_subject: z.string().nullable(),
    oidc_condition: z.string().nullable(),
  })
  .refine(
    // A user's OIDC identity (web UI single sign-on) never has a condition; a service's may.
    (r) => (r.oidc_issuer === null) === (r.oidc_subject === null) && (r.oidc_condition === null || (r.oidc_issuer !== null && r.kind === 'service')),
    'inconsistent OIDC identity',
  )
  .transform((r) => ({
    id: r.id,
    name: r.name,
    kind: r.kind,
    createdAt: r.created_at,
    disabledAt: r.disabled_at,
    oidc: r.oidc_issuer === null || r.oidc_subject === null ? null : { issuer: r.oidc_issuer, subject: r.oidc_subject, condition: r.oidc_condition },
  }));

const tokenRow = z
  .object({
    id: z.string(),
    principal_id: z.string(),
    name: z.string(),
    token_hash: hex64,
    created_at: z.string(),
    expires_at: z.string().nullable(),
    revoked_at: z.string().nullable(),
    permissions: jsonText.pipe(stringList).nullable(),
  })
  .transform((r) => ({
    id: r.id,
    principalId: r.principal_id,
    name: r.name,
    tokenHash: r.token_hash,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    revokedAt: r.revoked_at,
    permissions: r.permissions,
  }));

const bindingRow = z
  .object({
    id: z.string(),
    principal_id: z.string(),
    role: z.string(),
    namespaces: jsonText.pipe(stringList).nullable(),
    environments: jsonText.pipe(stringList).nullable(),
    condition: z.string().nullable(),
    created_at: z.string(),
    revoked_at: z.string().nullable(),
  })
  .transform((r) => ({
    id: r.id,
    principalId: r.principal_id,
    role: r.role,
    namespaces: r.namespaces,
    environments: r.environments,
    condition: r.condition,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
  }));

const modelRow = z
  .object({ namespace: z.string(), name: z.string(), created_at: z.string() })
  .transform((r) => ({ namespace: r.namespace, name: r.name, createdAt: r.created_at }));

const modelSummaryRow = z
  .object({
    namespace: z.string(),
    name: z.string(),
    created_at: z.string(),
    version_count: nonNegative,
    latest_number: nonNegative.nullable(),
    latest_digest: digest.nullable(),
    latest_registered_at: z.string().nullable(),
  })
  .transform((r) => ({
    namespace: r.namespace,
    name: r.name,
    createdAt: r.created_at,
    versionCount: r.version_count,
    latestNumber: r.latest_number,
    latestDigest: r.latest_digest,
    latestRegisteredAt: r.latest_registered_at,
  }));

const versionRow = z
  .object({
    id: z.string(),
    namespace: z.string(),
    name: z.string(),
    number: integer.refine((n) => n >= 1, 'not positive'),
    digest,
    oms_root_digest: digest,
    single_file: flag,
    file_count: nonNegative,
    total_size: nonNegative,
    annotations: jsonText.nullable(),
    registered_at: z.string(),
    registered_by: z.string(),
  })
  .transform((r) => ({
    id: r.id,
    namespace: r.namespace,
    name: r.name,
    number: r.number,
    digest: r.digest,
    omsRootDigest: r.oms_root_digest,
    singleFile: r.single_file,
    fileCount: r.file_count,
    totalSize: r.total_size,
    annotations: r.annotations,
    registeredAt: r.registered_at,
    registeredBy: r.registered_by,
  }));

const fileRow = z
  .object({ path: safePath, size: nonNegative, sha256: hex64 })
  .transform((r) => ({ path: r.path, size: r.size, sha256: r.sha256 }));

const uploadSessionRow = z
  .object({
    id: z.string(),
    principal_id: z.string(),
    sha256: z.string(),
    size: nonNegative,
    created_at: z.string(),
    updated_at: z.string(),
  })
  .transform((r) => ({
    id: r.id,
    principalId: r.principal_id,
    sha256: r.sha256,
    size: r.size,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }));

/** Longest leaf the log stores: C2SP entry bundles prefix each entry with a 16-bit length. */
export const MAX_LOG_LEAF_BYTES = MAX_LEAF_BYTES;

const required = z.string().min(1);
const leafText = z.string().refine((leaf) => Buffer.byteLength(leaf, 'utf8') <= MAX_LOG_LEAF_BYTES, 'leaf too long');

const logHeadRow = z.object({ size: nonNegative }).transform((r) => r.size);

const logEntryRow = z
  .object({
    idx: nonNegative,
    leaf: leafText,
    leaf_hash: hex64,
    type: required,
    time: required,
    namespace: z.string().nullable(),
    name: z.string().nullable(),
  })
  .transform((r) => ({ index: r.idx, leaf: r.leaf, leafHash: r.leaf_hash, type: r.type, time: r.time, namespace: r.namespace, name: r.name }));

const logIndexRow = z.object({ idx: nonNegative }).transform((r) => r.idx);

/** The hash stays hex here; the log reader turns it into bytes at the seam. */
const logHashRow = z.object({ id: nonNegative, hash: hex64 }).transform((r) => ({ id: r.id, hash: r.hash }));

const checkpointRow = z
  .object({ size: nonNegative, note: required, created_at: required })
  .transform((r) => ({ size: r.size, note: r.note, createdAt: r.created_at }));

/** Decoders by table: each validates one row and returns the domain record, or throws INTERNAL. */
export const ROW_DECODERS = {
  principals: principalRow,
  api_tokens: tokenRow,
  role_bindings: bindingRow,
  models: modelRow,
  model_summaries: modelSummaryRow,
  versions: versionRow,
  version_files: fileRow,
  upload_sessions: uploadSessionRow,
  log_head: logHeadRow,
  log_entries: logEntryRow,
  log_entry_indexes: logIndexRow,
  log_hashes: logHashRow,
  checkpoints: checkpointRow,
} as const;

export type RowKind = keyof typeof ROW_DECODERS;

/** Validates a row read back from `kind` and returns its domain record; a corrupt row throws INTERNAL. */
export function decodeRow<K extends RowKind>(kind: K, row: unknown): z.output<(typeof ROW_DECODERS)[K]> {
  const result = ROW_DECODERS[kind].safeParse(row);
  if (!result.success) {
    throw new CustodyError('INTERNAL', `corrupt ${kind} row in the metadata store`, { details: { table: kind, column: firstColumn(result.error) } });
  }
  return result.data as z.output<(typeof ROW_DECODERS)[K]>;
}

/** The column the first issue of a row decoder's error names, if any. */
function firstColumn(error: z.ZodError): string | null {
  const column = error.issues[0]?.path[0];
  return typeof column === 'string' ? column : null;
}

/**
 * The first column of `row` that `kind`'s decoder would reject, or undefined when the row reads
 * back: writers check rows against the decoders so nothing they store is unreadable.
 */
export function rejectedColumn(kind: RowKind, row: unknown): string | undefined {
  const result = ROW_DECODERS[kind].safeParse(row);
  return result.success ? undefined : (firstColumn(result.error) ?? '(row)');
}
