/**
 * The policy page (reference/ui-screens.md §2.4, issue 8 §1): for every configured environment
 * the effective policy (baseline ∪ active document, from `PolicyService.show`, as
 * `GET /api/v1/environments/{environment}/policy` returns it), the pending proposals (from
 * `PolicyService.listProposed`, as `GET /api/v1/policies/proposed`, each diffed against the active
 * document with the same `diffPolicies` the history uses) and the history with diffs
 * (`PolicyService.history`, as `…/policy/history`); and the approve and reject forms' targets,
 * which call `PolicyService.approve` and `PolicyService.reject` exactly as
 * `POST /api/v1/policies/{id}/approve` and `…/reject` do, with their permission, after a recent
 * sign-in. A principal never sees an approve form for its own proposal (the service refuses it
 * anyway: the two-person rule), but may withdraw it with the reject form. A rejection without a
 * usable reason re-renders the page with the message and status 400.
 */
import { CustodyError } from '../../domain/errors.js';
import { diffPolicies } from '../../policy/index.js';
import { storedDocument } from '../../service/policy-service.js';
import type { PolicyRecord } from '../../store/metadata-store.js';
import { html, pathSegment, type Html } from '../html.js';
import { definePage, requireSignedIn, type PageContext, type PageDef, type PageResult, type SignedIn } from '../page.js';
import type { Services } from '../../api/services.js';
import type { Actor } from '../../service/auth-service.js';
import { effectiveSection, environmentAnchor, historySection, proposalItem, type ProposalAction } from './policy-sections.js';

/** Reading policies needs what the API's policy reads need: `model:read` anywhere. */
const READ = { permission: 'model:read', scope: 'any' } as const;
/** Approving and rejecting need what `POST /api/v1/policies/{id}/approve` and `…/reject` need; the service checks the environment. */
const APPROVE = { permission: 'policy:approve', scope: 'any' } as const;

function actionFor(services: Services, signedIn: SignedIn, record: PolicyRecord): ProposalAction {
  const holds = services.auth.holds(signedIn.actor, 'policy:approve', { environment: record.environment });
  if (record.proposedBy === signedIn.actor.principal.name) return { kind: 'own', mayReject: holds };
  if (!holds) return { kind: 'no-permission' };
  return { kind: 'approve' };
}

/** The notice after a rejection: shown only when the named policy really is rejected now. */
function rejectedNotice(rejectedId: string | null, histories: readonly (readonly { readonly policy: PolicyRecord }[])[]): Html {
  if (rejectedId === null) return html``;
  const rejected = histories.flat().find((h) => h.policy.id === rejectedId && h.policy.status === 'rejected')?.policy;
  if (rejected === undefined) return html``;
  return html`<p role="status" class="badge">Rejected: ${rejected.environment} policy #${rejected.number} will not become active (log index ${rejected.rejection?.logIndex ?? '—'}).</p>`;
}

/** The page's proposal paths name the environment: an id under another environment's path is not there. */
async function assertProposedIn(services: Services, environment: string, id: string): Promise<void> {
  services.policies.assertEnvironment(environment);
  const listed = (await services.policies.listProposed()).find((p) => p.id === id);
  if (listed !== undefined && listed.environment !== environment) throw new CustodyError('NOT_FOUND', `no proposed policy ${id.slice(0, 64)} for ${environment}`);
}

/** The principal and proposal id of an approve or reject form, once the id is a proposal of the path's environment (or unknown: the service answers that). */
async function proposalForm(ctx: PageContext): Promise<{ services: Services; actor: Actor; id: string }> {
  const { services, params } = ctx;
  const { actor } = requireSignedIn(ctx);
  const id = params['id'] ?? '';
  await assertProposedIn(services, params['environment'] ?? '', id);
  return { services, actor, id };
}

/** The notice after an approval: shown only when the named policy really is the active one now. */
function approvedNotice(approvedId: string | null, actives: readonly (PolicyRecord | null)[]): Html {
  if (approvedId === null) return html``;
  const active = actives.find((a) => a !== null && a.id === approvedId);
  if (active === undefined || active === null) return html``;
  return html`<p role="status" class="badge">Approved: policy #${active.number} is now active in ${active.environment} (log index ${active.activatedLogIndex ?? '—'}).</p>`;
}

