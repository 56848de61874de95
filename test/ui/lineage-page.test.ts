/**
 * The lineage page over real HTTP (issue 8 §1, reference/ui-screens.md §2.3), on both metadata
 * stores. A family of versions is registered with signed training provenance naming parents
 * (base → child → grandchild, base → sibling). For several depths and directions the page's SVG
 * holds one node link per version of the API's graph and one edge per link, and its edge table
 * lists exactly the API's edges, in order; a depth-limited walk says it was cut short; a reader of
 * another namespace is refused (403) like the API; bad controls are refused (400); and labels
 * with markup are escaped by the SVG renderer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lineageSvg } from '../../src/ui/lineage-svg.js';
import { createPrincipal } from '../support/promotion-fixtures.js';
import { BACKENDS, startTestRegistry, type TestRegistry } from '../support/registry.js';
import { addKey, api, makeKey, provenancePredicate, register, signBundle, SLSA, uploadRandomModel } from '../support/trust-fixtures.js';
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

/** What the page draws and tabulates. */
function parsePage(text: string): { nodeLinks: string[]; drawnEdges: string[]; tableEdges: string[]; current: string[] } {
  const svg = text.slice(text.indexOf('<svg'), text.indexOf('</svg>'));
  const table = text.slice(text.indexOf('<details>'), text.indexOf('</details>'));
  return {
    nodeLinks: [...svg.matchAll(/<a href="([^"]+)"/g)].map((m) => m[1] ?? '').sort(),
    drawnEdges: [...svg.matchAll(/data-from="([^"]+)" data-to="([^"]+)" data-evidence="verified"/g)].map((m) => `${m[2]} ${m[1]}`).sort(),
    tableEdges: [...table.matchAll(/<tr data-child="([^"]+)" data-parent="([^"]+)">/g)].map((m) => `${m[1]} ${m[2]}`),
    current: [...svg.matchAll(/<a href="([^"]+)" aria-current="page">/g)].map((m) => m[1] ?? ''),
  };
}

