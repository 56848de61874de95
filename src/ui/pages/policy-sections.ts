/**
 * The parts of the policy page (reference/ui-screens.md §2.4), rendered from what
 * `PolicyService` returns — the same values behind `GET /api/v1/environments/{environment}/policy`,
 * `…/policy/history` and `GET /api/v1/policies/proposed`: an environment's effective policy
 * (baseline ∪ active document: its rules, digests, who activated it, when, the log index, and the
 * canonical document), its history with the unified diff of each version against the one before
 * (a rejected proposal with who rejected it, why and the log index), and one pending proposal with
 * its approve and reject forms or the reason there are none.
 */
import type { EffectivePolicy } from '../../service/policy-service.js';
import type { PolicyRecord } from '../../store/metadata-store.js';
import { digestCode } from '../digest-code.js';
import { html, pathSegment, type Html } from '../html.js';
import { csrfField } from '../layout.js';
import type { SignedIn } from '../page.js';
import { statusPill } from '../status-pill.js';

function when(iso: string | null): Html {
  if (iso === null) return html`<span class="muted">—</span>`;
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

/**
 * A policy record's status as icon and text: a pending proposal as the PENDING pill, the others as
 * a badge with the status word (a policy is not a gate result, so PASS/FAIL would mislead).
 */
export function policyStatus(record: PolicyRecord): Html {
  if (record.status === 'proposed') return html`${statusPill('PENDING', 'Proposed, awaiting approval')} proposed`;
  if (record.status === 'rejected') return html`<span class="badge"><span aria-hidden="true">✗</span> REJECTED</span>`;
  const icon = record.status === 'active' ? '✓' : '↷';
  return html`<span class="badge"><span aria-hidden="true">${icon}</span> ${record.status}</span>`;
}

/** The anchor of an environment's section on the policy page. */
export function environmentAnchor(environment: string): string {
  return `policy-${environment}`;
}

/** The "what would change" page of a proposal (`policy-preview-page.ts`). */
export function previewHref(record: PolicyRecord): string {
  return `/policy/${pathSegment(record.environment)}/proposals/${pathSegment(record.id)}/preview`;
}

/** Where a proposal's approve form posts. */
export function approveAction(record: PolicyRecord): string {
  return `/policy/${pathSegment(record.environment)}/proposals/${pathSegment(record.id)}/approve`;
}

/** Where a proposal's reject form posts. */
export function rejectAction(record: PolicyRecord): string {
  return `/policy/${pathSegment(record.environment)}/proposals/${pathSegment(record.id)}/reject`;
}

/** Who rejected a policy, the log index of the rejection, and why (nothing for a policy not rejected with a reason). */
function rejectionFacts(record: PolicyRecord): Html {
  const r = record.rejection;
  if (r === undefined) return html``;
  return html`<br>by <strong>${r.by}</strong>, ${when(record.endedAt)}, log index ${r.logIndex}<br>Reason: <q>${r.reason}</q>`;
}

/**
 * A unified diff in a `<pre>`: added lines in `<ins>`, removed lines in `<del>` (underlined and
 * struck through by default, so the change is never shown by colour alone), the rest as text.
 */
export function diffBlock(diff: string, label: string): Html {
  const lines = diff.replace(/\n$/, '').split('\n');
  return html`<pre class="diff" aria-label="${label}">${lines.map((line, i) => {
    const end = i === lines.length - 1 ? '' : '\n';
    if (line.startsWith('+') && !line.startsWith('+++')) return html`<ins>${line}</ins>${end}`;
    if (line.startsWith('-') && !line.startsWith('---')) return html`<del>${line}</del>${end}`;
    return html`${line}${end}`;
  })}</pre>`;
}

/** The effective policy of one environment: facts about the active document, its rules, and its source. */
export function effectiveSection(shown: EffectivePolicy & { readonly document: string | null }): Html {
  const { active, compiled, environment } = shown;
  const activatedBy = active === null ? null : (active.approvedBy ?? active.proposedBy);
  return html`<h3>Active policy</h3>
<dl class="facts">
<dt>Effective digest</dt><dd>${digestCode(compiled.effectiveDigest)} <span class="muted">(baseline and document together)</span></dd>
${active === null
  ? html`<dt>Document</dt><dd><span class="muted">No policy document is active in ${environment}: only the configured baseline applies.</span></dd>`
  : html`<dt>Document</dt><dd>#${active.number} ${digestCode(active.digest)} ${policyStatus(active)}</dd>
<dt>Proposed</dt><dd>by <strong>${active.proposedBy}</strong>, ${when(active.proposedAt)}, log index ${active.proposedLogIndex}</dd>
<dt>Activated</dt><dd>by <strong>${activatedBy}</strong>${active.approvedBy === null ? ' (active at once: no second approval needed here)' : ' (approval)'}, ${when(active.activatedAt)}, log index ${active.activatedLogIndex ?? '—'}</dd>`}
</dl>
<h4>Required attestations</h4>
${compiled.requirements.length === 0
  ? html`<p class="muted">None.</p>`
  : html`<table><thead><tr><th scope="col">Requirement</th><th scope="col">From</th><th scope="col">Predicate type</th><th scope="col">Signers</th><th scope="col">Threshold</th></tr></thead><tbody>
${compiled.requirements.map(
  (r) => html`<tr><th scope="row">${r.name}</th><td>${r.source}</td><td><code>${r.requirement.predicateType}</code></td><td>${r.requirement.signers.join(', ')}</td><td>${r.requirement.threshold}</td></tr>`,
)}
</tbody></table>`}
<h4>Gates</h4>
${compiled.gates.length === 0
  ? html`<p class="muted">None.</p>`
  : html`<table><thead><tr><th scope="col">Gate</th><th scope="col">Expression</th><th scope="col">Message when it fails</th></tr></thead><tbody>
${compiled.gates.map((g) => html`<tr><th scope="row">${g.name}</th><td><code>${g.expr}</code></td><td>${g.message}</td></tr>`)}
</tbody></table>`}
${shown.document === null
  ? ''
  : html`<details><summary>Document #${active?.number ?? ''} as stored (canonical form)</summary><pre>${shown.document}</pre></details>`}`;
}

/** An environment's policy versions, newest first, each with its diff from the one before. */
export function historySection(environment: string, history: readonly { readonly policy: PolicyRecord; readonly diff: string }[]): Html {
  if (history.length === 0) return html`<h3>History</h3><p class="muted">No policy has been proposed for ${environment} yet.</p>`;
  return html`<h3>History</h3>
<table><thead><tr><th scope="col">Version</th><th scope="col">Digest</th><th scope="col">Status</th><th scope="col">Proposed</th><th scope="col">Approved</th><th scope="col">Activated</th><th scope="col">Ended</th></tr></thead><tbody>
${history.map(
  ({ policy: p }) => html`<tr id="policy-${p.environment}-${p.number}"><th scope="row">#${p.number}</th><td>${digestCode(p.digest)}</td><td>${policyStatus(p)}${rejectionFacts(p)}</td><td>${p.proposedBy}, ${when(p.proposedAt)} (log ${p.proposedLogIndex})</td>
<td>${p.approvedBy === null ? html`<span class="muted">—</span>` : html`${p.approvedBy}, ${when(p.approvedAt)}`}</td><td>${when(p.activatedAt)}${p.activatedLogIndex === null ? '' : ` (log ${p.activatedLogIndex})`}</td><td>${when(p.endedAt)}</td></tr>`,
)}
</tbody></table>
${history.map(
  ({ policy: p, diff }) => html`<details><summary>Changes in #${p.number} (${p.status}) from the version before</summary>${diffBlock(diff, `Diff of ${environment} policy #${p.number}`)}</details>`,
)}`;
}

/**
 * What the signed-in principal may do with a proposal: approve or reject it; withdraw (reject) its
 * own when it holds `policy:approve` there (`mayReject`), never approve it; or nothing.
 */
export type ProposalAction = { readonly kind: 'approve' } | { readonly kind: 'own'; readonly mayReject: boolean } | { readonly kind: 'no-permission' };

/** A proposal's reject form: a required reason, logged with the rejection. */
function rejectForm(record: PolicyRecord, signedIn: SignedIn, own: boolean): Html {
  const id = `proposal-${record.id}`;
  const verb = own ? 'Withdraw' : 'Reject';
  return html`<form method="post" action="${rejectAction(record)}" class="stack">${csrfField(signedIn)}
