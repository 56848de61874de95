/**
 * What the lineage page shows (reference/ui-screens.md §2.3, SPEC §2 and §4.2–4.3): the verified
 * lineage graph of `LineageService.lineage` (versions and their trained-from edges) extended with
 * the facts each version carries — its training data (a dataset node, edge "trained-on") and its
 * source commit (a commit node, edge "built-from") from verified metadata — and with the unsigned
 * claims of its annotations (`lineage-claims.ts`).
 *
 * Evidence of an edge: `verified` (a valid attestation says it; solid), `invalid` (only
 * invalidated attestations say it, e.g. signed by a since-revoked key; red, labelled),
 * `claimed` (only an annotation says it; dashed, labelled) and `conflict` (an annotation
 * contradicts a verified value; red dashed, labelled). A claim equal to a recorded value adds
 * nothing. Identical datasets, commits and external models are one node each (keyed by value).
 * A claimed base model `ns/name@sha256:<hex>` that the registry holds and the reader may see is
 * its version's node (added if the walk did not reach it); any other claimed base model is an
 * external node (not a link). Claimed base models are parents, so they are left out when only
 * descendants are shown.
 */
import { parseModelRef } from '../domain/model-ref.js';
import type { LineageGraph, LineageNode } from '../service/lineage-service.js';
import type { MetadataRow, MetadataSource, VerifiedMetadata } from '../service/verified-metadata.js';
import { lineageClaims, normaliseCommit, normaliseTrainingData, type LineageClaim } from './lineage-claims.js';

/** The node types the page can switch on and off (versions are always shown). */
export type LineageNodeType = 'dataset' | 'commit';
export type LineageViewNodeKind = 'version' | 'dataset' | 'commit' | 'external';
export type LineageEdgeKind = 'trained-from' | 'fine-tuned-from' | 'trained-on' | 'built-from';
export type LineageEvidence = 'verified' | 'invalid' | 'claimed' | 'conflict';

/** A registered version. */
export interface LineageVersionRef {
  readonly namespace: string;
  readonly name: string;
  readonly number: number;
  readonly digest: string;
}

export interface LineageViewNode {
  readonly id: string;
  readonly kind: LineageViewNodeKind;
  /** The version id, dataset digest or URI, commit id, or external model reference. */
  readonly value: string;
  /** The version of a `version` node, else null. */
  readonly version: LineageVersionRef | null;
  readonly current: boolean;
}

/** An edge from an ancestor, dataset or commit (`from`) to the version that came from it (`to`). */
export interface LineageViewEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: LineageEdgeKind;
  readonly evidence: LineageEvidence;
  /** The attestation behind a verified or invalid edge, or the one a conflicting claim contradicts. */
  readonly source: MetadataSource | null;
  /** Why an invalid edge's attestation is invalid. */
  readonly reason: string | null;
  /** The annotation key of a claimed or conflicting edge. */
  readonly claimKey: string | null;
  /** For a conflict: the verified value(s) the claim contradicts. */
  readonly contradicts: string | null;
}

export interface LineageView {
  readonly root: string;
  /** Versions in the walk's order (nearest first), each followed by the nodes it brought in. */
  readonly nodes: readonly LineageViewNode[];
  readonly edges: readonly LineageViewEdge[];
}

export interface LineageViewOptions {
  readonly types: ReadonlySet<LineageNodeType>;
  /** Whether claimed base models are drawn (not when only descendants are walked). */
  readonly claimedParents: boolean;
  /** Each version node's verified metadata (annotations included), by node id. */
  readonly metadata: ReadonlyMap<string, VerifiedMetadata>;
  /** The version a claimed `ns/name@sha256:<hex>` names, if the registry holds it and the reader may see it. */
  resolve(ref: { namespace: string; name: string; digest: string }): Promise<LineageVersionRef | undefined>;
}

/** The node id of a version (the same as the lineage service's). */
export function versionNodeId(v: { namespace: string; name: string; digest: string }): string {
  return `${v.namespace}/${v.name}@${v.digest}`;
}

