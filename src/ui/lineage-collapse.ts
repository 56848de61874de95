/**
 * Sibling collapse for big lineage drawings (reference/ui-screens.md §2.3: "above a node cap,
 * the server collapses sibling groups instead of drawing them"). The drawing's nodes come nearest
 * first; the first ones are kept, and every node beyond the cap joins a group with its siblings —
 * the other nodes hanging off the same kept node on the same side (children of one parent, or
 * parents and inputs of one version). Each group is drawn as one node "+ N more versions" linking
 * to the table of edges, which still lists every edge. Nodes reachable only through other
 * collapsed nodes join their neighbour's group. The result has at most `cap` nodes.
 */
import type { LineageEvidence } from './lineage-view.js';
import type { LineageDrawing, LineageDrawingEdge, LineageDrawingNode } from './lineage-svg.js';

/** A collapsed drawing and how many of the original nodes it hides in groups. */
export interface CollapsedDrawing {
  readonly drawing: LineageDrawing;
  readonly hidden: number;
}

const WORST: readonly LineageEvidence[] = ['conflict', 'invalid', 'claimed', 'verified'];

const NOUNS: Readonly<Record<LineageDrawingNode['kind'], string>> = { version: 'versions', dataset: 'datasets', commit: 'source commits', external: 'external models', group: 'nodes' };

/** Group key per collapsed node id: `child-of:<id>`, `parent-of:<id>` or `other`. */
function groupsOf(drawing: LineageDrawing, kept: ReadonlySet<string>): Map<string, string> {
  const group = new Map<string, string>();
  const overflow = drawing.nodes.filter((n) => !kept.has(n.id));
  for (const n of overflow) {
    for (const e of drawing.edges) {
      if (e.to === n.id && kept.has(e.from)) group.set(n.id, `child-of:${e.from}`);
      else if (e.from === n.id && kept.has(e.to)) group.set(n.id, `parent-of:${e.to}`);
      if (group.has(n.id)) break;
    }
  }
  const neighbours = new Map<string, string[]>();
  for (const e of drawing.edges) {
    neighbours.set(e.from, [...(neighbours.get(e.from) ?? []), e.to]);
    neighbours.set(e.to, [...(neighbours.get(e.to) ?? []), e.from]);
  }
  const queue = overflow.filter((n) => group.has(n.id)).map((n) => n.id);
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i] ?? '';
    const key = group.get(id) ?? 'other';
    for (const next of neighbours.get(id) ?? []) {
      if (kept.has(next) || group.has(next)) continue;
      group.set(next, key);
      queue.push(next);
    }
  }
  for (const n of overflow) if (!group.has(n.id)) group.set(n.id, 'other');
  return group;
}

function groupNode(key: string, members: readonly LineageDrawingNode[], byId: ReadonlyMap<string, LineageDrawingNode>, tableHref: string): LineageDrawingNode {
  const kinds = new Set(members.map((m) => m.kind));
  const [only] = kinds;
  const noun = kinds.size === 1 && only !== undefined ? NOUNS[only] : 'nodes';
  const [relation, anchorId = ''] = key.split(/:(.*)/s);
  const anchor = byId.get(anchorId)?.label ?? anchorId;
  const where = relation === 'child-of' ? ` that came from ${anchor}` : relation === 'parent-of' ? ` that ${anchor} came from` : '';
  return {
    id: `group:${key}`,
    kind: 'group',
    label: `+ ${members.length} more ${noun}`,
    sublabel: 'listed in the table of edges',
    description: `${members.length} more ${noun}${where}, not drawn: the table of edges lists them.`,
    href: tableHref,
    current: false,
  };
}

/**
 * `drawing` with at most `cap` nodes: the nearest nodes kept, the rest grouped per parent as one
 * "+ N more …" node linking to `tableHref`. A drawing within the cap is returned unchanged.
 */
export function collapseSiblings(drawing: LineageDrawing, cap: number, tableHref: string): CollapsedDrawing {
  if (drawing.nodes.length <= cap) return { drawing, hidden: 0 };
  let keep = Math.max(1, cap - 1);
  let group = groupsOf(drawing, new Set(drawing.nodes.slice(0, keep).map((n) => n.id)));
  for (let i = 0; i < 8; i++) {
    const groups = new Set(group.values()).size;
    if (keep + groups <= cap || keep === 1) break;
    keep = Math.max(1, cap - groups);
    group = groupsOf(drawing, new Set(drawing.nodes.slice(0, keep).map((n) => n.id)));
  }
  const byId = new Map(drawing.nodes.map((n) => [n.id, n]));
  const members = new Map<string, LineageDrawingNode[]>();
  for (const n of drawing.nodes.slice(keep)) {
    const key = group.get(n.id) ?? 'other';
    members.set(key, [...(members.get(key) ?? []), n]);
  }
  const groupNodes = [...members].map(([key, list]) => groupNode(key, list, byId, tableHref));
  const endpoint = (id: string): string => {
    const key = group.get(id);
    return key === undefined ? id : `group:${key}`;
  };
  const merged = new Map<string, LineageDrawingEdge[]>();
  for (const e of drawing.edges) {
    const from = endpoint(e.from);
    const to = endpoint(e.to);
    if (from === to) continue;
    const k = `${from}\n${to}`;
    merged.set(k, [...(merged.get(k) ?? []), { ...e, from, to }]);
  }
  const edges = [...merged.values()].flatMap((list): LineageDrawingEdge[] => {
    const [first] = list;
    if (first === undefined || list.length === 1) return list;
    const evidence = WORST.find((w) => list.some((e) => e.evidence === w)) ?? 'verified';
    return [{ ...first, evidence, description: `${list.length} edges (${[...new Set(list.map((e) => `${e.kind}, ${e.evidence}`))].join('; ')}); the table of edges lists each.` }];
  });
  return { drawing: { ...drawing, nodes: [...drawing.nodes.slice(0, keep), ...groupNodes], edges }, hidden: drawing.nodes.length - keep };
}
