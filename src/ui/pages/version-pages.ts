/**
 * A model's page (its versions, newest first, with where each environment stands) and a
 * version's page (reference/ui-screens.md §2.2): the header — digest, number, immutable, who
 * pushed it and when, the log index of its registration, the environments it is in — the files,
 * one gate checklist per environment after the first (what a promotion would decide now, from
 * `PromotionService.evaluate`, the function behind `custody policy eval` and the evaluation API),
 * and the promotion history — decisions and quarantines, newest first, each with its log index
 * linked to the log explorer; between the gates and the files, the verified metadata table and the
 * attestations (version-trust-sections.ts). Annotations are shown as what they are: unverified.
 */
import { CustodyError } from '../../domain/errors.js';
import { parseSelector } from '../../domain/model-ref.js';
import type { Scope } from '../../auth/permissions.js';
import type { DecisionRecord, QuarantineRecord } from '../../store/metadata-store.js';
import { html, pathSegment, type Html } from '../html.js';
import { digestCode } from '../digest-code.js';
import { gateChecklist } from '../gate-checklist.js';
import { definePage, requireSignedIn, type PageDef } from '../page.js';
import { lineageHref } from './lineage-page.js';
import { promoteControl } from './promote-page.js';
import { LOG_EXPLORER_PATH } from './log-page.js';
import { statusPill } from '../status-pill.js';
import { attestationsSection, verifiedMetadataSection } from '../version-trust-sections.js';

const PAGE_SIZE = 50;
const inNamespace = (params: Readonly<Record<string, string>>): Scope => ({ ...(params['namespace'] === undefined ? {} : { namespace: params['namespace'] }) });

function modelOf(params: Readonly<Record<string, string>>): { namespace: string; name: string } {
  const { namespace, name } = params;
  if (namespace === undefined || name === undefined) throw new CustodyError('NOT_FOUND', 'no such model');
  return { namespace, name };
}

function versionHref(model: { namespace: string; name: string }, digest: string): string {
  return `/models/${pathSegment(model.namespace)}/${pathSegment(model.name)}/versions/${pathSegment(digest)}`;
}

/** A log index, linked to the log explorer's page that lists it (where it can be verified in the browser). */
function logLink(index: number): Html {
  return html`<a href="${LOG_EXPLORER_PATH}?before=${index + 1}">#${index}</a>`;
}

/** One row of the promotion history: a decision or a quarantine. */
interface HistoryRow {
  readonly logIndex: number;
  readonly row: Html;
}

function historyRows(decisions: readonly DecisionRecord[], quarantines: readonly QuarantineRecord[]): Html[] {
  const rows: HistoryRow[] = [
    ...decisions.map((d) => ({
      logIndex: d.logIndex,
      row: html`<tr><td>${when(d.decidedAt)}</td><td>${d.environment}</td><td>${statusPill(d.outcome === 'allow' ? 'PASS' : 'FAIL', `Promotion ${d.outcome === 'allow' ? 'allowed' : 'denied'}`)} promotion ${d.outcome === 'allow' ? 'allowed' : 'denied'}</td><td>${d.principal} (${d.principalKind})</td><td>${d.policyDigest === null ? 'baseline' : digestCode(d.policyDigest)}</td><td>${logLink(d.logIndex)}</td></tr>`,
    })),
    ...quarantines.map((q) => ({
      logIndex: q.logIndex,
      row: html`<tr><td>${when(q.since)}</td><td>${q.environment}</td><td>${statusPill('REVOKED', `Quarantined in ${q.environment}`)} quarantined: ${q.reason}</td><td><span class="muted">registry (key revocation)</span></td><td><span class="muted">—</span></td><td>${logLink(q.logIndex)}</td></tr>`,
    })),
  ];
  return rows.sort((a, b) => b.logIndex - a.logIndex).map((r) => r.row);
}

/** After a promotion from this page: what was decided, and its log index (from the redirect's query). */
function promotionNotice(url: URL): Html {
  const environment = url.searchParams.get('promoted');
  const outcome = url.searchParams.get('outcome');
  const log = url.searchParams.get('log') ?? '';
  if (environment === null || (outcome !== 'allow' && outcome !== 'deny') || !/^[0-9]{1,16}$/.test(log)) return html``;
  return outcome === 'allow'
    ? html`<p role="status" class="badge">Promoted into ${environment}: the decision is log entry ${logLink(Number(log))}.</p>`
    : html`<p role="status" class="badge">Promotion into ${environment} was denied: the decision is log entry ${logLink(Number(log))}; the checks below say why.</p>`;
}

function when(iso: string): ReturnType<typeof html> {
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}