function versionNode(v: LineageVersionRef, current: boolean): LineageViewNode {
  const id = versionNodeId(v);
  return { id, kind: 'version', value: id, version: { namespace: v.namespace, name: v.name, number: v.number, digest: v.digest }, current };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The ids of the parents a `parents` metadata row names (read defensively). */
function parentIds(row: MetadataRow | undefined): string[] {
  if (row === undefined || !Array.isArray(row.value)) return [];
  return row.value.filter(isRecord).flatMap((p) => {
    const { namespace, name, digest } = p;
    return typeof namespace === 'string' && typeof name === 'string' && typeof digest === 'string' ? [versionNodeId({ namespace, name, digest })] : [];
  });
}

/** `ns/name@sha256:<hex>` as a version reference, or null for anything else. */
function digestRef(value: string): { namespace: string; name: string; digest: string } | null {
  try {
    const ref = parseModelRef(value);
    return ref.selector.kind === 'digest' && value.includes('/') ? { namespace: ref.namespace, name: ref.name, digest: ref.selector.digest } : null;
  } catch {
    return null;
  }
}

class ViewBuilder {
  readonly nodes = new Map<string, LineageViewNode>();
  readonly order = new Set<string>();
  readonly edges: LineageViewEdge[] = [];
  private readonly edgeKeys = new Set<string>();

  add(node: LineageViewNode): string {
    if (!this.nodes.has(node.id)) this.nodes.set(node.id, node);
    this.order.add(node.id);
    return node.id;
  }

  valueNode(kind: 'dataset' | 'commit' | 'external', value: string): string {
    return this.add({ id: `${kind}:${value}`, kind, value, version: null, current: false });
  }

  edge(edge: Omit<LineageViewEdge, 'reason' | 'claimKey' | 'contradicts' | 'source'> & Partial<LineageViewEdge>): void {
    const key = `${edge.from}\n${edge.to}\n${edge.kind}`;
    if (this.edgeKeys.has(key)) return;
    this.edgeKeys.add(key);
    this.edges.push({ source: null, reason: null, claimKey: null, contradicts: null, ...edge });
  }

  /** A version's dataset or commit: the recorded value's edge, then each differing claim's. */
  facts(kind: 'dataset' | 'commit', version: string, row: MetadataRow, claims: readonly LineageClaim[], normalise: (v: string) => string): void {
    const edgeKind = kind === 'dataset' ? 'trained-on' : 'built-from';
    const recorded = typeof row.value === 'string' && row.status !== 'missing' ? normalise(row.value) : null;
    if (recorded !== null) {
      const evidence = row.status === 'verified' ? 'verified' : 'invalid';
      this.edge({ from: this.valueNode(kind, recorded), to: version, kind: edgeKind, evidence, source: row.source, reason: evidence === 'invalid' ? row.reason : null });
    }
    for (const claim of claims) {
      if (claim.value === recorded) continue;
      const conflict = recorded !== null && row.status === 'verified';
      this.edge({
        from: this.valueNode(kind, claim.value),
        to: version,
        kind: edgeKind,
        evidence: conflict ? 'conflict' : 'claimed',
        claimKey: claim.key,
        ...(conflict ? { source: row.source, contradicts: recorded } : {}),
      });
    }
  }
}

/** The page's graph: `graph` with datasets, commits and claims of each version (see the module comment). */
export async function lineageView(graph: LineageGraph, options: LineageViewOptions): Promise<LineageView> {
  const b = new ViewBuilder();
  for (const n of graph.nodes) b.nodes.set(n.id, versionNode(n, n.id === graph.root));
  const parentsRowOf = (id: string): MetadataRow | undefined => options.metadata.get(id)?.training.find((r) => r.field === 'parents');
  for (const link of graph.edges) {
    const row = parentsRowOf(link.child);
    const named = row !== undefined && row.status !== 'missing' && parentIds(row).includes(link.parent);
    b.edge({
      from: link.parent,
      to: link.child,
      kind: 'trained-from',
      evidence: named && row.status === 'invalid' ? 'invalid' : 'verified',
      ...(named ? { source: row.source, reason: row.status === 'invalid' ? row.reason : null } : {}),
    });
  }
  for (const n of graph.nodes) await addFactsAndClaims(b, n, graph, options, parentsRowOf(n.id));
  return { root: graph.root, nodes: [...b.order].map((id) => b.nodes.get(id)).filter((n): n is LineageViewNode => n !== undefined), edges: b.edges };
}

async function addFactsAndClaims(b: ViewBuilder, n: LineageNode, graph: LineageGraph, options: LineageViewOptions, parentsRow: MetadataRow | undefined): Promise<void> {
  b.add(b.nodes.get(n.id) ?? versionNode(n, n.id === graph.root));
  const claims = lineageClaims(options.metadata.get(n.id)?.annotations);
  if (options.types.has('dataset')) b.facts('dataset', n.id, n.trainingData, claims.trainingData, normaliseTrainingData);
  if (options.types.has('commit')) b.facts('commit', n.id, n.sourceCommit, claims.sourceCommit, normaliseCommit);
  if (!options.claimedParents) return;
  const recorded = new Set([...parentIds(parentsRow), ...graph.edges.filter((e) => e.child === n.id).map((e) => e.parent)]);
  const verified = parentsRow?.status === 'verified' ? parentIds(parentsRow) : [];
  for (const claim of claims.baseModel) {
    const ref = digestRef(claim.value);
    const id = ref === null ? null : versionNodeId(ref);
    if (id !== null && (recorded.has(id) || id === n.id)) continue;
    let target: string;
    const known = id === null ? undefined : b.nodes.get(id);
    if (known !== undefined) target = b.add(known);
    else {
      const found = ref === null ? undefined : await options.resolve(ref);
      target = found === undefined ? b.valueNode('external', claim.value) : b.add(versionNode(found, false));
    }
    const conflict = verified.length > 0;
    b.edge({
      from: target,
      to: n.id,
      kind: 'fine-tuned-from',
      evidence: conflict ? 'conflict' : 'claimed',
      claimKey: claim.key,
      ...(conflict ? { source: parentsRow?.source ?? null, contradicts: verified.join(', ') } : {}),
    });
  }
}
