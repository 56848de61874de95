/**
 * A version's lineage graph (reference/ui-screens.md §2.3): its ancestors and descendants through
 * verified training provenance, from `LineageService.lineage` — the function behind
 * `GET /api/v1/models/{namespace}/{name}/versions/{selector}/lineage`, with the same permission
 * (`model:read` in the version's namespace). Drawn as inline SVG laid out on the server
 * (`lineage-svg.ts`), followed by a table of the edges in a `<details>` as the accessible
 * equivalent; depth (1–5) and direction are a GET form.
 *
 * Every edge the service returns comes from a verified provenance attestation, so every edge is
 * drawn solid; the drawing supports claimed (dashed) edges for when unsigned claims exist.
 */
import type { Scope } from '../../auth/permissions.js';
import { CustodyError } from '../../domain/errors.js';
import { parseSelector } from '../../domain/model-ref.js';
import type { LineageDirection, LineageGraph, LineageNode } from '../../service/lineage-service.js';
import { digestCode } from '../digest-code.js';
import { html, pathSegment, type Html } from '../html.js';
import { lineageSvg, type LineageDrawing } from '../lineage-svg.js';
import { definePage, type PageDef } from '../page.js';
import { statusPill } from '../status-pill.js';

/** Above this many versions the graph draws the nearest ones only; the table still lists every edge. */
export const MAX_DRAWN_NODES = 300;

const DIRECTIONS: readonly { readonly value: LineageDirection; readonly label: string }[] = [
  { value: 'both', label: 'Both' },
  { value: 'ancestors', label: 'Ancestors (trained from)' },
  { value: 'descendants', label: 'Descendants (trained from it)' },
];

const inNamespace = (params: Readonly<Record<string, string>>): Scope => ({ ...(params['namespace'] === undefined ? {} : { namespace: params['namespace'] }) });

/** The version page of a lineage node. */
export function versionHref(node: { namespace: string; name: string; digest: string }): string {
  return `/models/${pathSegment(node.namespace)}/${pathSegment(node.name)}/versions/${pathSegment(node.digest)}`;
}

/** The lineage page of a version (`depth` 1–5, `direction` as the API's). */
export function lineageHref(node: { namespace: string; name: string; digest: string }, depth = 2, direction: LineageDirection = 'both'): string {
  return `${versionHref(node)}/lineage?depth=${depth}&dir=${direction}`;
}

function parseControls(url: URL): { depth: number; direction: LineageDirection } {
  const depthText = url.searchParams.get('depth') ?? '2';
  if (!/^[1-5]$/.test(depthText)) throw new CustodyError('VALIDATION_FAILED', 'depth must be 1 to 5', { details: { field: 'depth' } });
  const dir = url.searchParams.get('dir') ?? 'both';
  const direction = DIRECTIONS.find((d) => d.value === dir)?.value;
  if (direction === undefined) throw new CustodyError('VALIDATION_FAILED', 'dir must be ancestors, descendants or both', { details: { field: 'dir' } });
  return { depth: Number(depthText), direction };
}

const short = (digest: string): string => `${digest.slice(0, 19)}…`;
const nameOf = (n: LineageNode): string => `${n.namespace}/${n.name}`;
const describe = (n: LineageNode): string => `${nameOf(n)} version ${n.number}, ${n.digest}`;

/** The drawing of `graph`: its first MAX_DRAWN_NODES nodes (the nearest: the walk is breadth-first) and the edges between them. */
function drawingOf(graph: LineageGraph): LineageDrawing {
  const nodes = graph.nodes.slice(0, MAX_DRAWN_NODES);
  const drawn = new Set(nodes.map((n) => n.id));
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const root = byId.get(graph.root);
  return {
    title: `Lineage of ${root === undefined ? graph.root : describe(root)}`,
    description: `${graph.nodes.length} versions and ${graph.edges.length} trained-from edges, ancestors on the left. Each edge is backed by verified training provenance. The table of edges below the graph lists the same edges.`,
    nodes: nodes.map((n) => ({
      id: n.id,
      label: nameOf(n),
      sublabel: `v${n.number} · ${short(n.digest)}`,
      description: `${describe(n)}${n.id === graph.root ? ' (this version)' : ''}`,
      href: versionHref(n),
      current: n.id === graph.root,
    })),
    edges: graph.edges
      .filter((e) => drawn.has(e.child) && drawn.has(e.parent))
      .map((e) => ({ from: e.parent, to: e.child, evidence: 'verified' as const, description: `${e.child} was trained from ${e.parent} (verified provenance)` })),
  };
}

