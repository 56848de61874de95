/**
 * The gate checklist of one environment (reference/ui-screens.md §2.2, "the core of the page"):
 * the evaluated policy, the overall verdict, and one row per requirement and gate with its
 * status pill, the attestations that satisfied it, and the precise sentence saying what is
 * missing. It renders the `Evaluation` that `PromotionService.evaluate` computes — the same
 * result `custody policy eval` and `GET …/environments/{env}/evaluation` show.
 */
import type { Evaluation } from '../policy/evaluate-policy.js';
import type { CheckResult } from '../policy/check-requirement.js';
import { html, type Html } from './html.js';
import { digestCode } from './digest-code.js';
import { statusPill, type Status } from './status-pill.js';

function pillOf(result: CheckResult): Status {
  return result === 'PASS' ? 'PASS' : result === 'FAIL' ? 'FAIL' : result === 'MISSING' ? 'MISSING' : result === 'REVOKED' ? 'REVOKED' : 'ERROR';
}

/** "Ready", or "Blocked (n missing, m failing)". */
export function verdictOf(evaluation: Evaluation): string {
  const rows = [...evaluation.requirements.map((r) => r.result), ...evaluation.gates.map((g) => g.result)];
  if (evaluation.outcome === 'allow') return 'Ready';
  const missing = rows.filter((r) => r === 'MISSING').length;
  const failing = rows.length - missing - rows.filter((r) => r === 'PASS').length;
  return `Blocked (${missing} missing, ${failing} failing)`;
}

/** One environment's card: `id` is the card's heading id (for aria-labelledby). */
export function gateChecklist(environment: string, evaluation: Evaluation, options: { readonly current: boolean; readonly id: string }): Html {
  const verdict = options.current ? 'Already promoted' : verdictOf(evaluation);
  const total = evaluation.requirements.length + evaluation.gates.length;
  const passing = [...evaluation.requirements, ...evaluation.gates].filter((r) => r.result === 'PASS').length;
  return html`<section class="gate-card" aria-labelledby="${options.id}" data-environment="${environment}" data-outcome="${evaluation.outcome}">
<h3 id="${options.id}">${environment}: ${statusPill(evaluation.outcome === 'allow' ? 'PASS' : 'FAIL', `${environment}: ${verdict}, ${passing} of ${total} checks pass`)} ${verdict}</h3>
<p class="muted">Policy ${evaluation.policyDigest === null ? html`baseline only` : digestCode(evaluation.policyDigest)} · effective ${digestCode(evaluation.effectiveDigest)} · input ${digestCode(evaluation.inputDigest)}</p>
<table>
<thead><tr><th scope="col">Check</th><th scope="col">Status</th><th scope="col">Evidence</th><th scope="col">What is missing</th></tr></thead>
<tbody>
${evaluation.requirements.map(
  (r) => html`<tr data-check="requirement:${r.name}" data-result="${r.result}">
<th scope="row">requirement <code>${r.name}</code> <span class="muted">(${r.source})</span></th>
<td>${statusPill(pillOf(r.result), `Requirement ${r.name}: ${r.result}`)}</td>
<td>${r.satisfiedBy.length === 0 ? html`<span class="muted">—</span>` : r.satisfiedBy.map((d) => html`${digestCode(d)} `)}</td>
<td>${r.result === 'PASS' ? html`<span class="muted">—</span>` : r.message}</td>
</tr>`,
)}
${evaluation.gates.map(
  (g) => html`<tr data-check="gate:${g.name}" data-result="${g.result}">
<th scope="row">gate <code>${g.name}</code></th>
<td>${statusPill(pillOf(g.result), `Gate ${g.name}: ${g.result}`)}</td>
<td><span class="muted">—</span></td>
<td>${g.result === 'PASS' ? html`<span class="muted">—</span>` : html`${g.message}${g.detail === undefined ? '' : html` <span class="muted">(${g.detail})</span>`}`}</td>
</tr>`,
)}
</tbody>
</table>
</section>`;
}