describe.each(BACKENDS)('lineage page on %s', (backend) => {
  let reg: TestRegistry;
  let admin: string;
  let outsider: string;
  let insider: string;
  const trainer = makeKey('trainer');
  const digests: Record<string, string> = {};

  async function push(model: string, parent?: string): Promise<string> {
    const uploaded = await uploadRandomModel(reg);
    const parents = parent === undefined ? [] : [{ namespace: 'fraud', name: parent, digest: digests[parent] ?? '' }];
    const reply = await register(reg, `fraud/${model}`, uploaded, { provenance: signBundle(trainer, uploaded.digest, SLSA, provenancePredicate({ parents })) });
    expect(reply.status, JSON.stringify(reply.json)).toBe(201);
    digests[model] = uploaded.digest;
    return uploaded.digest;
  }

  beforeAll(async () => {
    reg = await startTestRegistry(backend, { provenance: { requireAtEntry: true } });
    await addKey(reg, trainer, [SLSA]);
    await push('base');
    await push('child', 'base');
    await push('grandchild', 'child');
    await push('sibling', 'base');
    admin = await signInCookie(reg, reg.token);
    outsider = await signInCookie(reg, await createPrincipal(reg, `olga-${backend}`, 'user', [{ role: 'viewer', namespaces: ['other'] }]));
    insider = await signInCookie(reg, await createPrincipal(reg, `ivan-${backend}`, 'user', [{ role: 'viewer', namespaces: ['fraud'] }]));
  }, 120_000);
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

  it.each(cases)('draws a node link per version and an edge per link, and tabulates exactly the API graph ($model, depth $depth, $dir)', async ({ model, depth, dir }) => {
    const digest = digests[model] ?? '';
    const graph = (await api(reg, 'GET', `/api/v1/models/fraud/${model}/versions/${digest}/lineage?depth=${depth}&direction=${dir}`)).json as unknown as Graph;
    const reply = await page(reg, `/models/fraud/${model}/versions/${digest}/lineage?depth=${depth}&dir=${dir}`, { cookie: insider });
    expect(reply.status, reply.text).toBe(200);
    const shown = parsePage(reply.text);
    expect(shown.nodeLinks).toEqual(graph.nodes.map((n) => versionPath(n.id)).sort());
    expect(shown.drawnEdges).toEqual(graph.edges.map((e) => `${e.child} ${e.parent}`).sort());
    expect(shown.tableEdges).toEqual(graph.edges.map((e) => `${e.child} ${e.parent}`));
    expect(shown.current).toEqual([versionPath(graph.root)]);
    expect(reply.text.includes('The lineage goes on beyond depth')).toBe(graph.truncated);
    expect(reply.text).toContain(`<option value="${depth}" selected>`);
    expect(reply.text).toContain(`<option value="${dir}" selected>`);
  });

  it('changes with depth and direction as the API does', async () => {
    const at = (model: string, depth: number, dir: string): Promise<Reply> => page(reg, `/models/fraud/${model}/versions/${digests[model] ?? ''}/lineage?depth=${depth}&dir=${dir}`, { cookie: admin });
    const id = (model: string): string => `fraud/${model}@${digests[model] ?? ''}`;
    expect(parsePage((await at('grandchild', 1, 'ancestors')).text).tableEdges).toEqual([`${id('grandchild')} ${id('child')}`]);
    expect(parsePage((await at('grandchild', 2, 'ancestors')).text).tableEdges).toEqual([`${id('grandchild')} ${id('child')}`, `${id('child')} ${id('base')}`]);
    expect(parsePage((await at('grandchild', 2, 'descendants')).text).tableEdges).toEqual([]);
    expect(parsePage((await at('base', 2, 'descendants')).text).tableEdges.sort()).toEqual([`${id('child')} ${id('base')}`, `${id('grandchild')} ${id('child')}`, `${id('sibling')} ${id('base')}`].sort());
    const defaults = await page(reg, `/models/fraud/child/versions/${digests['child'] ?? ''}/lineage`, { cookie: admin });
    expect(parsePage(defaults.text).tableEdges.sort()).toEqual([`${id('child')} ${id('base')}`, `${id('grandchild')} ${id('child')}`].sort());
  });

  it('refuses a reader of another namespace (403) like the API, and bad controls (400)', async () => {
    const digest = digests['child'] ?? '';
    expect((await page(reg, `/models/fraud/child/versions/${digest}/lineage`, { cookie: outsider })).status).toBe(403);
    for (const query of ['depth=0', 'depth=6', 'depth=2.5', 'dir=sideways']) {
      expect((await page(reg, `/models/fraud/child/versions/${digest}/lineage?${query}`, { cookie: admin })).status, query).toBe(400);
    }
    expect((await page(reg, `/models/fraud/child/versions/sha256:${'0'.repeat(64)}/lineage`, { cookie: admin })).status).toBe(404);
  });
});

describe('lineage SVG', () => {
  it('escapes labels, descriptions and hrefs with markup', async () => {
    const evil = '<script>alert(1)</script>"\'&';
    const svg = String(
      await lineageSvg({
        title: evil,
        description: evil,
        nodes: [
          { id: 'a', label: evil, sublabel: evil, description: evil, href: '/x"onmouseover="alert(1)', current: true },
          { id: 'b', label: 'plain', sublabel: 'v1', description: 'plain', href: '/y', current: false },
        ],
        edges: [{ from: 'a', to: 'b', evidence: 'claimed', description: evil }],
      }),
    );
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('"onmouseover');
    expect(svg).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;&amp;');
    // A claimed edge is dashed and labelled.
    expect(svg).toMatch(/stroke-dasharray="6 4"/);
    expect(svg).toContain('>claimed</text>');
  });
});