export const versionPages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/models/{namespace}/{name}',
    access: { permission: 'model:read', scope: inNamespace },
    handle: async ({ params, url, services }) => {
      const model = modelOf(params);
      await services.registry.getModel(model);
      const cursor = url.searchParams.get('cursor') ?? '';
      const [page, placements] = await Promise.all([
        services.registry.listVersions(model, { limit: PAGE_SIZE, ...(cursor === '' ? {} : { cursor }) }),
        services.promotions.status(model),
      ]);
      const environmentsOf = (digest: string): string[] => placements.filter((p) => p.alias?.versionDigest === digest).map((p) => p.environment);
      const body = html`<h1>${model.namespace}/${model.name}</h1>
<h2>Environments</h2>
<table><thead><tr><th scope="col">Environment</th><th scope="col">Version</th><th scope="col">Since</th><th scope="col">Quarantine</th></tr></thead><tbody>
${placements.map(
  (p) => html`<tr><th scope="row">${p.environment}</th><td>${p.alias === undefined ? html`<span class="muted">none</span>` : html`<a href="${versionHref(model, p.alias.versionDigest)}">${digestCode(p.alias.versionDigest)}</a>`}</td>
<td>${p.alias === undefined ? '' : when(p.alias.since)}</td>
<td>${p.quarantines.length === 0 ? html`<span class="muted">none</span>` : p.quarantines.map((q) => html`${statusPill('REVOKED', `Quarantined: ${q.reason}`)} ${q.reason} `)}</td></tr>`,
)}
</tbody></table>
<h2>Versions</h2>
<table><thead><tr><th scope="col">Version</th><th scope="col">Digest</th><th scope="col">Files</th><th scope="col">Pushed</th><th scope="col">In</th></tr></thead><tbody>
${page.items.map(
  (v) => html`<tr><th scope="row"><a href="${versionHref(model, v.digest)}">v${v.number}</a></th><td>${digestCode(v.digest)}</td><td>${v.fileCount}</td><td>${v.registeredBy}, ${when(v.registeredAt)}</td><td>${environmentsOf(v.digest).join(', ')}</td></tr>`,
)}
</tbody></table>
${page.nextCursor === null ? '' : html`<p><a href="?cursor=${encodeURIComponent(page.nextCursor)}">Older versions</a></p>`}`;
      return { kind: 'page', title: `${model.namespace}/${model.name}`, body };
    },
  }),
  definePage({
    method: 'GET',
    path: '/models/{namespace}/{name}/versions/{digest}',
    access: { permission: 'model:read', scope: inNamespace },
    handle: async (ctx) => {
      const { params, services } = ctx;
      const signedIn = requireSignedIn(ctx);
      const { actor } = signedIn;
      const model = modelOf(params);
      const selector = parseSelector(params['digest'] ?? '');
      const [{ version, files }, placements, { decisions }, { metadata }, { attestations }] = await Promise.all([
        services.registry.getVersion(model, selector),
        services.promotions.status(model),
        services.promotions.decisions(model, selector),
        services.attestations.metadata(model, selector),
        services.attestations.list(model, selector),
      ]);
      const registeredAt = await services.log.findRegistration(version.namespace, version.name, version.digest);
      const quarantines = placements.filter((p) => p.alias?.versionDigest === version.digest).flatMap((p) => p.quarantines);
      const history = historyRows(decisions, quarantines);
      const environments = services.config.environments;
      const current = placements.filter((p) => p.alias?.versionDigest === version.digest).map((p) => p.environment);
      const checklists = await Promise.all(
        environments.slice(1).map(async (environment, i) => {
          const { evaluation } = await services.promotions.evaluate(actor, model, selector, environment);
          const holder = placements.find((p) => p.environment === environment)?.alias?.versionDigest ?? null;
          return html`${gateChecklist(environment, evaluation, { current: current.includes(environment), id: `gates-${i}` })}
${promoteControl(services.auth, signedIn, version, environment, evaluation, holder, `promote-${i}`)}`;
        }),
      );
      const notice = promotionNotice(ctx.url);
      const body = html`<h1>${model.namespace}/${model.name} v${version.number}</h1>
<dl class="facts">
<dt>Digest</dt><dd>${digestCode(version.digest)} <span class="badge">Immutable</span></dd>
<dt>OMS root digest</dt><dd>${digestCode(version.omsRootDigest)}</dd>
<dt>Pushed</dt><dd>by <strong>${version.registeredBy}</strong>, ${when(version.registeredAt)}</dd>
<dt>Registration</dt><dd>${registeredAt === null ? html`<span class="muted">not found in the log</span>` : html`log entry ${logLink(registeredAt)}`}</dd>
<dt>Environments</dt><dd>${current.length === 0 ? html`<span class="muted">none</span>` : current.map((e) => html`<span class="badge">${e}</span> `)}</dd>
<dt>Files</dt><dd>${version.fileCount} (${version.totalSize} bytes)</dd>
<dt>Lineage</dt><dd><a href="${lineageHref(version)}">Lineage graph</a></dd>
</dl>
<h2>Gates</h2>
${notice}
${checklists.length === 0 ? html`<p class="muted">Only one environment is configured: there is nothing to promote into.</p>` : checklists}
${verifiedMetadataSection(metadata)}
${attestationsSection(version.digest, attestations)}
<h2>Files</h2>
<table><thead><tr><th scope="col">Path</th><th scope="col">Size</th><th scope="col">SHA-256</th></tr></thead><tbody>
${files.map((f) => html`<tr><td><code>${f.path}</code></td><td>${f.size}</td><td>${digestCode(`sha256:${f.sha256}`)}</td></tr>`)}
</tbody></table>
<h2>Promotion history</h2>
${history.length === 0
  ? html`<p class="muted">No promotion decisions or quarantines yet.</p>`
  : html`<table><thead><tr><th scope="col">When</th><th scope="col">Environment</th><th scope="col">Event</th><th scope="col">By</th><th scope="col">Policy</th><th scope="col">Log index</th></tr></thead><tbody>
${history}
</tbody></table>`}`;
      return { kind: 'page', title: `${model.namespace}/${model.name} v${version.number}`, body };
    },
  }),
];
