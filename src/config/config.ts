/**
 * Server configuration (SPEC §3.1): one YAML file, every key optional, validated at start with a
 * message naming the bad key; environment variables override single keys; relative paths
 * resolve against the data directory. Only keys that this version implements are accepted — an
 * unknown key is an error, never silently ignored.
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parse as parseYaml } from 'yaml';
import { CustodyError } from '../domain/errors.js';
import { DEFAULT_REQUIRED_PROVENANCE, PROVENANCE_FIELDS } from '../domain/provenance.js';
import { oidcIssuerSchema } from '../auth/oidc-config.js';
import { uiOidcSchema } from '../auth/oidc-login.js';
import { requirementsSchema } from '../policy/policy-schema.js';

const environmentName = z.string().regex(/^[a-z][a-z0-9-]{0,62}$/, 'must be a lowercase name (a-z, 0-9, "-"), at most 63 characters');

const GiB = 1024 * 1024 * 1024;
const MiB = 1024 * 1024;

const positiveInt = z.number().int().positive();

export const configSchema = z
  .object({
    server: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8700),
        publicUrl: z.url().optional(),
        logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
        /** How long a graceful shutdown waits for in-flight requests before cutting them. */
        shutdownTimeoutMs: positiveInt.default(30_000),
        /** Requests that send no bytes for this long are cut (slowloris). */
        requestIdleTimeoutMs: positiveInt.default(60_000),
        headersTimeoutMs: positiveInt.default(20_000),
        maxHeaderBytes: positiveInt.default(16 * 1024),
        maxConnections: positiveInt.default(1024),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        metadata: z.string().min(1).default('sqlite:custody.db'),
        blobs: z.string().min(1).default('file:blobs'),
        /** Static S3 credentials (both or neither); without them the AWS environment (AWS_ACCESS_KEY_ID, …) is used. */
        s3AccessKeyId: z.string().min(1).max(256).optional(),
        s3SecretAccessKey: z.string().min(1).max(1024).optional(),
      })
      .strict()
      .refine((s) => (s.s3AccessKeyId === undefined) === (s.s3SecretAccessKey === undefined), {
        message: 's3AccessKeyId and s3SecretAccessKey go together: set both or neither',
      })
      .prefault({}),
    limits: z
      .object({
        maxFileBytes: positiveInt.default(100 * GiB),
        maxFiles: positiveInt.default(100_000),
        maxJsonBytes: positiveInt.default(MiB),
        /** A registration body carries the manifest, which can be large for many-file models. */
        maxManifestBytes: positiveInt.default(64 * MiB),
        maxAnnotationsBytes: positiveInt.default(64 * 1024),
        caseInsensitivePaths: z.boolean().default(false),
        /** Failed authentications one client may make per window before it is answered 429. */
        authFailures: positiveInt.default(20),
        authFailureWindowSeconds: positiveInt.max(3600).default(60),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        /** Checkpoint origin, which is also the log key's name (C2SP signed-note). */
        origin: z
          .string()
          .regex(/^[^\s+]+$/, 'must be a key name: no spaces or "+"')
          .max(256)
          .default('custody.local/log'),
        /** Log reads (`/log/…`, `/api/v1/log/…`) need no token. */
        publicReads: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    keys: z
      .object({
        /** The Ed25519 log key (PKCS#8 PEM, mode 0600), created on first start when absent. */
        log: z.string().regex(/^file:.+/, 'must be file:PATH').default('file:keys/log.key'),
        /** The Ed25519 key that signs Verification Summary Attestations of promotions, created on first start. */
        vsa: z.string().regex(/^file:.+/, 'must be file:PATH').default('file:keys/vsa.key'),
      })
      .strict()
      .prefault({}),
    provenance: z
      .object({
        /** A push must carry a verified training provenance (SPEC §4.3). Off only for local experiments. */
        requireAtEntry: z.boolean().default(true),
        /** Fields the provenance must carry. */
        required: z.array(z.enum(PROVENANCE_FIELDS)).default([...DEFAULT_REQUIRED_PROVENANCE]),
      })
      .strict()
      .prefault({}),
    /** The promotion chain, first to last (SPEC §2); a push lands in the first. */
    environments: z
      .array(environmentName)
      .min(1, 'must name at least one environment')
      .max(16)
      .refine((list) => new Set(list).size === list.length, 'must not repeat an environment')
      .default(['development', 'staging', 'production']),
    promotion: z
      .object({
        /** Only principals of kind `service` may promote into the last environment (SPEC §7). */
        lastEnvironmentServiceOnly: z.boolean().default(true),
        /** Environments whose policy changes need a second principal's approval (default: the last environment). */
        twoPersonPolicyChange: z.array(environmentName).max(16).optional(),
        /** Wall-clock limit for evaluating one policy's gates. */
        evaluationTimeLimitMs: positiveInt.max(10_000).default(250),
      })
      .strict()
      .prefault({}),
    /** Requirements per environment that no policy can remove (SPEC §6.1). */
    baseline: z.record(environmentName, z.object({ attestations: requirementsSchema }).strict()).default({}),
    oidc: z
      .object({
        /** Trusted workload-identity issuers (SPEC §7); service principals bind to issuer + subject. */
        issuers: z.array(oidcIssuerSchema).max(32).default([]),
        /** Tolerance for `exp`, `nbf` and `iat`. */
        clockSkewSeconds: z.number().int().min(0).max(600).default(60),
      })
      .strict()
      .prefault({}),
    uploads: z
      .object({
        /** Sessions untouched for this long are discarded with their bytes. */
        sessionTtlHours: positiveInt.default(24),
      })
      .strict()
      .prefault({}),
    /** Web UI sign-in sessions (issue 8 §2, `service/session-service.ts`). */
    ui: z
      .object({
        /** A session unused for this long must sign in again. */
        sessionIdleMinutes: positiveInt.max(24 * 60).default(30),
        /** A session ends this long after sign-in, however active. */
        sessionMaxHours: positiveInt.max(30 * 24).default(12),
        /** Approving or rejecting a policy, revoking a key and promoting from the web UI need a sign-in this recent. */
        recentAuthMinutes: positiveInt.max(24 * 60).default(5),
        /**
         * Single sign-on with an OpenID Provider (authorization code + PKCE, `auth/oidc-login.ts`);
         * absent: token sign-in only. Needs `server.publicUrl` (the redirect URI). The client
         * secret is best given as CUSTODY_UI_OIDC_CLIENT_SECRET.
         */
        oidc: uiOidcSchema.optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.ui.oidc !== undefined && config.server.publicUrl === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['ui', 'oidc'],
        message: 'needs server.publicUrl: the redirect URI registered at the identity provider is ${server.publicUrl}/sign-in/oidc/callback',
      });
    }
    for (const env of Object.keys(config.baseline)) {
      if (!config.environments.includes(env)) ctx.addIssue({ code: 'custom', path: ['baseline', env], message: `is not one of the environments (${config.environments.join(', ')})` });
    }
    for (const [i, env] of (config.promotion.twoPersonPolicyChange ?? []).entries()) {
      if (!config.environments.includes(env)) {
        ctx.addIssue({ code: 'custom', path: ['promotion', 'twoPersonPolicyChange', i], message: `is not one of the environments (${config.environments.join(', ')})` });
      }
    }
  });

