/**
 * How the log explorer's island becomes one served script (src/ui/islands/island-script.ts):
 * imports of the import-free portable log modules are replaced by their bodies, each wrapped in a
 * function so private names cannot collide, and the result has no import left; anything the
 * inliner cannot do safely (a renamed import, a module that imports, another import) is refused
 * at startup instead of serving a broken script. The built script itself is checked over HTTP in
 * log-page.test.ts and run in Chromium in browser-log.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { inlineIsland } from '../../src/ui/islands/island-script.js';

const MODULES: Record<string, string> = {
  'portable-a': 'const secret = 1;\nexport function twice(x) { return 2 * x + secret - 1; }\nexport const ONE = 1;\n//# sourceMappingURL=portable-a.js.map\n',
  'portable-b': 'const secret = 2;\nexport async function half(x) { return x / secret; }\n',
};

describe('inlining the island’s portable imports', () => {
  it('replaces each import by its module, wrapped so private names do not collide, and the result runs', async () => {
    const island = "import { twice, ONE } from '../../log/portable-a.js';\nimport { half } from '../../log/portable-b.js';\nexport const result = [twice(3), ONE, await half(8)];\n";
    const script = inlineIsland(island, (name) => MODULES[name] ?? '');
    expect(script).not.toMatch(/^import /m);
    expect(script).not.toContain('sourceMappingURL');
    const url = `data:text/javascript;base64,${Buffer.from(script).toString('base64')}`;
    const loaded = (await import(url)) as { result: number[] };
    expect(loaded.result).toEqual([6, 1, 4]);
  });

  it('refuses what it cannot inline safely', () => {
    const read = (name: string): string => MODULES[name] ?? '';
    expect(() => inlineIsland("import { twice as t } from '../../log/portable-a.js';\n", read)).toThrow(/renamed imports/);
    expect(() => inlineIsland("import { x } from '../../log/portable-c.js';\n", () => "import { y } from './y.js';\nexport const x = y;\n")).toThrow(/imports something/);
    expect(() => inlineIsland("import { twice } from '../../log/portable-a.js';\nimport { z } from './elsewhere.js';\n", read)).toThrow(/only imports of/);
    expect(() => inlineIsland('console.log(1);\n', read)).toThrow(/only imports of/);
    expect(() => inlineIsland("import { x } from '../../log/portable-c.js';\n", () => 'export default 1;\n')).toThrow(/export form/);
  });
});
