/**
 * The lineage page over real HTTP (issue 8 §1, reference/ui-screens.md §2.3), on both metadata
 * stores. A family of versions is registered with signed training provenance naming parents
 * (base → child → grandchild, base → sibling), all trained on one dataset from one commit. For
 * several depths and directions the page's SVG holds one node link per version of the API's graph,
 * one edge per link, and ONE dataset and ONE commit node shared by every version; its edge table
 * lists exactly the API's trained-from edges, in order. More versions carry claims: `claimer`
 * (no verified dataset or commit) whose annotations claim a dataset holding markup, a commit and
 * two base models (one the registry holds, one external) — dashed edges labelled "claimed",
 * escaped in SVG and table; `conflicted` whose annotations contradict its verified dataset and
 * parent — red dashed "conflict" edges — and repeat its verified commit and parent — nothing
 * added; `revoked`, whose provenance key was revoked — a red "invalid" edge. The node-types
 * filter narrows the extra nodes and refuses unknown types (400), a depth-limited walk says it
 * was cut short, a reader of another namespace is refused (403) like the API, and bad controls
 * are refused (400). Unit tests: the SVG renderer escapes labels, and the sibling collapse groups
 * nodes beyond the 300-node cap into one "+ N more versions" node linking to the table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collapseSiblings } from '../../src/ui/lineage-collapse.js';
import { lineageSvg, type LineageDrawing } from '../../src/ui/lineage-svg.js';
import { createPrincipal } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, provenancePredicate, signBundle, SLSA, uploadRandomModel, type ProvenanceOptions, type TestKey } from '../support/trust-fixtures.js';
import { page, signInCookie, type Reply } from '../support/ui-session.js';

interface Graph {
  readonly root: string;
  readonly nodes: readonly { id: string; namespace: string; name: string; digest: string }[];
  readonly edges: readonly { child: string; parent: string }[];
  readonly truncated: boolean;
}

const versionPath = (id: string): string => {
  const [model = '', digest = ''] = id.split('@');
  return `/models/${model}/versions/${encodeURIComponent(digest)}`;
};

interface DrawnEdge {
  readonly from: string;
  readonly to: string;
  readonly kind: string;
  readonly evidence: string;
  /** The `<path>`'s attributes. */
  readonly path: string;
  /** The edge's label, if any. */
  readonly label: string | null;
}

const unescape = (text: string): string => text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

/** What the page draws and tabulates. */
function parsePage(text: string): {
  nodeLinks: string[];
  drawnEdges: string[];
  edges: DrawnEdge[];
  plainNodes: { kind: string; id: string }[];
  tableEdges: string[];
  tableRows: { kind: string; evidence: string; to: string; from: string; text: string }[];
  current: string[];
} {
  const svg = text.slice(text.indexOf('<svg'), text.indexOf('</svg>'));
  const table = text.slice(text.indexOf('<details id="lineage-edges">'), text.indexOf('</details>'));
  const edges = [
    ...svg.matchAll(/<g class="lineage-edge" data-from="([^"]*)" data-to="([^"]*)" data-kind="([^"]*)" data-evidence="([^"]*)">\n<title>[^<]*<\/title>\n<path ([^>]*)><\/path>\n(?:<text [^>]*>([^<]*)<\/text>)?/g),
  ].map((m) => ({ from: unescape(m[1] ?? ''), to: unescape(m[2] ?? ''), kind: m[3] ?? '', evidence: m[4] ?? '', path: m[5] ?? '', label: m[6] ?? null }));
  const tableRows = [...table.matchAll(/<tr data-kind="([^"]*)" data-evidence="([^"]*)" data-to="([^"]*)" data-from="([^"]*)">(.*?)<\/tr>/gs)].map((m) => ({
    kind: m[1] ?? '',
    evidence: m[2] ?? '',
    to: unescape(m[3] ?? ''),
    from: unescape(m[4] ?? ''),
    text: m[5] ?? '',
  }));
  return {
    nodeLinks: [...svg.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1] ?? '').sort(),
    drawnEdges: edges.filter((e) => e.kind === 'trained-from').map((e) => `${e.to} ${e.from}`).sort(),
    edges,
    plainNodes: [...svg.matchAll(/<g class="lineage-node" data-kind="([^"]*)" data-id="([^"]*)">/g)].map((m) => ({ kind: m[1] ?? '', id: unescape(m[2] ?? '') })),
    tableEdges: tableRows.filter((r) => r.kind === 'trained-from').map((r) => `${r.to} ${r.from}`),
    tableRows,
    current: [...svg.matchAll(/<a href="([^"]+)" class="lineage-node" data-kind="version" aria-current="page">/g)].map((m) => m[1] ?? ''),
  };
}