<label for="${id}-reason">Reason for ${own ? 'withdrawing' : 'rejecting'} it (required, logged; at most 1000 characters)</label>
<textarea id="${id}-reason" name="reason" required maxlength="1000" rows="3"></textarea>
<button type="submit" aria-describedby="${id}-recent">${verb} policy #${record.number} for ${record.environment}</button></form>`;
}

function recentNote(id: string, recent: { readonly ok: boolean; readonly minutes: number }, what: string): Html {
  return html`<p class="muted" id="${id}-recent">${what} needs a sign-in within the last ${recent.minutes} minutes.${recent.ok
    ? ''
    : html` Your sign-in is older: <a href="/sign-in?next=${encodeURIComponent('/policy')}">sign in again</a> first.`}</p>`;
}

/** One pending proposal: who proposed it, when, its diff from the active policy, and the approve and reject forms or the reason they are absent. */
export function proposalItem(record: PolicyRecord, diff: string, action: ProposalAction, signedIn: SignedIn, recent: { readonly ok: boolean; readonly minutes: number }): Html {
  const id = `proposal-${record.id}`;
  let controls: Html;
  if (action.kind === 'own') {
    controls = html`<p id="${id}-note">You proposed this policy. The two-person rule needs a different principal holding <code>policy:approve</code> for ${record.environment} to approve it, so there is no approve button for you.${action.mayReject
      ? ' You may withdraw it: it is then rejected and never becomes active.'
      : ''}</p>
${action.mayReject ? html`${rejectForm(record, signedIn, true)}${recentNote(id, recent, 'Withdrawing')}` : ''}`;
  } else if (action.kind === 'no-permission') {
    controls = html`<p class="muted">Approving needs <code>policy:approve</code> for ${record.environment}, which you do not hold. Rejecting needs the same.</p>`;
  } else {
    controls = html`<form method="post" action="${approveAction(record)}">${csrfField(signedIn)}<button type="submit" aria-describedby="${id}-recent">Approve policy #${record.number} for ${record.environment}</button></form>
${rejectForm(record, signedIn, false)}
${recentNote(id, recent, 'Approving activates it at once. Approving or rejecting')}`;
  }
  return html`<div class="gate-card" id="${id}">
<h4>${record.environment} policy #${record.number} ${statusPill('PENDING', 'Awaiting approval')}</h4>
<dl class="facts">
<dt>Digest</dt><dd>${digestCode(record.digest)}</dd>
<dt>Proposed</dt><dd>by <strong>${record.proposedBy}</strong>, ${when(record.proposedAt)}, log index ${record.proposedLogIndex}</dd>
</dl>
<details open><summary>What approving would change in the active policy</summary>${diffBlock(diff, `Diff of the active ${record.environment} policy to proposal #${record.number}`)}</details>
<p><a href="${previewHref(record)}">Which versions' verdicts would change</a> if proposal #${record.number} became active</p>
${controls}
</div>`;
}
