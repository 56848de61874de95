/**
 * Lineage (SPEC §2, §4.3): ancestors are the parents named by each version's verified training
 * provenance, recursively; descendants are the versions whose provenance names it. Each node
 * carries its training data and source commit from verified metadata. Bounded in depth and size.
 */
import { CustodyError } from '../domain/errors.js';
import type { ModelName, VersionSelector } from '../domain/model-ref.js';
import type { MetadataStore, VersionRecord } from '../store/metadata-store.js';
import type { AttestationService } from './attestation-service.js';
import type { RegistryService } from './registry-service.js';
import { verifiedMetadata, type MetadataRow, type VerifiedMetadata } from './verified-metadata.js';

export type LineageDirection = 'ancestors' | 'descendants' | 'both';

export interface LineageNode {
  /** `namespace/name@sha256:<hex>`. */
  readonly id: string;
  readonly namespace: string;
  readonly name: string;
  readonly number: number;
  readonly digest: string;
  readonly trainingData: MetadataRow;
  readonly sourceCommit: MetadataRow;
}

/** `child` was trained from `parent`. */
export interface LineageLink {
  readonly child: string;
  readonly parent: string;
}

export interface LineageGraph {
  readonly root: string;
  readonly nodes: readonly LineageNode[];
  readonly edges: readonly LineageLink[];
  /** True when depth or size limits cut the walk short. */
  readonly truncated: boolean;
}

export const MAX_LINEAGE_DEPTH = 50;
const MAX_LINEAGE_NODES = 500;

function nodeId(v: { namespace: string; name: string; digest: string }): string {
  return `${v.namespace}/${v.name}@${v.digest}`;
}

export class LineageService {
  constructor(
    private readonly store: MetadataStore,
    private readonly registry: RegistryService,
    private readonly attestations: AttestationService,
  ) {}

  async lineage(model: ModelName, selector: VersionSelector, options: { depth?: number; direction?: LineageDirection } = {}): Promise<LineageGraph> {
    return (await this.lineageWithMetadata(model, selector, options)).graph;
  }

  /**
   * The graph, and each node's whole verified metadata (annotations included) keyed by node id —
   * computed once for both, so a caller that shows more than the graph (the web UI's lineage
   * page) does not verify every node's attestations a second time.
   */
  async lineageWithMetadata(
    model: ModelName,
    selector: VersionSelector,
    options: { depth?: number; direction?: LineageDirection } = {},
  ): Promise<{ graph: LineageGraph; metadata: ReadonlyMap<string, VerifiedMetadata> }> {
    const depth = options.depth ?? 10;
    if (!Number.isSafeInteger(depth) || depth < 1 || depth > MAX_LINEAGE_DEPTH) {
      throw new CustodyError('VALIDATION_FAILED', `depth must be 1 to ${MAX_LINEAGE_DEPTH}`, { details: { field: 'depth' } });
    }
    const direction = options.direction ?? 'both';
    const { version } = await this.registry.getVersion(model, selector);
    const nodes = new Map<string, VersionRecord>([[nodeId(version), version]]);
    const edges = new Map<string, LineageLink>();
    let truncated = false;

    const linksOf = async (current: VersionRecord, up: boolean): Promise<{ namespace: string; name: string; digest: string }[]> =>
      up
        ? (await this.store.listParentEdges(current.id)).map((e) => ({ namespace: e.parentNamespace, name: e.parentName, digest: e.parentDigest }))
        : (await this.store.listChildEdges(current.namespace, current.name, current.digest)).map((e) => ({ namespace: e.childNamespace, name: e.childName, digest: e.childDigest }));
    const walk = async (up: boolean): Promise<void> => {
      let frontier: VersionRecord[] = [version];
      for (let level = 0; level < depth && frontier.length > 0; level++) {
        const next: VersionRecord[] = [];
        for (const current of frontier) {
          const links = await linksOf(current, up);
          for (const link of links) {
            const id = nodeId(link);
            const edge = up ? { child: nodeId(current), parent: id } : { child: id, parent: nodeId(current) };
            edges.set(`${edge.child} ${edge.parent}`, edge);
            if (nodes.has(id)) continue;
            if (nodes.size >= MAX_LINEAGE_NODES) {
              truncated = true;
              continue;
            }
            const found = await this.store.getVersionByDigest(link.namespace, link.name, link.digest);
            if (found === undefined) continue;
            nodes.set(id, found);
            next.push(found);
          }
        }
        frontier = next;
      }
      // Stopped by depth: cut short only if the last level still has links beyond it.
      for (const current of frontier) if (!truncated && (await linksOf(current, up)).length > 0) truncated = true;
    };
    if (direction !== 'descendants') await walk(true);
    if (direction !== 'ancestors') await walk(false);

    const described: LineageNode[] = [];
    const all = new Map<string, VerifiedMetadata>();
    for (const [id, v] of nodes) {
      const metadata = verifiedMetadata(v, await this.attestations.viewsOf(v));
      all.set(id, metadata);
      const row = (field: string): MetadataRow =>
        metadata.seed.find((r) => r.field === field) ?? { field, value: null, status: 'missing', source: null, reason: null, conflicts: [] };
      described.push({ id, namespace: v.namespace, name: v.name, number: v.number, digest: v.digest, trainingData: row('training_data_hash'), sourceCommit: row('source_code_commit') });
    }
    const graph = { root: nodeId(version), nodes: described, edges: [...edges.values()].filter((e) => nodes.has(e.child) && nodes.has(e.parent)), truncated };
    return { graph, metadata: all };
  }
}