const DASHED = 'stroke-dasharray="6 4"';
const RED = 'stroke="#b3261e"';
const DATASET = `sha256:${'d'.repeat(64)}`;
const COMMIT = 'a'.repeat(40);
const XSS_DATASET = 'https://data.example.com/<script>alert(1)</script>';

describe.each(BACKENDS)('lineage page on %s', (backend) => {
  let reg: TestRegistry;
  let admin: string;
  let outsider: string;
  let insider: string;
  const trainer = makeKey('trainer');
  const leaky = makeKey('leaky');
  const digests: Record<string, string> = {};
  const id = (model: string): string => `fraud/${model}@${digests[model] ?? ''}`;

  async function push(model: string, parent?: string, options: { provenance?: ProvenanceOptions; annotations?: unknown; key?: TestKey } = {}): Promise<string> {
    const uploaded = await uploadRandomModel(reg);
    const parents = parent === undefined ? [] : [{ namespace: 'fraud', name: parent, digest: digests[parent] ?? '' }];
    const provenance = signBundle(options.key ?? trainer, uploaded.digest, SLSA, provenancePredicate({ parents, ...options.provenance }));
    const reply = await api(reg, 'POST', `/api/v1/models/fraud/${model}/versions`, { files: uploaded.files, provenance, ...(options.annotations === undefined ? {} : { annotations: options.annotations }) });
    expect(reply.status, JSON.stringify(reply.json)).toBe(201);
    digests[model] = uploaded.digest;
    return uploaded.digest;
  }

  const lineagePage = (model: string, query = '', cookie = admin): Promise<Reply> => page(reg, `/models/fraud/${model}/versions/${digests[model] ?? ''}/lineage${query}`, { cookie });

  beforeAll(async () => {
    // Provenance stays required at entry; training data and commit may be left out (claimer has neither verified).
    reg = await startTestRegistry(backend, { provenance: { requireAtEntry: true, required: ['builderId'] } });
    await addKey(reg, trainer, [SLSA]);
    const leakyKey = await addKey(reg, leaky, [SLSA]);
    await push('base');
    await push('child', 'base');
    await push('grandchild', 'child');
    await push('sibling', 'base');
    await push('claimer', undefined, {
      provenance: { trainingData: null, commit: null },
      annotations: { training_data: XSS_DATASET, source_commit: 'B'.repeat(40), base_model: [id('sibling'), 'hf/bert-base-uncased'], note: 'free text' },
    });
    await push('origin');
    await push('conflicted', 'origin', {
      annotations: { training_data_hash: 'F'.repeat(64), source_code_commit: COMMIT.toUpperCase(), base_model: [id('origin'), id('child')] },
    });
    await push('revoked', undefined, { key: leaky, provenance: { trainingData: 'e'.repeat(64) } });
    const revocation = await api(reg, 'POST', '/api/v1/keys/leaky/revoke', { reason: 'training key leaked', compromisedSince: leakyKey.json['addedAt'] });
    expect(revocation.status, JSON.stringify(revocation.json)).toBe(200);
    admin = await signInCookie(reg, reg.token);
    outsider = await signInCookie(reg, await createPrincipal(reg, `olga-${backend}`, 'user', [{ role: 'viewer', namespaces: ['other'] }]));
    insider = await signInCookie(reg, await createPrincipal(reg, `ivan-${backend}`, 'user', [{ role: 'viewer', namespaces: ['fraud'] }]));
  }, 180_000);
  afterAll(async () => {
    await reg.stop();
  });

  const cases: readonly { model: string; depth: number; dir: 'ancestors' | 'descendants' | 'both' }[] = [
    { model: 'child', depth: 2, dir: 'both' },
    { model: 'grandchild', depth: 1, dir: 'ancestors' },
    { model: 'grandchild', depth: 2, dir: 'ancestors' },
    { model: 'base', depth: 1, dir: 'descendants' },
    { model: 'base', depth: 2, dir: 'descendants' },
    { model: 'grandchild', depth: 5, dir: 'both' },
    { model: 'sibling', depth: 3, dir: 'descendants' },
  ];

  it.each(cases)('draws a node link per version, an edge per link and one shared dataset and commit node, and tabulates exactly the API graph ($model, depth $depth, $dir)', async ({ model, depth, dir }) => {
    const digest = digests[model] ?? '';
    const graph = (await api(reg, 'GET', `/api/v1/models/fraud/${model}/versions/${digest}/lineage?depth=${depth}&direction=${dir}`)).json as unknown as Graph;
    const reply = await lineagePage(model, `?depth=${depth}&dir=${dir}`, insider);
    expect(reply.status, reply.text).toBe(200);
    const shown = parsePage(reply.text);
    expect(shown.nodeLinks).toEqual(graph.nodes.map((n) => versionPath(n.id)).sort());
    expect(shown.drawnEdges).toEqual(graph.edges.map((e) => `${e.child} ${e.parent}`).sort());
    expect(shown.tableEdges).toEqual(graph.edges.map((e) => `${e.child} ${e.parent}`));
    expect(shown.current).toEqual([versionPath(graph.root)]);
    // Every version was trained on the same dataset from the same commit: one node each, a verified (solid) edge per version.
    expect(shown.plainNodes).toEqual([
      { kind: 'dataset', id: `dataset:${DATASET}` },
      { kind: 'commit', id: `commit:${COMMIT}` },
    ]);
    for (const [kind, from] of [['trained-on', `dataset:${DATASET}`], ['built-from', `commit:${COMMIT}`]] as const) {
      const drawn = shown.edges.filter((e) => e.kind === kind);
      expect(drawn.map((e) => e.to).sort()).toEqual(graph.nodes.map((n) => n.id).sort());
      for (const e of drawn) expect(e).toMatchObject({ from, evidence: 'verified', label: null });
      for (const e of drawn) expect(e.path).not.toContain('stroke-dasharray');
      expect(shown.tableRows.filter((r) => r.kind === kind).map((r) => r.to).sort()).toEqual(graph.nodes.map((n) => n.id).sort());
    }
    expect(shown.edges.every((e) => e.evidence === 'verified')).toBe(true);
    expect(reply.text.includes('The lineage goes on beyond depth')).toBe(graph.truncated);
    expect(reply.text).toContain(`<option value="${depth}" selected>`);
    expect(reply.text).toContain(`<option value="${dir}" selected>`);
  });

  it('changes with depth and direction as the API does', async () => {
    const at = (model: string, depth: number, dir: string): Promise<Reply> => lineagePage(model, `?depth=${depth}&dir=${dir}`);
    expect(parsePage((await at('grandchild', 1, 'ancestors')).text).tableEdges).toEqual([`${id('grandchild')} ${id('child')}`]);
    expect(parsePage((await at('grandchild', 2, 'ancestors')).text).tableEdges).toEqual([`${id('grandchild')} ${id('child')}`, `${id('child')} ${id('base')}`]);
    expect(parsePage((await at('grandchild', 2, 'descendants')).text).tableEdges).toEqual([]);
    expect(parsePage((await at('base', 2, 'descendants')).text).tableEdges.sort()).toEqual([`${id('child')} ${id('base')}`, `${id('grandchild')} ${id('child')}`, `${id('sibling')} ${id('base')}`].sort());
    const defaults = await lineagePage('child');
    expect(parsePage(defaults.text).tableEdges.sort()).toEqual([`${id('child')} ${id('base')}`, `${id('grandchild')} ${id('child')}`].sort());
  });

  it('draws unsigned claims from annotations as dashed edges labelled "claimed": a dataset, a commit, a held base model (a link) and an external one (not a link), all escaped', async () => {
    const reply = await lineagePage('claimer');
    expect(reply.status, reply.text).toBe(200);
    const shown = parsePage(reply.text);
    const claimed = shown.edges.filter((e) => e.to === id('claimer')).map((e) => ({ from: e.from, kind: e.kind, evidence: e.evidence, label: e.label }));
    expect(claimed.sort((a, b) => a.from.localeCompare(b.from))).toEqual(
      [
        { from: `dataset:${XSS_DATASET}`, kind: 'trained-on', evidence: 'claimed', label: 'claimed' },
        { from: `commit:${'b'.repeat(40)}`, kind: 'built-from', evidence: 'claimed', label: 'claimed' },
        { from: id('sibling'), kind: 'fine-tuned-from', evidence: 'claimed', label: 'claimed' },
        { from: 'external:hf/bert-base-uncased', kind: 'fine-tuned-from', evidence: 'claimed', label: 'claimed' },
      ].sort((a, b) => a.from.localeCompare(b.from)),
    );
    for (const e of shown.edges.filter((edge) => edge.to === id('claimer'))) {
      expect(e.path).toContain(DASHED);
      expect(e.path).not.toContain(RED);
    }
    // The held base model is its version's node (a link); the external one is a plain node.
    expect(shown.nodeLinks).toEqual([versionPath(id('claimer')), versionPath(id('sibling'))].sort());
    expect(shown.plainNodes).toContainEqual({ kind: 'external', id: 'external:hf/bert-base-uncased' });
    expect(shown.plainNodes).toContainEqual({ kind: 'dataset', id: `dataset:${XSS_DATASET}` });
    // The claimed value with markup is escaped in the SVG (label and title) and in the table.
    expect(reply.text).not.toContain('<script>alert(1)');
    const svg = reply.text.slice(reply.text.indexOf('<svg'), reply.text.indexOf('</svg>'));
    expect(svg).toContain('<title>dataset: https://data.example.com/&lt;script&gt;alert(1)&lt;/script&gt;</title>');
    const row = shown.tableRows.find((r) => r.kind === 'trained-on');
    expect(row?.evidence).toBe('claimed');
    expect(row?.text).toContain('<code>https://data.example.com/&lt;script&gt;alert(1)&lt;/script&gt;</code>');
    expect(row?.text).toContain('unsigned annotation <code>training_data</code>');
    expect(shown.tableRows.map((r) => r.evidence)).toEqual(['claimed', 'claimed', 'claimed', 'claimed']);
    expect(reply.text).toContain('Dashed line labelled "claimed"');
  });

  it('draws a claim that contradicts verified metadata as a red dashed "conflict" edge, and adds nothing for a claim equal to a verified value', async () => {
    const shown = parsePage((await lineagePage('conflicted', '?depth=1&dir=ancestors')).text);
    const into = shown.edges.filter((e) => e.to === id('conflicted'));
    const summary = into.map((e) => `${e.kind} ${e.from} ${e.evidence}`).sort();
    expect(summary).toEqual(
      [
        `trained-from ${id('origin')} verified`,
        `trained-on dataset:${DATASET} verified`,
        `trained-on dataset:sha256:${'f'.repeat(64)} conflict`,
        `built-from commit:${COMMIT} verified`,
        `fine-tuned-from ${id('child')} conflict`,
      ].sort(),
    );
    for (const e of into) {
      if (e.evidence === 'conflict') {
        expect(e.path).toContain(DASHED);
        expect(e.path).toContain(RED);
        expect(e.label).toBe('conflict');
      } else {
        expect(e.path).not.toContain(DASHED);
        expect(e.path).not.toContain(RED);
      }
    }
    const conflictRow = shown.tableRows.find((r) => r.evidence === 'conflict' && r.kind === 'trained-on');
    expect(conflictRow?.text).toContain(`unsigned annotation <code>training_data_hash</code> contradicts the verified value <code>${DATASET}</code>`);
    const verifiedRow = shown.tableRows.find((r) => r.evidence === 'verified' && r.kind === 'trained-on');
    expect(verifiedRow?.text).toMatch(/verified attestation <a href="[^"]+#attestation-\d+">log index \d+<\/a> \(key trainer\)/);
  });

  it('draws data whose only attestation was invalidated (revoked key) as a red edge labelled "invalid"', async () => {
    const shown = parsePage((await lineagePage('revoked')).text);
    const data = shown.edges.find((e) => e.kind === 'trained-on');
    expect(data).toMatchObject({ from: `dataset:sha256:${'e'.repeat(64)}`, to: id('revoked'), evidence: 'invalid', label: 'invalid' });
    expect(data?.path).toContain(RED);
    expect(data?.path).not.toContain(DASHED);
    expect(shown.tableRows.find((r) => r.kind === 'trained-on')?.text).toContain('invalid attestation');
  });

  it('filters dataset and commit nodes with the node-types control, and refuses unknown types (400)', async () => {
    const kinds = async (query: string): Promise<string[]> => {
      const reply = await lineagePage('claimer', query);
      expect(reply.status, reply.text).toBe(200);
      return [...new Set(parsePage(reply.text).edges.map((e) => e.kind))].sort();
    };
    expect(await kinds('')).toEqual(['built-from', 'fine-tuned-from', 'trained-on']);
    expect(await kinds('?types=version')).toEqual(['fine-tuned-from']);
    expect(await kinds('?types=version&types=dataset')).toEqual(['fine-tuned-from', 'trained-on']);
    expect(await kinds('?types=commit')).toEqual(['built-from', 'fine-tuned-from']);
    expect(await kinds('?types=dataset,commit')).toEqual(['built-from', 'fine-tuned-from', 'trained-on']);
    const form = (await lineagePage('claimer', '?types=version&types=commit')).text;
    expect(form).toContain('<input type="checkbox" name="types" value="dataset">');
    expect(form).toContain('<input type="checkbox" name="types" value="commit" checked>');
    expect(parsePage(form).plainNodes.map((n) => n.kind).sort()).toEqual(['commit', 'external']);
    for (const query of ['types=model', 'types=dataset,bogus', 'types=%3Cscript%3E']) expect((await lineagePage('claimer', `?${query}`)).status, query).toBe(400);
  });

  it('refuses a reader of another namespace (403) like the API, and bad controls (400)', async () => {
    expect((await lineagePage('child', '', outsider)).status).toBe(403);
    for (const query of ['depth=0', 'depth=6', 'depth=2.5', 'dir=sideways']) {
      expect((await lineagePage('child', `?${query}`)).status, query).toBe(400);
    }
    expect((await page(reg, `/models/fraud/child/versions/sha256:${'0'.repeat(64)}/lineage`, { cookie: admin })).status).toBe(404);
  });
});

