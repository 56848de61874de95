/**
 * "What would change" for a pending policy proposal (reference/ui-screens.md §2.4): the versions
 * whose verdict would flip if the proposal became active — placements in its environment that
 * would no longer pass there, and versions one environment before it whose promotion would become
 * allowed or denied — from `PromotionService.previewPolicy` (`service/policy-preview.ts`), which
 * evaluates with the same code as real decisions and writes nothing. Read-only, so it needs what
 * the policy page needs; only models the viewer may read are judged and shown.
 */
import { CustodyError } from '../../domain/errors.js';
import type { PolicyImpact } from '../../service/policy-preview.js';
import { digestCode } from '../digest-code.js';
import { html, pathSegment, type Html } from '../html.js';
import { definePage, requireSignedIn, type PageDef } from '../page.js';
import { statusPill } from '../status-pill.js';
import { environmentAnchor } from './policy-sections.js';

const verdict = (outcome: 'allow' | 'deny'): Html => html`${statusPill(outcome === 'allow' ? 'PASS' : 'FAIL', outcome === 'allow' ? 'Allowed' : 'Denied')} ${outcome === 'allow' ? 'allowed' : 'denied'}`;

function impactRow(impact: PolicyImpact): Html {
  const { alias, version } = impact;
  const href = `/models/${pathSegment(alias.namespace)}/${pathSegment(alias.name)}/versions/${pathSegment(version.digest)}`;
  return html`<tr data-kind="${impact.kind}" data-now="${impact.now}" data-proposed="${impact.proposed}">
<th scope="row"><a href="${href}">${alias.namespace}/${alias.name} v${version.number}</a><br>${digestCode(version.digest)}</th>
<td>${impact.kind === 'placed' ? html`in ${alias.environment}` : html`in ${alias.environment}, a candidate for promotion`}</td>
<td>${verdict(impact.now)}</td>
<td>${verdict(impact.proposed)}</td>
<td>${impact.failures.length === 0 ? html`<span class="muted">—</span>` : html`<ul>${impact.failures.map((f) => html`<li>${f}</li>`)}</ul>`}</td>
</tr>`;
}

export const policyPreviewPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/policy/{environment}/proposals/{id}/preview',
    access: { permission: 'model:read', scope: 'any' },
    handle: async (ctx) => {
      const { services, params } = ctx;
      const { actor } = requireSignedIn(ctx);
      const environment = params['environment'] ?? '';
      services.policies.assertEnvironment(environment);
      const proposal = (await services.policies.listProposed()).find((p) => p.id === params['id'] && p.environment === environment);
      if (proposal === undefined) throw new CustodyError('NOT_FOUND', `no pending proposal ${String(params['id']).slice(0, 64)} for ${environment}`);
      const preview = await services.promotions.previewPolicy(actor, proposal, { namespaces: services.auth.namespacesWith(actor, 'model:read') });
      const body = html`<h1>What would change: ${environment} policy #${proposal.number}</h1>
<p>If proposal #${proposal.number} (${digestCode(proposal.digest)}, proposed by <strong>${proposal.proposedBy}</strong>) became the active ${environment} policy now,
these verdicts would change. ${preview.judged} version${preview.judged === 1 ? ' was' : 's were'} judged with the active policy and with the proposal${preview.truncated ? ' (only the first placements of a large environment: the list may be incomplete)' : ''}; nothing was decided or logged.</p>
${
  preview.changes.length === 0
    ? html`<p class="empty">No verdict would change.</p>`
    : html`<table>
<caption class="muted">${preview.changes.length} verdict${preview.changes.length === 1 ? '' : 's'} would change</caption>
<thead><tr><th scope="col">Version</th><th scope="col">Where</th><th scope="col">Now</th><th scope="col">Under the proposal</th><th scope="col">What would not pass</th></tr></thead>
<tbody>${preview.changes.map(impactRow)}</tbody>
</table>`
}
<p><a href="/policy#${environmentAnchor(environment)}-pending">Back to the pending proposals</a></p>`;
      return { kind: 'page', title: `What would change: ${environment} policy #${proposal.number}`, body };
    },
  }),
];
