/**
 * `custody lineage REF [--depth N] [--direction ancestors|descendants|both]` (SPEC §4.3, §8): the
 * models a version was trained from (parents named by digest in its verified training
 * provenance, recursively) and the versions trained from it, each with its training data and
 * source commit. Text is a tree — ancestors above the version, descendants below it; `--json`
 * prints the graph exactly as the registry returns it.
 */
import type { Command } from 'commander';
import { CustodyError } from '../../domain/errors.js';
import { parseModelRef } from '../../domain/model-ref.js';
import type { LineageBody, LineageDirection, LineageNodeBody, MetadataRowBody } from '../../sdk/custody-client.js';
import type { CliContext } from '../context.js';
import { displayText } from './browse-commands.js';

const DIRECTIONS: readonly LineageDirection[] = ['ancestors', 'descendants', 'both'];

/** `sha256:0123456789abcdef…`: enough to tell versions apart in a tree (`--json` has them whole). */
function short(value: string): string {
  return value.startsWith('sha256:') && value.length > 23 ? `${value.slice(0, 23)}…` : value;
}

function fact(row: MetadataRowBody): string {
  if (row.status === 'missing' || row.value === null || row.value === undefined) return '—';
  const text = displayText(typeof row.value === 'string' ? short(row.value) : row.value, 80);
  return row.status === 'invalid' ? `${text}(INVALID)` : text;
}

function label(node: LineageNodeBody | undefined, id: string): string {
  if (node === undefined) return displayText(id, 200);
  return `${displayText(`${node.namespace}/${node.name}@v${node.number}`, 270)} ${short(node.digest)} data=${fact(node.trainingData)} commit=${fact(node.sourceCommit)}`;
}

/**
 * Lines of the tree under `root`, following `next` (parents or children). A node reached twice
 * (a diamond) is printed again without its subtree, marked "(see above)".
 */
function treeLines(root: string, next: (id: string) => string[], nodes: ReadonlyMap<string, LineageNodeBody>): string[] {
  const lines: string[] = [];
  const expanded = new Set<string>([root]);
  const walk = (id: string, prefix: string): void => {
    const children = next(id);
    children.forEach((child, i) => {
      const last = i === children.length - 1;
      const seen = expanded.has(child);
      lines.push(`${prefix}${last ? '└─ ' : '├─ '}${label(nodes.get(child), child)}${seen ? '  (see above)' : ''}`);
      if (!seen) {
        expanded.add(child);
        walk(child, `${prefix}${last ? '   ' : '│  '}`);
      }
    });
  };
  walk(root, '  ');
  return lines;
}

/** The graph as text: ancestors above the root, descendants below. */
export function renderLineage(graph: LineageBody, direction: LineageDirection): string {
  const nodes = new Map(graph.nodes.map((n) => [n.id, n]));
  const parents = new Map<string, string[]>();
  const children = new Map<string, string[]>();
  const link = (map: Map<string, string[]>, from: string, to: string): void => {
    const list = map.get(from);
    if (list === undefined) map.set(from, [to]);
    else list.push(to);
  };
  for (const e of graph.edges) {
    link(parents, e.child, e.parent);
    link(children, e.parent, e.child);
  }
  const parentsOf = (id: string): string[] => [...new Set(parents.get(id) ?? [])].sort();
  const childrenOf = (id: string): string[] => [...new Set(children.get(id) ?? [])].sort();
  const out: string[] = [];
  if (direction !== 'descendants') {
    const up = treeLines(graph.root, parentsOf, nodes);
    out.push('ancestors (trained from):', ...(up.length === 0 ? ['  none'] : up));
  }
  out.push(`● ${label(nodes.get(graph.root), graph.root)}`);
  if (direction !== 'ancestors') {
    const down = treeLines(graph.root, childrenOf, nodes);
    out.push('descendants (trained from it):', ...(down.length === 0 ? ['  none'] : down));
  }
  if (graph.truncated) out.push('(truncated: the depth or size limit was reached; see --depth)');
  return out.join('\n');
}

export function registerLineage(program: Command, ctx: CliContext, run: (fn: () => Promise<void>) => Promise<void>): void {
  program
    .command('lineage')
    .description('ancestors (parent models, recursively) and descendants of a version, with the training data and source commit of each')
    .argument('<ref>', 'NS/NAME@vN or NS/NAME@sha256:<hex>')
    .option('--depth <n>', 'how many generations to follow (1–50)', '10')
    .option('--direction <dir>', 'ancestors, descendants or both', 'both')
    .action((refText: string, opts: { depth: string; direction: string }) =>
      run(async () => {
        const out = ctx.output();
        const ref = parseModelRef(refText);
        const depth = Number(opts.depth);
        if (!/^[0-9]+$/.test(opts.depth) || depth < 1 || depth > 50) throw new CustodyError('USAGE', '--depth must be a whole number from 1 to 50');
        const direction = DIRECTIONS.find((d) => d === opts.direction);
        if (direction === undefined) throw new CustodyError('USAGE', `--direction must be one of ${DIRECTIONS.join(', ')}`);
        const graph = await ctx.withClient((c) => c.lineage(ref, { depth, direction }));
        out.result(graph, () => renderLineage(graph, direction));
      }),
    );
}
