/**
 * A version's lineage graph (reference/ui-screens.md §2.3): its ancestors and descendants through
 * verified training provenance, from `LineageService.lineageWithMetadata` — `lineage`, the function behind
 * `GET /api/v1/models/{namespace}/{name}/versions/{selector}/lineage`, with the same permission
 * (`model:read` in the version's namespace) — extended with each version's datasets and source
 * commits from verified metadata and the unsigned claims of its annotations (`lineage-view.ts`;
 * the service computes each node's verified metadata once, as `GET …/versions/{selector}/metadata`
 * does, and the page shows it only for namespaces the reader may read). Drawn as inline SVG laid out on the server
 * (`lineage-svg.ts`), siblings beyond MAX_DRAWN_NODES collapsed into "+ N more" nodes
 * (`lineage-collapse.ts`), then a legend and a table of every edge in a `<details>` as the
 * accessible equivalent; depth (1–5), direction and node types are a GET form.
 */
import type { Scope } from '../../auth/permissions.js';
import { CustodyError } from '../../domain/errors.js';
import { parseSelector } from '../../domain/model-ref.js';
import type { Services } from '../../api/services.js';
import type { LineageDirection, LineageNode } from '../../service/lineage-service.js';
import type { VerifiedMetadata } from '../../service/verified-metadata.js';
import { digestCode } from '../digest-code.js';
import { html, type Html } from '../html.js';
import { collapseSiblings } from '../lineage-collapse.js';
import { lineageDrawing, versionHref } from '../lineage-drawing.js';
import { lineageEdgeTable, lineageLegend } from '../lineage-edge-table.js';
import { lineageSvg } from '../lineage-svg.js';
import { lineageView, type LineageNodeType, type LineageVersionRef } from '../lineage-view.js';
import { definePage, type PageDef, type SignedIn } from '../page.js';
import { statusPill } from '../status-pill.js';

export { versionHref } from '../lineage-drawing.js';

/** Above this many nodes the graph collapses siblings into "+ N more" nodes; the table still lists every edge. */
export const MAX_DRAWN_NODES = 300;

const DIRECTIONS: readonly { readonly value: LineageDirection; readonly label: string }[] = [
  { value: 'both', label: 'Both' },
  { value: 'ancestors', label: 'Ancestors (trained from)' },
  { value: 'descendants', label: 'Descendants (trained from it)' },
];

const NODE_TYPES: readonly { readonly value: LineageNodeType; readonly label: string }[] = [
  { value: 'dataset', label: 'Datasets' },
  { value: 'commit', label: 'Source commits' },
];

const inNamespace = (params: Readonly<Record<string, string>>): Scope => ({ ...(params['namespace'] === undefined ? {} : { namespace: params['namespace'] }) });

/** The lineage page of a version (`depth` 1–5, `direction` as the API's). */
export function lineageHref(node: { namespace: string; name: string; digest: string }, depth = 2, direction: LineageDirection = 'both'): string {
  return `${versionHref(node)}/lineage?depth=${depth}&dir=${direction}`;
}

interface Controls {
  readonly depth: number;
  readonly direction: LineageDirection;
  readonly types: ReadonlySet<LineageNodeType>;
}

/** `types`: repeated or comma-separated `version`, `dataset`, `commit`; absent means all. */
function parseTypes(url: URL): Set<LineageNodeType> {
  const given = url.searchParams.getAll('types');
  if (given.length === 0) return new Set(NODE_TYPES.map((t) => t.value));
  const types = new Set<LineageNodeType>();
  for (const part of given.flatMap((t) => t.split(',')).map((t) => t.trim())) {
    if (part === '' || part === 'version') continue;
    const type = NODE_TYPES.find((t) => t.value === part)?.value;
    if (type === undefined) throw new CustodyError('VALIDATION_FAILED', 'types must be among version, dataset and commit', { details: { field: 'types' } });
    types.add(type);
  }
  return types;
}

function parseControls(url: URL): Controls {
  const depthText = url.searchParams.get('depth') ?? '2';
  if (!/^[1-5]$/.test(depthText)) throw new CustodyError('VALIDATION_FAILED', 'depth must be 1 to 5', { details: { field: 'depth' } });
  const dir = url.searchParams.get('dir') ?? 'both';
  const direction = DIRECTIONS.find((d) => d.value === dir)?.value;
  if (direction === undefined) throw new CustodyError('VALIDATION_FAILED', 'dir must be ancestors, descendants or both', { details: { field: 'dir' } });
  return { depth: Number(depthText), direction, types: parseTypes(url) };
}

/** Whether the reader may read models in `namespace` (the permission of `GET …/metadata`). */
function mayRead(services: Services, signedIn: SignedIn | undefined, namespace: string): boolean {
  if (signedIn === undefined) return false;
  try {
    services.auth.authorize(signedIn.actor, 'model:read', { namespace });
    return true;
  } catch (error) {
    if (error instanceof CustodyError) return false;
    throw error;
  }
}

