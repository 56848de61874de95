/**
 * The lineage page's table of edges (reference/ui-screens.md §2.3): the accessible equivalent of
 * the SVG, listing every edge of the `LineageView` — also those the drawing collapsed — with its
 * kind (trained-from, fine-tuned-from, trained-on, built-from; "claimed", "invalid" or "conflict"
 * added in words) and its evidence: the attestation's log index, linked to the attestation row
 * of the version page, or "unsigned annotation" for a claim. Plus the legend of line styles.
 */
import { digestCode } from './digest-code.js';
import { html, type Html } from './html.js';
import { versionHref } from './lineage-drawing.js';
import type { LineageViewEdge, LineageViewNode, LineageView } from './lineage-view.js';
import { statusPill } from './status-pill.js';

function nodeCell(node: LineageViewNode | undefined, id: string): Html {
  if (node === undefined) return html`<code>${id}</code>`;
  if (node.version !== null) return html`<a href="${versionHref(node.version)}">${node.version.namespace}/${node.version.name} v${node.version.number}</a> ${digestCode(node.version.digest)}`;
  const what = node.kind === 'dataset' ? 'dataset' : node.kind === 'commit' ? 'source commit' : 'external model';
  return html`${what} ${/^sha256:[0-9a-f]{64}$/.test(node.value) ? digestCode(node.value) : html`<code>${node.value}</code>`}`;
}

function kindCell(edge: LineageViewEdge): Html {
  return edge.evidence === 'verified' ? html`${edge.kind}` : html`${edge.kind} <strong>(${edge.evidence})</strong>`;
}

function evidenceCell(edge: LineageViewEdge, child: LineageViewNode | undefined): Html {
  const version = child?.version ?? null;
  const logLink =
    edge.source === null
      ? ''
      : version === null
        ? html` log index ${edge.source.logIndex}`
        : html` <a href="${versionHref(version)}#attestation-${edge.source.logIndex}">log index ${edge.source.logIndex}</a> (key ${edge.source.key})`;
  switch (edge.evidence) {
    case 'verified':
      return html`${statusPill('PASS', 'Verified attestation')} verified attestation${edge.source === null ? html` (provenance recorded at registration)` : logLink}`;
    case 'invalid':
      return html`${statusPill('REVOKED', 'Invalid attestation')} invalid attestation${logLink}${edge.reason === null ? '' : html`: ${edge.reason}`}`;
    case 'claimed':
      return html`${statusPill('PENDING', 'Unsigned claim')} unsigned annotation <code>${edge.claimKey ?? ''}</code>`;
    case 'conflict':
      return html`${statusPill('FAIL', 'Conflict')} unsigned annotation <code>${edge.claimKey ?? ''}</code> contradicts the verified value <code>${edge.contradicts ?? ''}</code>${logLink}`;
  }
}

/** Every edge of `view` as a table (a paragraph when there is none). */
export function lineageEdgeTable(view: LineageView): Html {
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  if (view.edges.length === 0) return html`<p>No edges: no provenance or annotation links this version to another version, a dataset or a commit within this depth, direction and node types.</p>`;
  return html`<table class="lineage-edges"><caption>Lineage edges: where each version came from</caption>
<thead><tr><th scope="col">Model version</th><th scope="col">Kind</th><th scope="col">From</th><th scope="col">Evidence</th></tr></thead><tbody>
${view.edges.map(
  (e) =>
    html`<tr data-kind="${e.kind}" data-evidence="${e.evidence}" data-to="${e.to}" data-from="${e.from}"><td>${nodeCell(byId.get(e.to), e.to)}</td><td>${kindCell(e)}</td><td>${nodeCell(byId.get(e.from), e.from)}</td><td>${evidenceCell(e, byId.get(e.to))}</td></tr>`,
)}
</tbody></table>`;
}

function sample(dashed: boolean, red: boolean): Html {
  return html`<svg width="40" height="10" viewBox="0 0 40 10" aria-hidden="true" focusable="false"><line x1="0" y1="5" x2="40" y2="5" stroke="${red ? '#b3261e' : '#44515e'}" stroke-width="2"${dashed ? html` stroke-dasharray="6 4"` : ''}></line></svg>`;
}

/** The legend of line styles, in words (each drawn sample is decoration). */
export function lineageLegend(): Html {
  return html`<ul class="lineage-legend" aria-label="Legend">
<li>${sample(false, false)} Solid line: <strong>verified</strong> — a valid signed attestation says it.</li>
<li>${sample(true, false)} Dashed line labelled "claimed": <strong>claimed</strong> — only an unsigned annotation says it.</li>
<li>${sample(false, true)} Red line labelled "invalid": <strong>invalid</strong> — its attestation was invalidated (for example, the signing key was revoked).</li>
<li>${sample(true, true)} Red dashed line labelled "conflict": <strong>conflict</strong> — an annotation contradicts a verified value.</li>
<li>Node kinds are written on each node: model version (a link), dataset, source commit, external model (claimed), "+ N more" (collapsed siblings, a link to the table).</li>
</ul>`;
}
