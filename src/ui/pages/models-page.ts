/**
 * The models list (reference/ui-screens.md §2.1): one row per model the principal may read —
 * latest version, the current version in every environment with when it arrived there (and a
 * QUARANTINED pill when a revocation took it out of service), the time of the last promotion, a
 * namespace filter and cursor pagination — and, when there is nothing yet, the exact commands
 * that publish a first version. Above the table, the number of policy proposals waiting for an
 * approval, linked to the policy page (a promotion is decided at once, so proposals are the only
 * approvals that wait). Rendered from the same service calls as `GET /api/v1/models`,
 * `custody status` and `GET /api/v1/policies/proposed`.
 */
import { html, pathSegment, type Html } from '../html.js';
import { definePage, requireSignedIn, type PageDef } from '../page.js';
import { digestCode } from '../digest-code.js';
import { statusPill } from '../status-pill.js';

const PAGE_SIZE = 50;

function modelHref(namespace: string, name: string): string {
  return `/models/${pathSegment(namespace)}/${pathSegment(name)}`;
}

function emptyState(filtered: boolean): Html {
  if (filtered) return html`<p class="empty">No model matches this filter. <a href="/models">Show all models</a>.</p>`;
  return html`<div class="empty">
<p><strong>No models yet.</strong> Publish a first version from a machine with the CLI:</p>
<pre><code>custody login --server ${'<this server>'} --token-stdin
custody push ./my-model --model team/my-model</code></pre>
<p class="muted">A push needs signed training provenance unless the registry's <code>provenance.requireAtEntry</code> is off.</p>
</div>`;
}

function when(instant: string): Html {
  return html`<time datetime="${instant}">${instant.slice(0, 16).replace('T', ' ')}</time>`;
}

/** The newest arrival decided by a promotion (registration's placement in the first environment is not one). */
function lastPromotion(placements: readonly { environment: string; alias: { since: string; decisionId: string | null } | undefined }[]): Html {
  const latest = placements.filter((p) => p.alias !== undefined && p.alias.decisionId !== null).sort((a, b) => (b.alias?.since ?? '').localeCompare(a.alias?.since ?? ''))[0];
  return latest?.alias === undefined ? html`<span class="muted">never</span>` : html`${when(latest.alias.since)} <span class="muted">to ${latest.environment}</span>`;
}

export const modelsPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/models',
    access: { permission: 'model:read', scope: 'any' },
    handle: async (ctx) => {
      const { services, url } = ctx;
      const { actor } = requireSignedIn(ctx);
      const namespace = (url.searchParams.get('namespace') ?? '').trim().slice(0, 128);
      const cursor = url.searchParams.get('cursor') ?? undefined;
      // A namespace-limited reader lists only its namespaces (as the API does).
      const readable = services.auth.namespacesWith(actor, 'model:read');
      const page = await services.registry.listModels({
        limit: PAGE_SIZE,
        ...(readable === null ? {} : { namespaces: readable }),
        ...(namespace === '' ? {} : { namespace }),
        ...(cursor === undefined || cursor === '' ? {} : { cursor }),
      });
      const environments = services.config.environments;
      const pending = (await services.policies.listProposed()).length;
      const rows = await Promise.all(
        page.items.map(async (model) => {
          const placements = await services.promotions.status(model);
          return { model, placements };
        }),
      );
      const next = page.nextCursor === null ? '' : html`<p><a href="/models?${new URLSearchParams({ ...(namespace === '' ? {} : { namespace }), cursor: page.nextCursor }).toString()}">Next page</a></p>`;
      const table = html`<table>
<caption class="muted">Models you may read${namespace === '' ? '' : html` in namespace <code>${namespace}</code>`}</caption>
<thead><tr><th scope="col">Model</th><th scope="col">Versions</th><th scope="col">Latest</th>${environments.map((env) => html`<th scope="col">${env}</th>`)}<th scope="col">Last promotion</th></tr></thead>
<tbody>
${rows.map(
  ({ model, placements }) => html`<tr>
<th scope="row"><a href="${modelHref(model.namespace, model.name)}">${model.namespace}/${model.name}</a></th>
<td>${model.versionCount}</td>
<td>${model.latestNumber === null || model.latestDigest === null ? html`<span class="muted">none</span>` : html`v${model.latestNumber} ${digestCode(model.latestDigest)}`}</td>
${environments.map((env) => {
  const alias = placements.find((p) => p.environment === env)?.alias;
  const quarantined = placements.find((p) => p.environment === env)?.quarantines.length ?? 0;
  return html`<td>${alias === undefined ? html`<span class="muted">—</span>` : html`${digestCode(alias.versionDigest)}${quarantined === 0 ? '' : html` ${statusPill('REVOKED', `Quarantined in ${env}: a signing key it relied on was revoked`)} quarantined`}<br><span class="muted">since ${when(alias.since)}</span>`}</td>`;
})}
<td>${lastPromotion(placements)}</td>
</tr>`,
)}
</tbody>
</table>`;
      const body = html`<h1>Models</h1>
<p>${pending === 0 ? 'No policy proposals are waiting for approval.' : html`<a href="/policy">${pending} policy ${pending === 1 ? 'proposal is' : 'proposals are'} waiting for approval</a>.`}</p>
<form class="filters" method="get" action="/models" role="search">
  <label>Namespace <input type="search" name="namespace" value="${namespace}" maxlength="128"></label>
  <button type="submit">Filter</button>
</form>
${rows.length === 0 ? emptyState(namespace !== '' || cursor !== undefined) : html`${table}${next}`}`;
      return { kind: 'page', title: 'Models', body };
    },
  }),
];