export type Config = z.infer<typeof configSchema>;

/** The environments whose policy changes need two principals (config, default the last one). */
export function twoPersonEnvironments(config: Config): readonly string[] {
  return config.promotion.twoPersonPolicyChange ?? config.environments.slice(-1);
}
export type ConfigInput = z.input<typeof configSchema>;

/** The web UI's single sign-on client secret (`ui.oidc.clientSecret`), kept out of the YAML file. */
export const UI_OIDC_CLIENT_SECRET_ENV = 'CUSTODY_UI_OIDC_CLIENT_SECRET';

/** Environment variables that override single keys, e.g. CUSTODY_STORAGE_METADATA. */
export const ENV_OVERRIDES: readonly { readonly env: string; readonly path: readonly [string, string] }[] = (
  [
    ['server', ['host', 'port', 'publicUrl', 'logLevel', 'shutdownTimeoutMs', 'requestIdleTimeoutMs', 'headersTimeoutMs', 'maxHeaderBytes', 'maxConnections']],
    ['storage', ['metadata', 'blobs', 's3AccessKeyId', 's3SecretAccessKey']],
    ['limits', ['maxFileBytes', 'maxFiles', 'maxJsonBytes', 'maxManifestBytes', 'maxAnnotationsBytes', 'caseInsensitivePaths', 'authFailures', 'authFailureWindowSeconds']],
    ['log', ['origin', 'publicReads']],
    ['keys', ['log', 'vsa']],
    ['uploads', ['sessionTtlHours']],
    ['ui', ['sessionIdleMinutes', 'sessionMaxHours', 'recentAuthMinutes']],
    ['provenance', ['requireAtEntry']],
    ['promotion', ['lastEnvironmentServiceOnly', 'evaluationTimeLimitMs']],
  ] as const
).flatMap(([section, keys]) =>
  keys.map((key) => ({ env: `CUSTODY_${section.toUpperCase()}_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`, path: [section, key] as const })),
);