describe('lineage SVG', () => {
  it('escapes labels, descriptions and hrefs with markup, and draws each evidence with its style and label', async () => {
    const evil = '<script>alert(1)</script>"\'&';
    const svg = String(
      await lineageSvg({
        title: evil,
        description: evil,
        nodes: [
          { id: 'a', kind: 'version', label: evil, sublabel: evil, description: evil, href: '/x"onmouseover="alert(1)', current: true },
          { id: 'b', kind: 'version', label: 'plain', sublabel: 'v1', description: 'plain', href: '/y', current: false },
          { id: 'd', kind: 'dataset', label: 'dataset', sublabel: evil, description: evil, href: null, current: false },
          { id: 'c', kind: 'commit', label: 'source commit', sublabel: 'abc', description: 'source commit abc', href: null, current: false },
        ],
        edges: [
          { from: 'a', to: 'b', kind: 'fine-tuned-from', evidence: 'claimed', description: evil },
          { from: 'd', to: 'b', kind: 'trained-on', evidence: 'conflict', description: 'conflict' },
          { from: 'c', to: 'b', kind: 'built-from', evidence: 'invalid', description: 'invalid' },
          { from: 'c', to: 'a', kind: 'built-from', evidence: 'verified', description: 'verified' },
        ],
      }),
    );
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('"onmouseover');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    // Datasets and commits are plain nodes with their full value in a <title>.
    expect(svg).toContain('<g class="lineage-node" data-kind="dataset" data-id="d">\n<title>&lt;script&gt;');
    const path = (kind: string): string => /<path ([^>]*)>/.exec(svg.slice(svg.indexOf(`data-kind="${kind}"`)))?.[1] ?? '';
    expect(path('fine-tuned-from')).toMatch(/stroke="#44515e".*stroke-dasharray="6 4"/);
    expect(path('trained-on')).toMatch(/stroke="#b3261e".*stroke-dasharray="6 4"/);
    expect(path('built-from" data-evidence="invalid')).toContain('stroke="#b3261e"');
    expect(path('built-from" data-evidence="invalid')).not.toContain('stroke-dasharray');
    expect(path('built-from" data-evidence="verified')).not.toMatch(/stroke-dasharray|#b3261e/);
    for (const label of ['claimed', 'conflict', 'invalid']) expect(svg).toContain(`>${label}</text>`);
    expect(svg).not.toContain('>verified</text>');
  });

  it('collapses siblings beyond the 300-node cap into one "+ N more versions" node linking to the table, and leaves smaller drawings alone', async () => {
    const version = (i: number): LineageDrawing['nodes'][number] => ({ id: `c${i}`, kind: 'version', label: `fraud/child-${i}`, sublabel: 'v1', description: `child ${i}`, href: `/c${i}`, current: false });
    const children = Array.from({ length: 350 }, (_, i) => version(i));
    const drawing: LineageDrawing = {
      title: 'big',
      description: 'big',
      nodes: [{ id: 'root', kind: 'version', label: 'fraud/base', sublabel: 'v1', description: 'root', href: '/root', current: true }, ...children, { id: 'gc', kind: 'version', label: 'fraud/grandchild', sublabel: 'v1', description: 'gc', href: '/gc', current: false }],
      edges: [...children.map((c) => ({ from: 'root', to: c.id, kind: 'trained-from', evidence: 'verified' as const, description: `${c.id} from root` })), { from: 'c349', to: 'gc', kind: 'trained-from', evidence: 'claimed' as const, description: 'gc from c349' }],
    };
    const { drawing: collapsed, hidden } = collapseSiblings(drawing, 300, '#lineage-edges');
    expect(collapsed.nodes.length).toBe(300);
    // root and 298 children are kept; the other 52 children and the grandchild (reached only through them) form one group.
    expect(hidden).toBe(53);
    const groups = collapsed.nodes.filter((n) => n.kind === 'group');
    expect(groups).toEqual([expect.objectContaining({ label: '+ 53 more versions', href: '#lineage-edges' })]);
    const group = groups[0]?.id ?? '';
    expect(collapsed.edges.filter((e) => e.to === group || e.from === group)).toEqual([expect.objectContaining({ from: 'root', to: group, evidence: 'verified' })]);
    expect(collapsed.edges.length).toBe(298 + 1);
    for (const n of collapsed.nodes) expect(n.id === group || drawing.nodes.some((o) => o.id === n.id)).toBe(true);
    const svg = String(await lineageSvg(collapsed));
    expect(svg).toContain('<a href="#lineage-edges" class="lineage-node" data-kind="group">');
    expect(svg).toContain('>+ 53 more versions</text>');
    expect(collapseSiblings({ ...drawing, nodes: drawing.nodes.slice(0, 300) }, 300, '#t').hidden).toBe(0);
  }, 60_000);
});
