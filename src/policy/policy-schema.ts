/**
 * The strict shape of a promotion policy (SPEC §6) and of a server baseline (§6.1): zod schemas
 * that refuse unknown keys, bound every list and string, and make requirement names usable as CEL
 * identifiers. `policy-document.ts` turns a validated value into the typed document.
 */
import { z } from 'zod';
import { CustodyError, type ErrorCode } from '../domain/errors.js';
import { policyFixtureSchema } from './policy-fixture.js';

/** Names of the CEL input other than the requirements (§6.1); no requirement may take one. */
export const RESERVED_INPUT_NAMES: readonly string[] = ['version', 'model', 'provenance', 'principal', 'environment', 'now', 'attestations'];
/** CEL keywords, reserved words and built-in names a variable must not shadow. */
const CEL_RESERVED: ReadonlySet<string> = new Set([
  'true', 'false', 'null', 'in', 'as', 'break', 'const', 'continue', 'else', 'for', 'function', 'if', 'import', 'let', 'loop',
  'package', 'namespace', 'return', 'var', 'void', 'while', 'has', 'size', 'int', 'uint', 'double', 'string', 'bytes', 'bool',
  'list', 'map', 'type', 'dyn', 'null_type', 'timestamp', 'duration', 'matches', 'cel', 'optional',
]);

export const MAX_GATE_EXPRESSION_LENGTH = 4_000;
export const MAX_REQUIREMENTS = 32;
export const MAX_GATES = 64;
export const MAX_POLICY_TESTS = 100;

const NAME = /^[a-z0-9][a-z0-9._-]{0,127}$/;
const ENVIRONMENT = /^[a-z][a-z0-9-]{0,62}$/;
const REQUIREMENT_NAME = /^[a-z_][a-z0-9_]{0,63}$/;
const GATE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const PREDICATE_TYPE = /^[a-zA-Z][a-zA-Z0-9+.-]*:[\x21-\x7e]{1,500}$/;

const text = (max: number): z.ZodString => z.string().min(1, 'must not be empty').max(max, `must be at most ${max} characters`);
const keyName = z.string().regex(NAME, 'must be a key name matching [a-z0-9][a-z0-9._-]{0,127}');
export const environmentNameSchema = z.string().regex(ENVIRONMENT, 'must be an environment name (a-z, 0-9, "-", at most 63 characters)');
const predicateTypeSchema = z.string().max(512, 'must be at most 512 characters').regex(PREDICATE_TYPE, 'must be a predicate type URI');
const signersSchema = z
  .array(keyName)
  .min(1, 'must name at least one signer key')
  .max(32, 'must name at most 32 signer keys')
  .refine((list) => new Set(list).size === list.length, 'must not repeat a signer');

export const requirementSchema = z.strictObject({
  predicateType: predicateTypeSchema,
  signers: signersSchema,
  threshold: z.number().int('must be an integer').min(1, 'must be at least 1').max(32, 'must be at most 32').default(1),
  message: text(500).optional(),
});

/** A map of requirement name → requirement: `spec.attestations` of a document, or a baseline. */
export const requirementsSchema = z
  .record(z.string(), requirementSchema)
  .superRefine((record, ctx) => {
    const names = Object.keys(record);
    if (names.length > MAX_REQUIREMENTS) ctx.addIssue({ code: 'custom', message: `at most ${MAX_REQUIREMENTS} requirements` });
    for (const name of names) {
      const problem = requirementNameProblem(name);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [name], message: problem });
    }
  });

const gateSchema = z.strictObject({
  name: z.string().regex(GATE_NAME, 'must be a gate name matching [a-z0-9][a-z0-9._-]{0,63}'),
  expr: text(MAX_GATE_EXPRESSION_LENGTH),
  message: text(500),
});

const chainSchema = z.strictObject({
  steps: z
    .array(z.strictObject({ name: z.string().regex(NAME, 'must be a step name matching [a-z0-9][a-z0-9._-]{0,127}'), predicateType: predicateTypeSchema, signers: signersSchema }))
    .min(1, 'must list at least one step')
    .max(16, 'must list at most 16 steps')
    .refine((steps) => new Set(steps.map((s) => s.name)).size === steps.length, 'step names must be unique'),
  roots: z.array(text(1024)).max(64, 'must list at most 64 roots').default([]),
});

const testSchema = z.strictObject({
  name: text(200),
  input: z
    .strictObject({ fixture: text(1024).optional(), inline: policyFixtureSchema.optional() })
    .refine((input) => (input.fixture === undefined) !== (input.inline === undefined), 'must be either {fixture: PATH} or {inline: FIXTURE}'),
  expect: z.enum(['allow', 'deny']),
});

export const policyDocumentSchema = z.strictObject({
  apiVersion: z.literal('custody.dev/v1'),
  kind: z.literal('PromotionPolicy'),
  metadata: z.strictObject({ name: z.string().regex(NAME, 'must match [a-z0-9][a-z0-9._-]{0,127}'), environment: environmentNameSchema }),
  spec: z.strictObject({
    requireFrom: environmentNameSchema.optional(),
    attestations: requirementsSchema.default({}),
    gates: z
      .array(gateSchema)
      .max(MAX_GATES, `must list at most ${MAX_GATES} gates`)
      .default([])
      .superRefine((gates, ctx) => {
        const seen = new Set<string>();
        gates.forEach((gate, index) => {
          if (seen.has(gate.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `gate name "${gate.name}" is used twice` });
          seen.add(gate.name);
        });
      }),
    chain: chainSchema.optional(),
    tests: z
      .array(testSchema)
      .max(MAX_POLICY_TESTS, `must list at most ${MAX_POLICY_TESTS} tests`)
      .default([])
      .superRefine((tests, ctx) => {
        const seen = new Set<string>();
        tests.forEach((test, index) => {
          if (seen.has(test.name)) ctx.addIssue({ code: 'custom', path: [index, 'name'], message: `test name "${test.name}" is used twice` });
          seen.add(test.name);
        });
      }),
  }),
});

/** Why `name` cannot name a requirement, or undefined when it can. */
export function requirementNameProblem(name: string): string | undefined {
  if (!REQUIREMENT_NAME.test(name)) return `requirement name "${name.slice(0, 80)}" must be a CEL identifier matching [a-z_][a-z0-9_]* (at most 64 characters)`;
  if (RESERVED_INPUT_NAMES.includes(name)) return `requirement name "${name}" is reserved for the policy input (${RESERVED_INPUT_NAMES.join(', ')})`;
  if (CEL_RESERVED.has(name)) return `requirement name "${name}" is a CEL keyword or built-in`;
  return undefined;
}

/** Validates `value` with `schema`; the first problems become one CustodyError(code) naming each path (`spec.gates.1.expr: …`). */
export function validatePolicyValue<T>(schema: z.ZodType<T>, value: unknown, source: string, code: ErrorCode): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.slice(0, 10).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    const message = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.join(', ')}` : issue.message;
    return { path: where, message };
  });
  const summary = issues.map((i) => `${i.path}: ${i.message}`).join('; ');
  throw new CustodyError(code, `${source}: ${summary}`, { details: { issues } });
}
