/**
 * The lineage graph as inline SVG (reference/ui-screens.md §2.3): laid out on the server with
 * ELK's layered algorithm, left → right (ancestors, datasets and commits left of the versions
 * that came from them), and drawn as markup built by `html` — every label escaped. Version
 * nodes (and "+ N more" groups) are `<a href>` links (keyboard: Tab and Enter); datasets,
 * source commits and external models are not links and carry their full value in a `<title>`.
 * Each node's first line names its kind in words. The current version is highlighted (bold
 * label, thick border and the words "this version", never colour alone). Edge styles: verified
 * solid; claimed dashed and labelled "claimed"; invalid red and labelled "invalid"; conflict red,
 * dashed and labelled "conflict" — every edge's `<title>` says the same in words. Only SVG
 * presentation attributes are used: the CSP forbids inline styles.
 */
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import { html, type Html } from './html.js';
import type { LineageEvidence } from './lineage-view.js';

export type LineageDrawingNodeKind = 'version' | 'dataset' | 'commit' | 'external' | 'group';

/** A node to draw: a model version, dataset, source commit, external model, or a group of collapsed siblings. */
export interface LineageDrawingNode {
  readonly id: string;
  readonly kind: LineageDrawingNodeKind;
  /** First line, e.g. `fraud/detector` or `dataset`. */
  readonly label: string;
  /** Second line, e.g. `v3 · sha256:0123abcd…`. */
  readonly sublabel: string;
  /** Full description (the full value for datasets and commits), read by screen readers and shown as the tooltip. */
  readonly description: string;
  /** Where the node links to; null draws a plain (non-link) node. */
  readonly href: string | null;
  readonly current: boolean;
}

/** An edge to draw, from the ancestor, dataset or commit (`from`) to the version (`to`). */
export interface LineageDrawingEdge {
  readonly from: string;
  readonly to: string;
  /** The relation, e.g. `trained-from`, `trained-on`, `built-from`. */
  readonly kind: string;
  /** verified: solid; claimed: dashed, "claimed"; invalid: red, "invalid"; conflict: red dashed, "conflict". */
  readonly evidence: LineageEvidence;
  readonly description: string;
}

export interface LineageDrawing {
  readonly title: string;
  readonly description: string;
  readonly nodes: readonly LineageDrawingNode[];
  readonly edges: readonly LineageDrawingEdge[];
}

interface Point {
  readonly x: number;
  readonly y: number;
}

interface Placed {
  readonly width: number;
  readonly height: number;
  readonly nodes: ReadonlyMap<string, { x: number; y: number; width: number; height: number }>;
  readonly edges: readonly PlacedEdge[];
}

interface PlacedEdge {
  readonly points: readonly Point[];
  /** Where ELK put the edge's label (its top-left corner), if it has one. */
  readonly label: Point | null;
}

const CHAR_WIDTH = 7.8;
const FONT_SIZE = 12;
const LINE = 16;
const PAD = 10;
const MAX_LABEL = 48;
const EDGE_FONT_SIZE = 11;
const EDGE_LABEL_CHAR_WIDTH = 6.6;

/** The words on an edge: its evidence unless verified. */
function edgeLabel(edge: LineageDrawingEdge): string | null {
  return edge.evidence === 'verified' ? null : edge.evidence;
}

type ElkInstance = { layout(graph: ElkNode): Promise<ElkNode> };
let elk: Promise<ElkInstance> | undefined;

/** ELK, loaded on first use (the bundled build runs in-process, no worker). */
function elkInstance(): Promise<ElkInstance> {
  elk ??= import('elkjs/lib/elk.bundled.js').then((m) => {
    const Elk = m.default as unknown as new () => ElkInstance;
    return new Elk();
  });
  return elk;
}

function clip(text: string): string {
  return text.length > MAX_LABEL ? `${text.slice(0, MAX_LABEL - 1)}…` : text;
}

function linesOf(node: LineageDrawingNode): string[] {
  return [clip(node.label), clip(node.sublabel), ...(node.current ? ['this version'] : [])];
}

function sizeOf(node: LineageDrawingNode): { width: number; height: number } {
  const lines = linesOf(node);
  return { width: Math.ceil(Math.max(...lines.map((l) => l.length)) * CHAR_WIDTH + 2 * PAD), height: lines.length * LINE + 2 * PAD - 4 };
}

async function place(drawing: LineageDrawing): Promise<Placed> {
  const children: ElkNode[] = drawing.nodes.map((n) => ({ id: n.id, ...sizeOf(n) }));
  const edges: ElkExtendedEdge[] = drawing.edges.map((e, i) => {
    const label = edgeLabel(e);
    return {
      id: `e${i}`,
      sources: [e.from],
      targets: [e.to],
      ...(label === null ? {} : { labels: [{ id: `e${i}-label`, text: label, width: Math.ceil(label.length * EDGE_LABEL_CHAR_WIDTH) + 4, height: EDGE_FONT_SIZE + 4 }] }),
    };
  });
  const laid = await (
    await elkInstance()
  ).layout({
    id: 'root',
    layoutOptions: {
      'elk.algorithm': 'layered',
      'elk.direction': 'RIGHT',
      'elk.spacing.nodeNode': '24',
      'elk.layered.spacing.nodeNodeBetweenLayers': '56',
      'elk.padding': '[top=12,left=12,bottom=12,right=12]',
      'elk.edgeLabels.placement': 'CENTER',
    },
    children,
    edges,
  });
  const nodes = new Map<string, { x: number; y: number; width: number; height: number }>();
  for (const c of laid.children ?? []) nodes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, width: c.width ?? 0, height: c.height ?? 0 });
  const paths = (laid.edges ?? []).map((e): PlacedEdge => {
    const section = e.sections?.[0];
    const label = e.labels?.[0];
    return {
      points: section === undefined ? [] : [section.startPoint, ...(section.bendPoints ?? []), section.endPoint],
      label: label === undefined ? null : { x: label.x ?? 0, y: label.y ?? 0 },
    };
  });
  return { width: Math.ceil(laid.width ?? 0), height: Math.ceil(laid.height ?? 0), nodes, edges: paths };
}