function edgeTable(graph: LineageGraph): Html {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const cell = (id: string): Html => {
    const n = byId.get(id);
    return n === undefined ? html`<code>${id}</code>` : html`<a href="${versionHref(n)}">${nameOf(n)} v${n.number}</a> ${digestCode(n.digest)}`;
  };
  if (graph.edges.length === 0) return html`<p>No edges: no verified provenance links this version to another within this depth and direction.</p>`;
  return html`<table class="lineage-edges"><caption>Trained-from edges</caption>
<thead><tr><th scope="col">Model version</th><th scope="col">Relation</th><th scope="col">Parent version</th><th scope="col">Evidence</th></tr></thead><tbody>
${graph.edges.map(
  (e) => html`<tr data-child="${e.child}" data-parent="${e.parent}"><td>${cell(e.child)}</td><td>trained from</td><td>${cell(e.parent)}</td><td>${statusPill('PASS', 'Verified provenance')} verified provenance</td></tr>`,
)}
</tbody></table>`;
}

function controls(depth: number, direction: LineageDirection): Html {
  return html`<form method="get" class="lineage-controls">
<label for="lineage-depth">Depth</label>
<select id="lineage-depth" name="depth">${[1, 2, 3, 4, 5].map((d) => html`<option value="${d}"${d === depth ? html` selected` : ''}>${d}</option>`)}</select>
<label for="lineage-dir">Direction</label>
<select id="lineage-dir" name="dir">${DIRECTIONS.map((d) => html`<option value="${d.value}"${d.value === direction ? html` selected` : ''}>${d.label}</option>`)}</select>
<button type="submit">Show</button>
</form>`;
}

export const lineagePages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/models/{namespace}/{name}/versions/{digest}/lineage',
    access: { permission: 'model:read', scope: inNamespace },
    handle: async ({ params, url, services }) => {
      const { namespace, name } = params;
      if (namespace === undefined || name === undefined) throw new CustodyError('NOT_FOUND', 'no such model');
      const { depth, direction } = parseControls(url);
      const graph = await services.lineage.lineage({ namespace, name }, parseSelector(params['digest'] ?? ''), { depth, direction });
      const root = graph.nodes.find((n) => n.id === graph.root);
      if (root === undefined) throw new CustodyError('INTERNAL', 'the lineage graph lacks its root');
      const svg = await lineageSvg(drawingOf(graph));
      const body = html`<h1>Lineage of ${nameOf(root)} v${root.number}</h1>
<p>Version ${digestCode(root.digest)} — <a href="${versionHref(root)}">back to the version</a>. Ancestors are the parents named by verified training provenance; edges point from a parent to the model trained from it. Every edge shown is verified (solid line); unsigned claims are not recorded yet.</p>
${controls(depth, direction)}
${graph.truncated ? html`<p class="note">${statusPill('PENDING', 'Graph cut short')} The lineage goes on beyond depth ${depth}; raise the depth to see more.</p>` : ''}
${graph.nodes.length > MAX_DRAWN_NODES ? html`<p class="note">The graph shows the ${MAX_DRAWN_NODES} nearest of ${graph.nodes.length} versions; the table lists every edge.</p>` : ''}
<figure class="lineage-graph">${svg}<figcaption>${graph.nodes.length} versions, ${graph.edges.length} edges; the current version has a thick border and the words "this version".</figcaption></figure>
<details><summary>Edges as a table (${graph.edges.length})</summary>
${edgeTable(graph)}
</details>`;
      return { kind: 'page', title: `Lineage of ${nameOf(root)} v${root.number}`, body };
    },
  }),
];
