/**
 * What compile-time inspection of a gate's cel-js AST enforces and learns (SPEC §6.1, §10 "policy
 * as a weapon"): `matches` is refused anywhere (JavaScript regular expressions backtrack, and the
 * strings they would run on come from attestations); comprehensions nest at most three deep, so
 * the cost of a gate is at most cubic in its input lists — the evaluation time limit cuts the
 * rest; and the identifiers the gate names, so a gate over a requirement that does not hold is
 * reported with that requirement's result instead of being evaluated on an empty list.
 */
import { MAX_COMPREHENSION_NESTING } from './gate-environment.js';

const COMPREHENSIONS: ReadonlySet<string> = new Set(['all', 'exists', 'exists_one', 'map', 'filter']);
const FORBIDDEN_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  ['matches', 'matches() is not allowed in gates (regular expressions can be made to run for a long time); use startsWith, endsWith, contains, == or in'],
]);

/** A problem at `offset` in the expression. */
export class GateAstProblem extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/** Throws GateAstProblem for a forbidden construct; returns every identifier the expression names. */
export function inspectGateAst(ast: unknown): ReadonlySet<string> {
  const identifiers = new Set<string>();
  // Iterative walk: the AST depth is bounded by cel-js, but no recursion is needed to be safe.
  const stack: { node: unknown; nesting: number }[] = [{ node: ast, nesting: 0 }];
  for (let item = stack.pop(); item !== undefined; item = stack.pop()) {
    const { node, nesting } = item;
    if (Array.isArray(node)) {
      for (const child of node) stack.push({ node: child, nesting });
      continue;
    }
    if (typeof node !== 'object' || node === null || !('op' in node) || !('args' in node)) continue;
    const { op, args } = node;
    const offset = 'pos' in node && typeof node.pos === 'number' ? node.pos : 0;
    if (op === 'id' && typeof args === 'string') {
      identifiers.add(args);
      continue;
    }
    if ((op === 'call' || op === 'rcall') && Array.isArray(args) && typeof args[0] === 'string') {
      const name = args[0];
      const forbidden = FORBIDDEN_FUNCTIONS.get(name);
      if (forbidden !== undefined) throw new GateAstProblem(forbidden, offset);
      if (op === 'rcall' && COMPREHENSIONS.has(name)) {
        // args = [name, receiver, [variable, body…]]: the receiver is evaluated once, the body per element.
        const inner = nesting + 1;
        if (inner > MAX_COMPREHENSION_NESTING) {
          throw new GateAstProblem(`${name}() nests comprehensions ${inner} deep; at most ${MAX_COMPREHENSION_NESTING} are allowed`, offset);
        }
        stack.push({ node: args[1], nesting });
        stack.push({ node: args[2], nesting: inner });
        continue;
      }
    }
    stack.push({ node: args, nesting });
  }
  return identifiers;
}