/**
 * The verified metadata (with annotations) of the nodes in namespaces the reader may read, as
 * `GET …/metadata` would show it: other namespaces' annotations stay unseen.
 */
function readableMetadata(services: Services, signedIn: SignedIn | undefined, nodes: readonly LineageNode[], all: ReadonlyMap<string, VerifiedMetadata>): Map<string, VerifiedMetadata> {
  const found = new Map<string, VerifiedMetadata>();
  for (const n of nodes) {
    const metadata = all.get(n.id);
    if (metadata !== undefined && mayRead(services, signedIn, n.namespace)) found.set(n.id, metadata);
  }
  return found;
}

/** A claimed base model's version, if the registry holds it and the reader may read its namespace. */
function resolverFor(services: Services, signedIn: SignedIn | undefined): (ref: { namespace: string; name: string; digest: string }) => Promise<LineageVersionRef | undefined> {
  return async (ref) => {
    if (!mayRead(services, signedIn, ref.namespace)) return undefined;
    try {
      return (await services.registry.getVersion({ namespace: ref.namespace, name: ref.name }, parseSelector(ref.digest))).version;
    } catch (error) {
      if (error instanceof CustodyError) return undefined;
      throw error;
    }
  };
}

function controls({ depth, direction, types }: Controls): Html {
  return html`<form method="get" class="lineage-controls">
<label for="lineage-depth">Depth</label>
<select id="lineage-depth" name="depth">${[1, 2, 3, 4, 5].map((d) => html`<option value="${d}"${d === depth ? html` selected` : ''}>${d}</option>`)}</select>
<label for="lineage-dir">Direction</label>
<select id="lineage-dir" name="dir">${DIRECTIONS.map((d) => html`<option value="${d.value}"${d.value === direction ? html` selected` : ''}>${d.label}</option>`)}</select>
<fieldset class="lineage-types"><legend>Node types</legend>
<input type="hidden" name="types" value="version">
<label><input type="checkbox" checked disabled> Model versions (always)</label>
${NODE_TYPES.map((t) => html`<label><input type="checkbox" name="types" value="${t.value}"${types.has(t.value) ? html` checked` : ''}> ${t.label}</label>`)}
</fieldset>
<button type="submit">Show</button>
</form>`;
}

export const lineagePages: readonly PageDef[] = [
  definePage({
    method: 'GET',
    path: '/models/{namespace}/{name}/versions/{digest}/lineage',
    access: { permission: 'model:read', scope: inNamespace },
    handle: async ({ params, url, services, signedIn }) => {
      const { namespace, name } = params;
      if (namespace === undefined || name === undefined) throw new CustodyError('NOT_FOUND', 'no such model');
      const form = parseControls(url);
      const { depth, direction, types } = form;
      const { graph, metadata } = await services.lineage.lineageWithMetadata({ namespace, name }, parseSelector(params['digest'] ?? ''), { depth, direction });
      const root = graph.nodes.find((n) => n.id === graph.root);
      if (root === undefined) throw new CustodyError('INTERNAL', 'the lineage graph lacks its root');
      const view = await lineageView(graph, { types, claimedParents: direction !== 'descendants', metadata: readableMetadata(services, signedIn, graph.nodes, metadata), resolve: resolverFor(services, signedIn) });
      const { drawing, hidden } = collapseSiblings(lineageDrawing(view), MAX_DRAWN_NODES, '#lineage-edges');
      const svg = await lineageSvg(drawing);
      const title = `Lineage of ${root.namespace}/${root.name} v${root.number}`;
      const body = html`<h1>${title}</h1>
<p>Version ${digestCode(root.digest)} — <a href="${versionHref(root)}">back to the version</a>. Edges point from a parent model, dataset or source commit to the version that came from it. Verified edges come from signed attestations; claimed ones only from the pusher's unsigned annotations.</p>
${controls(form)}
${graph.truncated ? html`<p class="note">${statusPill('PENDING', 'Graph cut short')} The lineage goes on beyond depth ${depth}; raise the depth to see more.</p>` : ''}
${hidden > 0 ? html`<p class="note">${hidden} of ${view.nodes.length} nodes are grouped into "+ N more" nodes to keep the drawing under ${MAX_DRAWN_NODES} nodes; the table lists every edge.</p>` : ''}
<figure class="lineage-graph">${svg}<figcaption>${view.nodes.length} nodes, ${view.edges.length} edges; the current version has a thick border and the words "this version".</figcaption></figure>
${lineageLegend()}
<details id="lineage-edges"><summary>Edges as a table (${view.edges.length})</summary>
${lineageEdgeTable(view)}
</details>`;
      return { kind: 'page', title, body };
    },
  }),
];
