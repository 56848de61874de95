/**
 * The lineage page's words (reference/ui-screens.md §2.3): how each node of a `LineageView`
 * (`lineage-view.ts`) is labelled and linked, and how each edge is described — the same
 * sentences serve the SVG's `<title>`s (`lineage-svg.ts`) and the table of edges, so a status
 * is never told by line style or colour alone.
 */
import { pathSegment } from './html.js';
import type { LineageDrawing, LineageDrawingNode } from './lineage-svg.js';
import type { LineageEdgeKind, LineageView, LineageViewEdge, LineageViewNode } from './lineage-view.js';

/** The version page of a version. */
export function versionHref(node: { namespace: string; name: string; digest: string }): string {
  return `/models/${pathSegment(node.namespace)}/${pathSegment(node.name)}/versions/${pathSegment(node.digest)}`;
}

/** `text` cut to `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

const KIND_LABEL: Readonly<Record<LineageViewNode['kind'], string>> = { version: 'model version', dataset: 'dataset', commit: 'source commit', external: 'external model (claimed)' };

/** A node in words: `fraud/detector v3` or `dataset sha256:…` (full value). */
export function nodeName(node: LineageViewNode | undefined, id: string): string {
  if (node === undefined) return id;
  if (node.version !== null) return `${node.version.namespace}/${node.version.name} v${node.version.number} (${node.version.digest})`;
  return `${KIND_LABEL[node.kind]} ${node.value}`;
}

const RELATION: Readonly<Record<LineageEdgeKind, string>> = {
  'trained-from': 'was trained from',
  'fine-tuned-from': 'was fine-tuned from',
  'trained-on': 'was trained on',
  'built-from': 'was built from',
};

/** What backs an edge, in words. */
export function evidenceText(edge: LineageViewEdge): string {
  const at = edge.source === null ? '' : ` (attestation at log index ${edge.source.logIndex}, key ${edge.source.key})`;
  switch (edge.evidence) {
    case 'verified':
      return edge.source === null ? 'verified provenance recorded at registration' : `verified${at}`;
    case 'invalid':
      return `invalid: its attestation was invalidated${edge.reason === null ? '' : ` — ${edge.reason}`}${at}`;
    case 'claimed':
      return `claimed: unsigned annotation ${edge.claimKey ?? ''}, not verified`;
    case 'conflict':
      return `conflict: the unsigned annotation ${edge.claimKey ?? ''} contradicts the verified value ${edge.contradicts ?? ''}${at}`;
  }
}

/** One sentence for an edge: who came from what, and on what evidence. */
export function edgeSentence(edge: LineageViewEdge, nodes: ReadonlyMap<string, LineageViewNode>): string {
  return `${nodeName(nodes.get(edge.to), edge.to)} ${RELATION[edge.kind]} ${nodeName(nodes.get(edge.from), edge.from)} — ${evidenceText(edge)}`;
}

function drawingNode(n: LineageViewNode): LineageDrawingNode {
  if (n.version !== null) {
    const v = n.version;
    return {
      id: n.id,
      kind: 'version',
      label: `${v.namespace}/${v.name}`,
      sublabel: `v${v.number} · ${shorten(v.digest, 20)}`,
      description: `${v.namespace}/${v.name} version ${v.number}, ${v.digest}${n.current ? ' (this version)' : ''}`,
      href: versionHref(v),
      current: n.current,
    };
  }
  const external = n.kind === 'external' ? ', named only by an unsigned annotation; not a version this registry shows you' : '';
  return { id: n.id, kind: n.kind, label: KIND_LABEL[n.kind], sublabel: shorten(n.value, 28), description: `${KIND_LABEL[n.kind]}: ${n.value}${external}`, href: null, current: false };
}

/** The drawing of `view` (before any sibling collapse). */
export function lineageDrawing(view: LineageView): LineageDrawing {
  const byId = new Map(view.nodes.map((n) => [n.id, n]));
  const root = byId.get(view.root);
  const counts = (kind: LineageViewNode['kind']): number => view.nodes.filter((n) => n.kind === kind).length;
  const unverified = view.edges.filter((e) => e.evidence !== 'verified').length;
  return {
    title: `Lineage of ${nodeName(root, view.root)}`,
    description: `${counts('version')} versions, ${counts('dataset')} datasets, ${counts('commit')} source commits and ${counts('external')} external models; ${view.edges.length} edges, ${unverified} of them not verified (claimed, invalid or in conflict, each labelled). Ancestors and inputs are on the left. The table of edges below the graph lists the same edges.`,
    nodes: view.nodes.map(drawingNode),
    edges: view.edges.map((e) => ({ from: e.from, to: e.to, kind: e.kind, evidence: e.evidence, description: edgeSentence(e, byId) })),
  };
}
