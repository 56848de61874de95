/**
 * The CEL environment policy gates are compiled and evaluated in (SPEC §6.1): which variables a
 * gate may name and with which types, and the parse-time limits of cel-js. The same data is sent
 * to the evaluation worker, so the expression a gate was type-checked against at push time is the
 * one it is evaluated against. https://github.com/google/cel-spec/blob/master/doc/langdef.md
 *
 * Types (what a gate sees):
 * - each requirement name (`training`, `scan`, …): `list<dyn>` of `{predicateType, predicate,
 *   signer: {name, keyId}, loggedAt}` — the requirement's valid statements;
 * - `version`, `model`, `provenance`, `principal`: `map<string, dyn>` (`provenance` is `{}` when
 *   the version has none, `principal.claims` is `{}` for a token principal);
 * - `environment`: `string`; `now`: `google.protobuf.Timestamp` (compare with
 *   `timestamp(x.loggedAt)`, `now - duration("24h")`);
 * - instants inside maps (`loggedAt`, `version.registeredAt`) are RFC 3339 strings;
 * - JSON numbers that are safe integers are CEL `int`, other numbers `double`.
 */
import { Environment } from '@marcbachmann/cel-js';

/** A CEL variable declaration: name and cel-js type string. */
export type CelVariable = readonly [name: string, type: string];

/** cel-js parse-time bounds on every gate (SPEC §10 "policy as a weapon"). */
export const GATE_LIMITS = {
  maxAstNodes: 1_000,
  maxDepth: 48,
  maxListElements: 256,
  maxMapEntries: 256,
  maxCallArguments: 16,
} as const;

/** Comprehensions (all, exists, exists_one, map, filter) may nest at most this deep. */
export const MAX_COMPREHENSION_NESTING = 3;

export const TIMESTAMP_TYPE = 'google.protobuf.Timestamp';

/** The fixed part of the input (§6.1), after the requirement lists. */
export const INPUT_VARIABLES: readonly CelVariable[] = [
  ['version', 'map<string, dyn>'],
  ['model', 'map<string, dyn>'],
  ['provenance', 'map<string, dyn>'],
  ['principal', 'map<string, dyn>'],
  ['environment', 'string'],
  ['now', TIMESTAMP_TYPE],
];

/** Declarations for a policy whose requirement names (document ∪ baseline) are `requirementNames`. */
export function gateVariables(requirementNames: Iterable<string>): readonly CelVariable[] {
  const names = [...new Set(requirementNames)].sort();
  return [...names.map((name): CelVariable => [name, 'list<dyn>']), ...INPUT_VARIABLES];
}

/** A cel-js environment with the gate limits and `variables` declared. */
export function createGateEnvironment(variables: readonly CelVariable[]): Environment {
  const environment = new Environment({ limits: { ...GATE_LIMITS } });
  for (const [name, type] of variables) environment.registerVariable(name, type);
  return environment;
}