const NODE_FILL: Readonly<Record<LineageDrawingNodeKind, string>> = { version: '#ffffff', dataset: '#eef5ff', commit: '#f3f4f6', external: '#ffffff', group: '#f6f8fa' };
const RED = '#b3261e';
const GREY = '#44515e';

function nodeMarkup(node: LineageDrawingNode, box: { x: number; y: number; width: number; height: number }): Html {
  const lines = linesOf(node);
  const shape = html`<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" rx="${node.kind === 'version' || node.kind === 'group' ? 6 : 0}" fill="${node.current ? '#fff4cc' : NODE_FILL[node.kind]}" stroke="${node.current ? '#5c4700' : GREY}" stroke-width="${node.current ? 3 : 1}"${node.kind === 'external' || node.kind === 'group' ? html` stroke-dasharray="4 3"` : ''}></rect>
${lines.map(
  (line, i) =>
    html`<text x="${box.x + PAD}" y="${box.y + PAD + FONT_SIZE + i * LINE - 2}" font-family="ui-monospace, monospace" font-size="${FONT_SIZE}" fill="#1b1f24"${i === 0 || (node.current && i === 2) ? html` font-weight="bold"` : ''}>${line}</text>`,
)}`;
  if (node.href === null) {
    return html`<g class="lineage-node" data-kind="${node.kind}" data-id="${node.id}">
<title>${node.description}</title>
${shape}
</g>`;
  }
  return html`<a href="${node.href}" class="lineage-node" data-kind="${node.kind}"${node.current ? html` aria-current="page"` : ''}>
<desc>${node.description}</desc>
${shape}
</a>`;
}

function edgeMarkup(edge: LineageDrawingEdge, placed: PlacedEdge | undefined): Html {
  const points = placed?.points ?? [];
  if (points.length === 0) return html``;
  const d = points.map((p, i) => `${i === 0 ? 'M' : 'L'}${p.x} ${p.y}`).join(' ');
  const dashed = edge.evidence === 'claimed' || edge.evidence === 'conflict';
  const red = edge.evidence === 'invalid' || edge.evidence === 'conflict';
  const text = edgeLabel(edge);
  const mid = points[Math.floor(points.length / 2)] ?? points[0] ?? { x: 0, y: 0 };
  const before = points[Math.floor(points.length / 2) - 1] ?? mid;
  const width = text === null ? 0 : Math.ceil(text.length * EDGE_LABEL_CHAR_WIDTH) + 4;
  const at = placed?.label ?? { x: (mid.x + before.x) / 2 - width / 2, y: (mid.y + before.y) / 2 - EDGE_FONT_SIZE - 4 };
  return html`<g class="lineage-edge" data-from="${edge.from}" data-to="${edge.to}" data-kind="${edge.kind}" data-evidence="${edge.evidence}">
<title>${edge.description}</title>
<path d="${d}" fill="none" stroke="${red ? RED : GREY}" stroke-width="${red ? 2 : 1.5}" marker-end="url(#${red ? 'lineage-arrow-red' : 'lineage-arrow'})"${dashed ? html` stroke-dasharray="6 4"` : ''}></path>
${text === null ? '' : html`<text x="${at.x + width / 2}" y="${at.y + EDGE_FONT_SIZE}" text-anchor="middle" font-family="sans-serif" font-size="${EDGE_FONT_SIZE}" fill="${red ? RED : '#1b1f24'}">${text}</text>`}
</g>`;
}

/**
 * Lays `drawing` out (ELK layered, left → right) and renders it as an `<svg>` element whose
 * `<title>`/`<desc>` carry `drawing.title`/`drawing.description`.
 */
export async function lineageSvg(drawing: LineageDrawing): Promise<Html> {
  const placed = await place(drawing);
  const edges = drawing.edges.map((e, i) => edgeMarkup(e, placed.edges[i]));
  const nodes = drawing.nodes.map((n) => {
    const box = placed.nodes.get(n.id);
    return box === undefined ? html`` : nodeMarkup(n, box);
  });
  return html`<svg xmlns="http://www.w3.org/2000/svg" class="lineage" width="${placed.width}" height="${placed.height}" viewBox="0 0 ${placed.width} ${placed.height}" role="group" aria-labelledby="lineage-title lineage-desc">
<title id="lineage-title">${drawing.title}</title>
<desc id="lineage-desc">${drawing.description}</desc>
<defs><marker id="lineage-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="${GREY}"></path></marker><marker id="lineage-arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z" fill="${RED}"></path></marker></defs>
${edges}
${nodes}
</svg>`;
}