function describeIssues(error: z.ZodError, source: string): string {
  return error.issues
    .map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : '(root)';
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (issue.path.length > 0 ? `${where}.${k}` : k));
        return `${source}: unknown key ${keys.join(', ')}`;
      }
      return `${source}: ${where}: ${issue.message}`;
    })
    .join('; ');
}

/**
 * Builds the effective configuration from a parsed file (or nothing) and the environment.
 * Throws CONFIG_INVALID naming every bad key.
 */
export function resolveConfig(fileContent: unknown, env: NodeJS.ProcessEnv, source = 'config'): Config {
  if (fileContent !== undefined && fileContent !== null && (typeof fileContent !== 'object' || Array.isArray(fileContent))) {
    throw new CustodyError('CONFIG_INVALID', `${source}: the configuration must be a YAML mapping`);
  }
  const merged: Record<string, Record<string, unknown>> = structuredClone((fileContent ?? {}) as Record<string, Record<string, unknown>>);
  for (const { env: name, path } of ENV_OVERRIDES) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    // Environment values are strings; numbers and booleans are recognised, everything else
    // (URLs, paths) stays a string verbatim.
    const value: unknown = /^-?[0-9]+$/.test(raw) ? Number(raw) : raw === 'true' ? true : raw === 'false' ? false : raw;
    const [section, key] = path;
    const current = merged[section];
    merged[section] = { ...(typeof current === 'object' && current !== null ? current : {}), [key]: value };
  }
  const clientSecret = env[UI_OIDC_CLIENT_SECRET_ENV];
  if (clientSecret !== undefined && clientSecret !== '') {
    const ui = merged['ui'];
    const oidc: unknown = typeof ui === 'object' && ui !== null ? ui['oidc'] : undefined;
    if (typeof oidc !== 'object' || oidc === null || Array.isArray(oidc)) {
      throw new CustodyError('CONFIG_INVALID', `${source}: ${UI_OIDC_CLIENT_SECRET_ENV} is set but ui.oidc is not configured`);
    }
    merged['ui'] = { ...ui, oidc: { ...oidc, clientSecret } };
  }
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) throw new CustodyError('CONFIG_INVALID', describeIssues(parsed.error, source));
  return parsed.data;
}

/** Reads and validates a YAML config file (or only the environment when `file` is undefined). */
export async function loadConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): Promise<Config> {
  if (file === undefined) return resolveConfig(undefined, env);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CustodyError('CONFIG_INVALID', `cannot read config file ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  let content: unknown;
  try {
    content = parseYaml(text, { maxAliasCount: 100 }) as unknown;
  } catch (error) {
    throw new CustodyError('CONFIG_INVALID', `${file}: not valid YAML: ${(error as Error).message.split('\n')[0] ?? ''}`);
  }
  return resolveConfig(content, env, file);
}
