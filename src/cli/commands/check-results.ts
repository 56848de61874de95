/**
 * How `promote` and `policy eval` print an evaluation (SPEC §6.1, §8): one line per requirement
 * and gate with its result as a word (PASS, FAIL, MISSING, REVOKED, ERROR) behind a ✓ or ✗ —
 * never colour alone — and its message; every string the server sent goes through displayText.
 */
import type { GateResultBody, RequirementResultBody } from '../../sdk/promotion-api.js';
import { displayText } from './browse-commands.js';

export interface CheckResults {
  readonly requirements: readonly RequirementResultBody[];
  readonly gates: readonly GateResultBody[];
}

/** `✓ PASS   ` / `✗ MISSING` — the mark and the word, padded so names line up. */
function verdict(result: string): string {
  return `${result === 'PASS' ? '✓' : '✗'} ${result.padEnd(7)}`;
}

function requirementLine(r: RequirementResultBody): string {
  const label = r.source === 'requireFrom' ? 'requireFrom' : `${displayText(r.name, 60)} (${r.source})`;
  return `  ${verdict(r.result)}  requirement ${label}: ${displayText(r.message, 300)}`;
}

function gateLines(g: GateResultBody): string[] {
  // A gate's message says what is wrong when it does not hold; a passing gate is shown by name.
  if (g.result === 'PASS') return [`  ${verdict(g.result)}  gate ${displayText(g.name, 60)}`];
  const line = `  ${verdict(g.result)}  gate ${displayText(g.name, 60)}: ${displayText(g.message, 300)}`;
  return g.detail === undefined ? [line] : [line, `             why: ${displayText(g.detail, 300)}`];
}

/** Every requirement and gate (or only those that did not pass), one per line, requirements first. */
export function checkLines(checks: CheckResults, options: { failedOnly?: boolean } = {}): string[] {
  const keep = (result: string): boolean => options.failedOnly !== true || result !== 'PASS';
  return [...checks.requirements.filter((r) => keep(r.result)).map(requirementLine), ...checks.gates.filter((g) => keep(g.result)).flatMap(gateLines)];
}