/** The policy page; `problem` (a refused form's message) is shown first, with `status`. */
async function policyPage(ctx: PageContext, problem?: { readonly message: string; readonly status: number }): Promise<PageResult> {
  const { services, url } = ctx;
  const signedIn = requireSignedIn(ctx);
  const environments = services.config.environments;
  const [proposed, sections] = await Promise.all([
    services.policies.listProposed(),
    Promise.all(environments.map(async (environment) => ({ environment, shown: await services.policies.show(environment), history: await services.policies.history(environment) }))),
  ]);
  const recent = { ok: services.sessions.isRecent(signedIn.session), minutes: services.config.ui.recentAuthMinutes };
  const pendingCount = proposed.length;
  const body = html`<h1>Policy</h1>
${problem === undefined ? '' : html`<p role="alert" class="badge"><span aria-hidden="true">✗</span> ${problem.message}</p>`}
${approvedNotice(url.searchParams.get('approved'), sections.map((s) => s.shown.active))}
${rejectedNotice(url.searchParams.get('rejected'), sections.map((s) => s.history))}
<p>Each environment's effective policy is its configured baseline together with its active policy document. ${pendingCount === 0
    ? 'No proposals are waiting for approval.'
    : html`${pendingCount} ${pendingCount === 1 ? 'proposal is' : 'proposals are'} waiting for approval: ${environments
        .filter((e) => proposed.some((p) => p.environment === e))
        .map((e, i) => html`${i === 0 ? '' : ', '}<a href="#${environmentAnchor(e)}-pending">${e}</a>`)}.`}</p>
<nav aria-label="Environments"><ul>${environments.map((e) => html`<li><a href="#${environmentAnchor(e)}">${e}</a></li>`)}</ul></nav>
${sections.map(({ environment, shown, history }) => {
  const pending = proposed.filter((p) => p.environment === environment);
  // What approving would change: each proposal against the policy active now (the history's
  // diffs are against the version numbered before, which may be another proposal).
  const activeDocument = shown.active === null ? null : storedDocument(shown.active);
  return html`<section aria-labelledby="${environmentAnchor(environment)}">
<h2 id="${environmentAnchor(environment)}">${environment}</h2>
${effectiveSection(shown)}
<h3 id="${environmentAnchor(environment)}-pending">Pending proposals</h3>
${pending.length === 0
  ? html`<p class="muted">None for ${environment}.</p>`
  : pending.map((p) => proposalItem(p, diffPolicies(activeDocument, storedDocument(p)), actionFor(services, signedIn, p), signedIn, recent))}
${historySection(environment, history)}
</section>`;
})}`;
  return { kind: 'page', title: 'Policy', body, ...(problem === undefined ? {} : { status: problem.status }) };
}

export const policyPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/policy',
    access: READ,
    handle: (ctx) => policyPage(ctx),
  }),
  definePage({
    method: 'POST',
    path: '/policy/{environment}/proposals/{id}/approve',
    access: APPROVE,
    recentAuth: true,
    handle: async (ctx) => {
      const { services, actor, id } = await proposalForm(ctx);
      // The same call as the API's approve route: it checks policy:approve for the policy's
      // environment, refuses the proposer, re-runs the tests and activates it.
      const { policy } = await services.policies.approve(actor, id);
      return { kind: 'redirect', location: `/policy?approved=${pathSegment(policy.id)}#${environmentAnchor(policy.environment)}` };
    },
  }),
  definePage({
    method: 'POST',
    path: '/policy/{environment}/proposals/{id}/reject',
    access: APPROVE,
    recentAuth: true,
    handle: async (ctx) => {
      const { services, actor, id } = await proposalForm(ctx);
      try {
        // The same call as the API's reject route: policy:approve for the policy's environment,
        // still proposed, a usable reason; logged as policy.rejected.
        const { policy } = await services.policies.reject(actor, id, ctx.form.get('reason') ?? '');
        return { kind: 'redirect', location: `/policy?rejected=${pathSegment(policy.id)}#policy-${pathSegment(policy.environment)}-${policy.number}` };
      } catch (error) {
        if (error instanceof CustodyError && error.code === 'VALIDATION_FAILED') return policyPage(ctx, { message: `Not rejected: ${error.message}.`, status: 400 });
        throw error;
      }
    },
  }),
];
