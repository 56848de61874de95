/**
 * "Request promotion to X" on the version page (reference/ui-screens.md §2.2): under each gate
 * card, a button that promotes the version through `PromotionService.promote` — the function
 * behind `POST /api/v1/models/{namespace}/{name}/environments/{environment}/promotions` and
 * `custody promote`, which checks `promote:<environment>` for the model's namespace and the
 * seed's service-only rule itself, evaluates, logs the decision (allow or deny) and on allow
 * moves the alias. The form carries the digest the environment held when the page was drawn
 * (`expectCurrent`), so a promotion from a stale page cannot overwrite a move it did not see
 * (409 ALIAS_MOVED). Like approving or revoking, it needs a recent sign-in.
 *
 * The button is enabled only when the signed-in principal may promote there and every check
 * passes; otherwise it is disabled, and `aria-describedby` points at the sentence saying why.
 */
import { CustodyError } from '../../domain/errors.js';
import { parseSelector } from '../../domain/model-ref.js';
import type { Evaluation } from '../../policy/index.js';
import type { AuthService } from '../../service/auth-service.js';
import { html, pathSegment, type Html } from '../html.js';
import { csrfField } from '../layout.js';
import { definePage, requireSignedIn, type PageDef, type SignedIn } from '../page.js';

/** Where the version page's promote form for `environment` posts. */
export function promoteAction(version: { namespace: string; name: string; digest: string }, environment: string): string {
  return `/models/${pathSegment(version.namespace)}/${pathSegment(version.name)}/versions/${pathSegment(version.digest)}/promote/${pathSegment(environment)}`;
}

/** Why the signed-in principal cannot promote now, or null when it can. */
function blockedBecause(auth: AuthService, signedIn: SignedIn, namespace: string, environment: string, evaluation: Evaluation): string | null {
  const permission = `promote:${environment}` as const;
  if (!auth.holds(signedIn.actor, permission, { namespace })) return `You do not hold promote:${environment} for namespace ${namespace}.`;
  if (auth.serviceOnly(signedIn.actor, permission)) return `Only service principals (the release pipeline) may promote into ${environment}; use custody promote from CI.`;
  if (evaluation.outcome !== 'allow') return 'The checks above that are not PASS block it: the policy would deny this promotion now.';
  return null;
}

/**
 * The promote control under an environment's gate card: an enabled form, or a disabled button
 * described by the reason. `current` is the digest the environment holds now (or null).
 */
export function promoteControl(
  auth: AuthService,
  signedIn: SignedIn,
  version: { namespace: string; name: string; digest: string },
  environment: string,
  evaluation: Evaluation,
  current: string | null,
  id: string,
): Html {
  if (current === version.digest) return html``;
  const reason = blockedBecause(auth, signedIn, version.namespace, environment, evaluation);
  if (reason !== null) {
    return html`<p class="promote"><button type="button" disabled aria-describedby="${id}-why">Request promotion to ${environment}</button> <span id="${id}-why" class="muted">${reason}</span></p>`;
  }
  return html`<form class="promote" method="post" action="${promoteAction(version, environment)}">
${csrfField(signedIn)}<input type="hidden" name="expectCurrent" value="${current ?? 'none'}">
<button type="submit">Request promotion to ${environment}</button> <span class="muted">evaluates again, then logs the decision</span>
</form>`;
}

export const promotePages: readonly PageDef[] = [
  definePage({
    method: 'POST',
    path: '/models/{namespace}/{name}/versions/{digest}/promote/{environment}',
    // promote:<environment> and the service-only rule are checked by PromotionService.promote, as for the API.
    access: 'signed-in',
    recentAuth: true,
    handle: async (ctx) => {
      const { params, services, form } = ctx;
      const { actor } = requireSignedIn(ctx);
      const expectCurrent = form.get('expectCurrent') ?? '';
      if (expectCurrent !== 'none' && !/^sha256:[0-9a-f]{64}$/.test(expectCurrent)) {
        throw new CustodyError('VALIDATION_FAILED', 'the form is incomplete: reload the version page and try again', { details: { field: 'expectCurrent' } });
      }
      const model = { namespace: params['namespace'] ?? '', name: params['name'] ?? '' };
      const environment = params['environment'] ?? '';
      const { decision } = await services.promotions.promote(actor, { model, selector: parseSelector(params['digest'] ?? ''), environment, expectCurrent });
      const back = `/models/${pathSegment(model.namespace)}/${pathSegment(model.name)}/versions/${pathSegment(decision.versionDigest)}`;
      return { kind: 'redirect', location: `${back}?${new URLSearchParams({ promoted: environment, outcome: decision.outcome, log: String(decision.logIndex) }).toString()}` };
    },
  }),
];
